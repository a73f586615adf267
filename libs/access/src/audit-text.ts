import type { AuditEvent } from '@medplum/fhirtypes';

/**
 * AuditEvents carry text the client chose (a token's `sub` and `client_id`, an error naming a
 * parameter's value). The FHIR server indexes some of it and answers a `500` to a lone UTF-16
 * surrogate, which would hold the whole audit queue back; a newline or a NUL would let a client
 * write what looks like another line of the record. So every string is made well-formed, control
 * characters become U+FFFD, and a free-text outcome is cut to a length worth reading.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const CONTROL = /[\u0000-\u001F\u007F-\u009F]/g;
const REPLACEMENT = '\uFFFD';
export const MAX_OUTCOME_DESC = 1024;

export function auditText(text: string): string {
  return text.replace(LONE_SURROGATE, REPLACEMENT).replace(CONTROL, REPLACEMENT);
}

function cleaned(value: unknown): unknown {
  if (typeof value === 'string') {
    return auditText(value);
  }
  if (Array.isArray(value)) {
    return value.map(cleaned);
  }
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, cleaned(item)]));
  }
  return value;
}

/** The event with every string cleaned (auditText) and `outcomeDesc` at most MAX_OUTCOME_DESC characters. */
export function writableAuditEvent(event: AuditEvent): AuditEvent {
  const clean = cleaned(event) as AuditEvent;
  if (clean.outcomeDesc !== undefined && clean.outcomeDesc.length > MAX_OUTCOME_DESC) {
    clean.outcomeDesc = `${clean.outcomeDesc.slice(0, MAX_OUTCOME_DESC - 1)}…`;
  }
  return clean;
}
