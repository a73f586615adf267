import type { ErrorRequestHandler, RequestHandler } from 'express';
import { badRequest, isOutcomeError, notFound, serverError, unsupportedMediaType, type Outcome } from './outcomes';

/** Minimal logger shape, so this library does not depend on a logging package. */
interface ErrorLogger {
  error: (fields: object, message: string) => void;
}

export function sendOutcome(res: Parameters<RequestHandler>[1], result: Outcome): void {
  res.status(result.status).type('application/fhir+json').send(JSON.stringify(result.outcome));
}

/** Answers routes nobody handles with a 404 OperationOutcome instead of Express's HTML page. */
export const notFoundHandler: RequestHandler = (req, res) => {
  sendOutcome(res, notFound(`No route for ${req.method} ${req.path}`));
};

/**
 * The one place that turns errors into HTTP answers: an OutcomeError is answered as it says, a body
 * that is not JSON is a 400, anything else is a 500 with a generic outcome (the cause is logged,
 * never sent).
 */
export function outcomeErrorHandler(logger: ErrorLogger): ErrorRequestHandler {
  return (error: unknown, _req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    if (isOutcomeError(error)) {
      sendOutcome(res, error.result);
      return;
    }
    const status = (error as { status?: unknown; type?: unknown }).status;
    const type = (error as { type?: unknown }).type;
    if (type === 'entity.parse.failed') {
      sendOutcome(res, badRequest('The request body is not valid JSON'));
      return;
    }
    if (type === 'entity.too.large') {
      sendOutcome(res, { ...badRequest('The request body is too large'), status: 413 });
      return;
    }
    if (status === 415) {
      sendOutcome(res, unsupportedMediaType('Unsupported content type'));
      return;
    }
    logger.error({ err: error }, 'unhandled error in an HTTP handler');
    sendOutcome(res, serverError());
  };
}
