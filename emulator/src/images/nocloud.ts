/**
 * cloud-init NoCloud seeds for disk images booted with `--image PATH`: a `#cloud-config`
 * user-data that creates the password user, a meta-data, and the `cidata` ISO that carries them.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hashPassword, validateUser } from './credentials.js';
import { CommandError, run } from './exec.js';
import { ImageError } from './errors.js';

/** A YAML double-quoted scalar (JSON strings are valid YAML). */
function yamlString(s: string): string {
  return JSON.stringify(s);
}

function validateHostname(h: string): void {
  if (!/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(h) || h.length > 253) {
    throw new ImageError('EMU_ERR_INVALID_HOSTNAME', `invalid host name ${JSON.stringify(h)}`);
  }
}

/**
 * `#cloud-config` user-data: creates `user` with the given `$6$` hash and password login
 * enabled on the console (lock_passwd: false), SSH password authentication off, root's
 * password login disabled. The serial getty is left to the distribution (cloud images run
 * one on the kernel's console).
 */
export function renderUserData(o: { user: string; passwordHash: string; hostname?: string }): string {
  validateUser(o.user);
  if (!/^\$[0-9a-z]+\$[^\s:]+$/.test(o.passwordHash)) throw new ImageError('EMU_ERR_INVALID_CREDENTIALS', 'passwordHash must be a crypt(3) hash such as $6$…');
  const lines = ['#cloud-config'];
  if (o.hostname !== undefined) {
    validateHostname(o.hostname);
    lines.push(`hostname: ${yamlString(o.hostname)}`, 'preserve_hostname: false');
  }
  lines.push(
    'users:',
    `  - name: ${yamlString(o.user)}`,
    `    gecos: ${yamlString('ttygate operator')}`,
    '    lock_passwd: false',
    `    passwd: ${yamlString(o.passwordHash)}`,
    'chpasswd:',
    '  expire: false',
    'ssh_pwauth: false',
    'disable_root: true',
    '',
  );
  return lines.join('\n');
}

export function renderMetaData(o: { instanceId: string; hostname: string }): string {
  validateHostname(o.hostname);
  if (!/^[\x21-\x7e]{1,128}$/.test(o.instanceId)) throw new ImageError('EMU_ERR_INVALID_INSTANCE_ID', `invalid instance id ${JSON.stringify(o.instanceId)}`);
  return `instance-id: ${yamlString(o.instanceId)}\nlocal-hostname: ${yamlString(o.hostname)}\n`;
}

/**
 * Writes `dir/nocloud/{user-data,meta-data}` and `dir/seed.iso` (volume id `cidata`, Joliet and
 * Rock Ridge, as cloud-init's NoCloud datasource expects). Returns the ISO's path.
 */
export async function buildNoCloudSeed(o: { dir: string; user: string; password: string; hostname: string; instanceId: string }): Promise<string> {
  const passwordHash = await hashPassword(o.password);
  const src = join(o.dir, 'nocloud');
  await mkdir(src, { recursive: true, mode: 0o700 });
  await writeFile(join(src, 'user-data'), renderUserData({ user: o.user, passwordHash, hostname: o.hostname }), { mode: 0o600 });
  await writeFile(join(src, 'meta-data'), renderMetaData({ instanceId: o.instanceId, hostname: o.hostname }), { mode: 0o600 });
  const iso = join(o.dir, 'seed.iso');
  try {
    await run('genisoimage', ['-quiet', '-output', iso, '-volid', 'cidata', '-joliet', '-rock', join(src, 'user-data'), join(src, 'meta-data')]);
  } catch (e) {
    if (e instanceof CommandError) throw new ImageError('EMU_ERR_SEED_ISO', `genisoimage failed: ${e.message}`);
    throw e;
  }
  await chmod(iso, 0o600); // it holds the password hash
  return iso;
}
