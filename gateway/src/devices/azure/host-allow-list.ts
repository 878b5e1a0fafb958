// HostAllowList: which hosts may receive the ARM token (serial console) or be fetched from (boot-diagnostics storage). Pure.

/**
 * Patterns are `host`, `host:port`, `*.suffix` or `*.suffix:port`, lower-case. `*.` matches one or
 * more whole labels in front of the suffix (`*.serialconsole.azure.com` matches
 * `westus.serialconsole.azure.com`, never `serialconsole.azure.com` itself nor
 * `evilserialconsole.azure.com`). A pattern without a port matches only the scheme's default
 * port (443 for https/wss): a token for Azure's console never goes to an odd port by accident.
 * Only `https:` and `wss:` URLs can match; anything else is refused.
 */
export class HostAllowList {
  private readonly rules: Array<{ suffix: string | undefined; host: string | undefined; port: string }>;

  constructor(readonly patterns: readonly string[]) {
    this.rules = patterns.map((p) => parsePattern(p));
  }

  /** Why `url` is refused, or undefined when it is allowed. */
  check(url: string): string | undefined {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return `"${url}" is not a URL`;
    }
    if (u.protocol !== 'https:' && u.protocol !== 'wss:') return `${u.protocol} is not https or wss`;
    if (u.username || u.password) return 'the URL carries credentials';
    const host = u.hostname.toLowerCase().replace(/\.$/, '');
    const port = u.port === '' ? '443' : u.port;
    for (const r of this.rules) {
      if (r.port !== port) continue;
      if (r.host !== undefined && r.host === host) return undefined;
      if (r.suffix !== undefined && host.endsWith(`.${r.suffix}`) && host.length > r.suffix.length + 1) return undefined;
    }
    return `host ${u.host} is not on the allow-list (${this.patterns.length ? this.patterns.join(', ') : 'empty'})`;
  }

  allows(url: string): boolean {
    return this.check(url) === undefined;
  }
}

function parsePattern(pattern: string): { suffix: string | undefined; host: string | undefined; port: string } {
  const p = pattern.trim().toLowerCase();
  const m = /^(\*\.)?([a-z0-9.-]+|\[[0-9a-f:]+\])(?::(\d{1,5}))?$/.exec(p);
  if (!m || m[2]!.startsWith('.') || m[2]!.endsWith('.') || m[2]!.includes('..')) throw new RangeError(`invalid host pattern ${JSON.stringify(pattern)}: use host, host:port, *.suffix or *.suffix:port`);
  const name = m[2]!;
  if (m[1] && name.split('.').length < 2) throw new RangeError(`host pattern ${JSON.stringify(pattern)} is too broad: a wildcard needs a suffix of at least two labels`);
  return { suffix: m[1] ? name : undefined, host: m[1] ? undefined : name, port: m[3] ?? '443' };
}
