import express from 'express';
import type { AuditEvent } from '@medplum/fhirtypes';
import { createLogger } from '@imaging-facade/service-kit';
import { failedTokenCounter } from '@imaging-facade/access';
import { fakeVerifier } from '@imaging-facade/access/src/test-support/fake-verifier';
import { getFrom, sendBadTokensUntilLocked, serveOnLoopback } from '../../../../test/support/http-from';
import { eventually } from '../../../../test/support/wait';
import { dicomwebErrorHandler } from './errors';
import { requestContext } from './request-context';

const logger = createLogger('dicomweb-test', 'silent');

/** DICOMweb's request context on a real server: bad tokens are limited per client address, each refusal audited. */
test('DICOMweb: bad tokens are 401 then 429 with Retry-After, each an AuditEvent with a failure outcome saying why; another client is served', async () => {
  const events: AuditEvent[] = [];
  const app = express();
  app.use(
    requestContext({
      verifier: fakeVerifier({ issuer: 'https://issuer.example', clientId: 'viewer', scopes: [] }),
      failedTokens: failedTokenCounter({ perClient: 2, lockoutSeconds: 120 }),
      publicBaseUrl: 'https://node.example/dicomweb',
      audit: { enqueue: (event) => events.push(event) },
      logger,
    }),
  );
  app.get('/studies', (_req, res) => {
    res.json([]);
  });
  app.use(dicomwebErrorHandler(logger));
  const server = await serveOnLoopback(app);
  try {
    const url = server.url('/studies');
    const locked = await sendBadTokensUntilLocked('127.0.0.1', url, 2, 'good');
    expect(locked.status).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(100);
    expect((await getFrom('127.0.0.5', url, { authorization: 'Bearer good' })).status).toBe(200);

    const audited = await eventually(async () => (events.length >= 4 ? events : undefined), { what: '4 AuditEvents', timeoutMs: 5000 });
    expect(audited.map((event) => [event.outcome, event.outcomeDesc, event.agent?.[0]?.network?.address])).toEqual([
      ['4', 'Invalid token: the token is not valid', '127.0.0.1'],
      ['4', 'Invalid token: the token is not valid', '127.0.0.1'],
      ['4', expect.stringMatching(/^Too many invalid tokens/), '127.0.0.1'],
      ['0', undefined, '127.0.0.5'],
    ]);
  } finally {
    await server.close();
  }
});
