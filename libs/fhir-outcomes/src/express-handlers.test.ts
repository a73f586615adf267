import type { Server } from 'node:http';
import express from 'express';
import { notFoundHandler, outcomeErrorHandler } from './express-handlers';
import { badRequest, forbidden, OutcomeError } from './outcomes';

const logged: unknown[] = [];
let server: Server;
let base: string;

beforeAll(async () => {
  const app = express();
  app.use(express.json());
  app.post('/echo', (req, res) => {
    res.json(req.body);
  });
  app.get('/bad', () => {
    throw new OutcomeError(badRequest('patient.system is required', ['patient.system']));
  });
  app.get('/forbidden', () => {
    throw new OutcomeError(forbidden('scope user/ImagingStudy.rs does not allow Patient'));
  });
  app.get('/crash', () => {
    throw new Error('database password is hunter2');
  });
  app.use(notFoundHandler);
  app.use(outcomeErrorHandler({ error: (fields) => logged.push(fields) }));
  await new Promise<void>((resolve) => {
    server = app.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('HTTP errors are FHIR OperationOutcomes', () => {
  test.each([
    ['an OutcomeError', 'GET', '/bad', undefined, 400, 'invalid', /patient\.system is required/],
    ['a forbidden scope', 'GET', '/forbidden', undefined, 403, 'forbidden', /does not allow Patient/],
    ['an unknown route', 'GET', '/nowhere', undefined, 404, 'not-found', /No route for GET \/nowhere/],
    ['a body that is not JSON', 'POST', '/echo', '{"patient":', 400, 'invalid', /not valid JSON/],
    ['an unexpected error, without its cause', 'GET', '/crash', undefined, 500, 'exception', /^Internal server error$/],
  ])('%s', async (_situation, method, path, body, status, code, diagnostics) => {
    const response = await fetch(`${base}${path}`, {
      method,
      body,
      headers: body ? { 'content-type': 'application/json' } : {},
    });
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toMatch(/application\/fhir\+json/);
    const outcome = (await response.json()) as { resourceType: string; issue: Array<{ code: string; diagnostics: string }> };
    expect(outcome.resourceType).toBe('OperationOutcome');
    expect(outcome.issue[0].code).toBe(code);
    expect(outcome.issue[0].diagnostics).toMatch(diagnostics);
    expect(JSON.stringify(outcome)).not.toContain('hunter2');
  });

  test('the cause of an unexpected error is logged instead', () => {
    expect(JSON.stringify(logged.map((fields) => String((fields as { err: Error }).err)))).toContain('hunter2');
  });
});
