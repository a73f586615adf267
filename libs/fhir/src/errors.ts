import type { OperationOutcome } from '@medplum/fhirtypes';

/**
 * A FHIR interaction that failed: `status` is the HTTP status, or undefined when no response came
 * back (connection refused, reset, timed out). The message names the method and the path, never
 * the query string: search parameters such as `identifier=…|<PatientID>` carry patient data.
 */
export class FhirError extends Error {
  /** The server's OperationOutcome as it came: not enumerable, so that a logged error leaves it out. */
  declare readonly outcome: OperationOutcome | undefined;

  constructor(
    message: string,
    readonly status: number | undefined,
    outcome?: OperationOutcome,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'FhirError';
    Object.defineProperty(this, 'outcome', { value: outcome, enumerable: false });
  }
}

/** Statuses that may pass on their own: timeout, conflict, a concurrent write (If-Match), throttling. */
const RETRYABLE_STATUSES = new Set([408, 409, 412, 429]);

/** Error codes of a connection that failed or a request that timed out (Node, undici). */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

/**
 * The one place that decides whether a failed FHIR interaction is worth trying again (DICOMcast's
 * rule): no answer at all, 408, 409, 412, 429 and 5xx are retryable; any other 4xx is permanent, as
 * is anything that is not a FHIR or network failure (a bug must not be retried forever). One 400 is
 * a conflict: HAPI's refusal of a write that references a resource deleted since the writer read it
 * (HAPI-1096, "… is deleted"), which a retry, reading again, gets past. One 409 or 500 is not:
 * a value longer than the server's database column holds (`tooLongForTheServer`), which fails the
 * same way every time.
 */
export function isRetryableFhirError(error: unknown): boolean {
  if (error instanceof FhirError) {
    if (error.status === undefined) {
      return true;
    }
    if (tooLongForTheServer(error)) {
      return false;
    }
    return RETRYABLE_STATUSES.has(error.status) || error.status >= 500 || referencesDeletedResource(error);
  }
  return isNetworkError(error);
}

/**
 * HAPI's answer to a value its database cannot store (409 HAPI-0550 or 500 HAPI-0389, "Value too
 * long for column" on H2, "value too long for type character varying" on PostgreSQL), e.g. a
 * conditional create's match URL past the 768 characters of HFJ_RES_SEARCH_URL. Until 2026-12-08
 * it was retried for ever, and the consumer's other partitions waited behind it (a review's probe).
 */
export function tooLongForTheServer(error: FhirError): boolean {
  return (error.outcome?.issue ?? []).some((issue) => /value too long for (column|type)/i.test(issue.diagnostics ?? ''));
}

function referencesDeletedResource(error: FhirError): boolean {
  return error.status === 400 && (error.outcome?.issue ?? []).some((issue) => /\bHAPI-1096\b/.test(issue.diagnostics ?? ''));
}

/** True for a connection that failed or timed out, however deep the cause is nested. */
export function isNetworkError(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    if (typeof current !== 'object') {
      return false;
    }
    const { name, code, cause } = current as { name?: unknown; code?: unknown; cause?: unknown };
    if (name === 'TimeoutError' || name === 'AbortError') {
      return true;
    }
    if (typeof code === 'string' && NETWORK_CODES.has(code)) {
      return true;
    }
    current = cause;
  }
  return false;
}

/**
 * The diagnostics of an OperationOutcome's error issues, joined and redacted; undefined when there
 * are none.
 */
export function outcomeDiagnostics(outcome: OperationOutcome | undefined): string | undefined {
  const issues = outcome?.issue ?? [];
  const serious = issues.filter((issue) => issue.severity === 'error' || issue.severity === 'fatal');
  const texts = (serious.length > 0 ? serious : issues)
    .map((issue) => issue.diagnostics ?? issue.details?.text)
    .filter((text): text is string => typeof text === 'string' && text.length > 0);
  return texts.length > 0 ? redactDiagnostics(texts.join('; ')) : undefined;
}

/** A quoted element name, path or resource type (`birthDate`, `Patient.name[0]`): safe to keep. */
const ELEMENT_PATH = /^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*|\[\d+\])*$/;

/**
 * Servers echo the values they reject and the match URLs they failed on (HAPI: `Invalid attribute
 * value "1980-13-45"`, `match URL "identifier=…|PID-1"`), which are patient data. Error messages
 * go to logs and dead-letter headers, so quoted values other than element paths, and the values
 * of search parameters, are replaced by `…`.
 */
export function redactDiagnostics(text: string): string {
  return text
    .replace(/"([^"]*)"/g, (quoted, content: string) => (ELEMENT_PATH.test(content) ? quoted : '"…"'))
    .replace(/([?&\s]|^)([A-Za-z_][\w.:-]*)=(?!")[^\s&"']+/g, '$1$2=…');
}
