import type { ErrorRequestHandler, Response } from 'express';
import { isOutcomeError } from '@imaging-facade/fhir-outcomes';
import { errorMessage, type Logger } from '@imaging-facade/service-kit';
import { ClientGoneError } from './backpressure';
import { noteCutOff } from './request-context';

/**
 * DICOMweb errors (PS3.18 8.5): the HTTP status says what went wrong, and a small JSON body says
 * why, for people. Never a stack trace, never another patient's data.
 */
export class DicomwebError extends Error {
  override readonly name = 'DicomwebError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const badRequest = (message: string) => new DicomwebError(400, message);
export const notFound = (what: string) => new DicomwebError(404, `${what} is not known on this node`);
export const notAcceptable = (message: string) => new DicomwebError(406, message);

export function sendError(res: Response, status: number, message: string): void {
  if (res.headersSent) {
    // Too late for a status: the answer is cut off, and its AuditEvent says the server did it.
    noteCutOff(res, `The answer failed after it began: ${message}`);
    res.destroy();
    return;
  }
  res.status(status).type('application/json').set('cache-control', 'no-store').send(JSON.stringify({ status, message }));
}

export function dicomwebErrorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, _req, res, _next) => {
    if (error instanceof ClientGoneError) {
      // Nobody to answer: the stream stopped where the client left (its AuditEvent says so, on 'close').
      res.destroy();
      return;
    }
    if (error instanceof DicomwebError) {
      sendError(res, error.status, error.message);
      return;
    }
    if (isOutcomeError(error)) {
      // The shared bearer check (libs/access) speaks OperationOutcome; here it is the same status and reason.
      sendError(res, error.status, error.message);
      return;
    }
    logger.error({ reason: errorMessage(error) }, 'DICOMweb request failed');
    sendError(res, 500, 'Internal server error');
  };
}
