import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';

/**
 * OperationOutcomes with the HTTP status they are answered with. Every HTTP error of our services
 * is one of these, so that a FHIR client always gets a FHIR body it can read.
 */
export interface Outcome {
  status: number;
  outcome: OperationOutcome;
}

function outcome(status: number, code: OperationOutcomeIssue['code'], diagnostics: string, expression?: string[]): Outcome {
  const issue: OperationOutcomeIssue = { severity: 'error', code, diagnostics };
  if (expression) {
    issue.expression = expression;
  }
  return { status, outcome: { resourceType: 'OperationOutcome', issue: [issue] } };
}

export const badRequest = (diagnostics: string, expression?: string[]): Outcome =>
  outcome(400, 'invalid', diagnostics, expression);

export const unauthorized = (diagnostics = 'Authentication required'): Outcome => outcome(401, 'login', diagnostics);

export const forbidden = (diagnostics = 'Forbidden'): Outcome => outcome(403, 'forbidden', diagnostics);

export const notFound = (diagnostics = 'Not found'): Outcome => outcome(404, 'not-found', diagnostics);

export const methodNotAllowed = (diagnostics = 'Method not allowed'): Outcome => outcome(405, 'not-supported', diagnostics);

export const conflict = (diagnostics: string): Outcome => outcome(409, 'conflict', diagnostics);

/** A resource that is well formed but breaks a rule of this server (FHIR's 422). */
export const unprocessable = (diagnostics: string, expression?: string[]): Outcome => outcome(422, 'business-rule', diagnostics, expression);

/** A format the client asked for (`_format`, `Accept`) that is not served. */
export const notAcceptable = (diagnostics: string): Outcome => outcome(406, 'not-supported', diagnostics);

export const unsupportedMediaType = (diagnostics: string): Outcome => outcome(415, 'not-supported', diagnostics);

export const tooManyRequests = (diagnostics = 'Too many requests'): Outcome => outcome(429, 'throttled', diagnostics);

/** The body for anything unexpected: says nothing of the cause, which is logged instead. */
export const serverError = (): Outcome => outcome(500, 'exception', 'Internal server error');

export const badGateway = (diagnostics = 'The FHIR server did not answer'): Outcome => outcome(502, 'transient', diagnostics);

/** An error that carries the outcome to answer with; thrown by handlers, answered by the error handler. */
export class OutcomeError extends Error {
  constructor(readonly result: Outcome) {
    super(result.outcome.issue?.[0]?.diagnostics ?? `HTTP ${result.status}`);
    this.name = 'OutcomeError';
  }

  get status(): number {
    return this.result.status;
  }
}

export const isOutcomeError = (error: unknown): error is OutcomeError => error instanceof OutcomeError;
