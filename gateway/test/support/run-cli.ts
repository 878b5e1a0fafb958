// Runs the ttygate CLI from source (tests must not depend on a stale dist/ build).
import { main } from '../../src/cli.js';

process.exitCode = await main(process.argv.slice(2));
