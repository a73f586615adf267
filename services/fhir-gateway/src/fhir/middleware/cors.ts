import type { RequestHandler } from 'express';

/**
 * Browser apps (SMART patient and EHR apps) call from other origins with bearer tokens, never
 * cookies: any origin may call, and sees the headers a FHIR client needs. Preflights end here.
 */
export const cors: RequestHandler = (req, res, next) => {
  res.set('access-control-allow-origin', '*');
  res.set('access-control-expose-headers', 'Location, Content-Location, ETag, Last-Modified, X-Request-Id, WWW-Authenticate');
  if (req.method === 'OPTIONS') {
    res.set('access-control-allow-methods', 'GET, POST, DELETE, OPTIONS');
    res.set('access-control-allow-headers', 'Authorization, Content-Type, Accept, Cache-Control, Prefer, X-Request-Id');
    res.set('access-control-max-age', '600');
    res.status(204).end();
    return;
  }
  next();
};
