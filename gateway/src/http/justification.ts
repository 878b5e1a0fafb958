// Justifications ("reason"): free text or a ticket number given with a write attach or a control.

/** Longest justification kept. */
export const MAX_REASON_LENGTH = 500;
export const reasonSchema = { type: 'string', minLength: 1, maxLength: MAX_REASON_LENGTH } as const;
