// The audit actions: dotted names with stable codes and severities (pure; the web UI imports this table).

/** I = information, W = warning (a refusal, a failure, a fault), E = error. As in Teleport `codes.go`. */
export type AuditSeverity = 'info' | 'warning' | 'error';

/** How an audited attempt ended. */
export type AuditOutcome = 'ok' | 'denied' | 'failed';
export const AUDIT_OUTCOMES = ['ok', 'denied', 'failed'] as const satisfies readonly AuditOutcome[];

export interface AuditEventInfo {
  /** `TG` + four digits + the severity letter of a successful attempt. Never reused or renumbered. */
  readonly code: string;
  readonly severity: AuditSeverity;
  /** A short human title for listings. */
  readonly title: string;
}

/**
 * Every audit action. Code blocks: 1xxx console sessions, 2xxx device controls and power,
 * 3xxx device management and connectivity, 4xxx capture, 5xxx authentication, 6xxx tokens,
 * users and roles, 7xxx settings. Codes are stable: add new actions with new numbers, never
 * change or reuse a number (dashboards and SIEM rules key on them).
 */
export const AUDIT_EVENTS = {
  'console.attach': { code: 'TG1001I', severity: 'info', title: 'Console attached' },
  'console.detach': { code: 'TG1002I', severity: 'info', title: 'Console detached' },
  'console.takeover': { code: 'TG1003I', severity: 'info', title: 'Console write lease taken over' },
  'console.denied': { code: 'TG1004W', severity: 'warning', title: 'Console access denied' },
  'session.end': { code: 'TG1005I', severity: 'info', title: 'Session ended by an administrator' },
  'console.ticket': { code: 'TG1006I', severity: 'info', title: 'Console ticket issued' },
  'console.timeout': { code: 'TG1007I', severity: 'info', title: 'Console session ended by a time limit' },
  'console.revoked': { code: 'TG1008W', severity: 'warning', title: 'Console access revoked during a session' },

  'device.break': { code: 'TG2001I', severity: 'info', title: 'Serial BREAK sent' },
  'device.sysrq': { code: 'TG2002I', severity: 'info', title: 'Magic SysRq sent' },
  'device.nmi': { code: 'TG2003I', severity: 'info', title: 'NMI injected' },
  'device.power.restart': { code: 'TG2101I', severity: 'info', title: 'Power: graceful restart' },
  'device.power.reset': { code: 'TG2102I', severity: 'info', title: 'Power: forced reset' },
  'device.power.off': { code: 'TG2103I', severity: 'info', title: 'Power: off' },
  'device.power.on': { code: 'TG2104I', severity: 'info', title: 'Power: on' },

  'device.create': { code: 'TG3001I', severity: 'info', title: 'Device created' },
  'device.update': { code: 'TG3002I', severity: 'info', title: 'Device updated' },
  'device.delete': { code: 'TG3003I', severity: 'info', title: 'Device deleted' },
  'device.disconnected': { code: 'TG3101W', severity: 'warning', title: 'Device disconnected' },
  'device.reconnected': { code: 'TG3102I', severity: 'info', title: 'Device reconnected' },
  'device.open.failed': { code: 'TG3103W', severity: 'warning', title: 'Device could not be opened' },
  'device.rebooting': { code: 'TG3104I', severity: 'info', title: 'Device rebooting' },
  'device.off': { code: 'TG3105I', severity: 'info', title: 'Device powered off' },
  'device.on': { code: 'TG3106I', severity: 'info', title: 'Device powered on' },

  'capture.gap': { code: 'TG4001W', severity: 'warning', title: 'Boot-diagnostics capture gap' },

  'auth.login': { code: 'TG5001I', severity: 'info', title: 'Login' },
  'auth.login.failed': { code: 'TG5002W', severity: 'warning', title: 'Login failed' },
  'auth.token.used': { code: 'TG5003I', severity: 'info', title: 'API token used' },
  'auth.logout': { code: 'TG5004I', severity: 'info', title: 'Logout' },
  'auth.token.failed': { code: 'TG5005W', severity: 'warning', title: 'Invalid API token presented' },
  'access.denied': { code: 'TG5006W', severity: 'warning', title: 'Access denied' },
  'auth.ticket.failed': { code: 'TG5007W', severity: 'warning', title: 'Console ticket refused' },

  'token.create': { code: 'TG6001I', severity: 'info', title: 'API token created' },
  'token.revoke': { code: 'TG6002I', severity: 'info', title: 'API token revoked' },
  'user.create': { code: 'TG6101I', severity: 'info', title: 'User created' },
  'user.update': { code: 'TG6102I', severity: 'info', title: 'User updated' },
  'role.assign': { code: 'TG6201I', severity: 'info', title: 'Role assigned' },
  'role.revoke': { code: 'TG6202I', severity: 'info', title: 'Role assignment removed' },

  'settings.update': { code: 'TG7001I', severity: 'info', title: 'Settings changed' },
} as const satisfies Record<string, AuditEventInfo>;

export type AuditAction = keyof typeof AUDIT_EVENTS;

export const AUDIT_ACTIONS = Object.keys(AUDIT_EVENTS) as AuditAction[];

export function isAuditAction(value: unknown): value is AuditAction {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(AUDIT_EVENTS, value);
}

/**
 * The code stored with a row. As in Teleport (`T1000I` login, `T1000W` failed login), an attempt
 * that was denied or failed keeps its action's number and ends in `W`: `device.power.reset` is
 * `TG2102I` when it worked and `TG2102W` when it was refused or failed. Actions that are
 * warnings already (`console.denied`) keep their code.
 */
export function auditCode(action: AuditAction, outcome: AuditOutcome = 'ok'): string {
  const code: string = AUDIT_EVENTS[action].code;
  return outcome === 'ok' || !code.endsWith('I') ? code : `${code.slice(0, -1)}W`;
}

/** The action a stored code stands for (either suffix), or undefined. */
export function actionOfCode(code: string): AuditAction | undefined {
  const number = code.slice(0, -1);
  return AUDIT_ACTIONS.find((a) => AUDIT_EVENTS[a].code.slice(0, -1) === number);
}
