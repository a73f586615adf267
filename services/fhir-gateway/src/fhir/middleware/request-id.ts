import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';

/** The client's X-Request-Id when it is a sane token, else a new one: on the answer, the log line and the AuditEvent. */
export const requestId: RequestHandler = (req, res, next) => {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && /^[\w\-.]{1,128}$/.test(given) ? given : randomUUID();
  res.locals.requestId = id;
  res.set('x-request-id', id);
  next();
};
