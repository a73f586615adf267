import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { badGateway, type Outcome } from '@imaging-facade/fhir-outcomes';
import type { UpstreamResponse } from '@imaging-facade/fhir';
import type { Logger } from '@imaging-facade/service-kit';

/**
 * What the client hears when the FHIR server refuses or fails a request. Never the server's own
 * text: HAPI's diagnostics name Java classes, SQL, its internal address, and echo the values a
 * search carried. Kept: the status of a 4xx and the FHIR issue code (a fixed vocabulary), with a
 * text of ours per status; any 5xx (and a 401/403 of the server, which is our own misconfiguration)
 * is a 502. Logged for the operator: status, issue code and HAPI's message id (`HAPI-1234`), which
 * finds the message in HAPI's sources without the values it quoted.
 */
const OUR_TEXT: Record<number, string> = {
  400: 'The FHIR server could not process this request: check the search parameters, their values and modifiers against the CapabilityStatement ([base]/metadata)',
  404: 'Not known to the FHIR server',
  405: 'This interaction is not supported',
  409: 'The resource was changed by another request: read it again and retry',
  410: 'The resource was deleted',
  412: 'The resource was changed by another request (version conflict): read it again and retry',
  413: 'The request is too large for the FHIR server',
  422: 'The FHIR server refused the resource: it breaks a rule of its profile or of the server',
};

/** HAPI's refusals a client can act on, by message id, each in our words (the parameter it names is in the client's own request). */
const MESSAGE_TEXT: Record<string, string> = {
  'HAPI-0524': 'Unknown search parameter for this resource type: the CapabilityStatement ([base]/metadata) lists those supported',
  'HAPI-1194': 'A _sort value is not a search parameter of this resource type',
  'HAPI-2498': 'A search modifier is not supported for this parameter',
  'HAPI-1940': 'A search value is not in the format its parameter needs (a date, a number, a quantity)',
  'HAPI-0375': '_count must be a whole number',
  'HAPI-0417': 'This page of results does not exist or has expired: run the search again',
};

/** FHIR's issue-type codes: passed on only when the server used one of these. */
const ISSUE_CODES: ReadonlySet<string> = new Set([
  'invalid', 'structure', 'required', 'value', 'invariant', 'security', 'login', 'unknown', 'expired', 'forbidden', 'suppressed',
  'processing', 'not-supported', 'duplicate', 'multiple-matches', 'not-found', 'deleted', 'too-long', 'code-invalid', 'extension',
  'too-costly', 'business-rule', 'conflict', 'transient', 'lock-error', 'no-store', 'exception', 'timeout', 'incomplete', 'throttled', 'informational',
]);

const FALLBACK_CODE: Record<number, OperationOutcomeIssue['code']> = { 404: 'not-found', 405: 'not-supported', 409: 'conflict', 410: 'deleted', 412: 'conflict', 413: 'too-long', 422: 'business-rule' };

/** The server's message ids (`HAPI-0524`), safe to log: no values, no patient data. */
const messageIds = (issues: OperationOutcomeIssue[]): string[] =>
  issues.flatMap((issue) => [...(issue.diagnostics ?? '').matchAll(/\bHAPI-\d{1,5}\b/g)].map((match) => match[0])).slice(0, 5);

export function upstreamFailure(response: UpstreamResponse, logger: Pick<Logger, 'warn'>, requestId: unknown): Outcome {
  const body = response.body as { resourceType?: string; issue?: OperationOutcomeIssue[] } | undefined;
  const issues = body?.resourceType === 'OperationOutcome' && Array.isArray(body.issue) ? body.issue : [];
  const upstreamCode = issues[0]?.code;
  logger.warn({ requestId, upstreamStatus: response.status, upstreamCode, upstreamMessageIds: messageIds(issues) }, 'the FHIR server refused or failed a request');
  const status = response.status;
  if (status < 400 || status >= 500 || status === 401 || status === 403) {
    return badGateway(`The FHIR server answered HTTP ${status}`);
  }
  const code = upstreamCode !== undefined && ISSUE_CODES.has(upstreamCode) ? upstreamCode : (FALLBACK_CODE[status] ?? 'processing');
  const known = messageIds(issues).find((id) => MESSAGE_TEXT[id] !== undefined);
  const diagnostics = (known && MESSAGE_TEXT[known]) ?? OUR_TEXT[status] ?? `The FHIR server refused this request (HTTP ${status})`;
  return { status, outcome: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics }] } };
}
