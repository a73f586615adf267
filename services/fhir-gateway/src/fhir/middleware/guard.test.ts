import express, { type RequestHandler } from 'express';
import { Registry } from 'prom-client';
import type { AuditEvent } from '@medplum/fhirtypes';
import { outcomeErrorHandler } from '@imaging-facade/fhir-outcomes';
import { createLogger } from '@imaging-facade/service-kit';
import { failedTokenCounter, type ConsentLookups, type ConsentRules } from '@imaging-facade/access';
import { fakeVerifier } from '@imaging-facade/access/src/test-support/fake-verifier';
import { getFrom, sendBadTokensUntilLocked, serveOnLoopback, type LoopbackServer } from '../../../../../test/support/http-from';
import { eventually } from '../../../../../test/support/wait';
import { recordFailure } from './audit';
import { guard } from './guard';

const logger = createLogger('guard-test', 'silent');

/** The middleware in front of every interaction, on a real server, with a verifier that knows one good token. */
describe('the FHIR guard: audit, then token (with failed tokens limited per client), then consent view', () => {
  let server: LoopbackServer;
  let url: string;
  let events: AuditEvent[];
  let auditFull: boolean;

  beforeEach(async () => {
    events = [];
    auditFull = false;
    const guarded = guard({
      publicBaseUrl: 'https://gateway.example/fhir',
      logger,
      metrics: new Registry(),
      audit: { enqueue: (event) => events.push(event), isFull: () => auditFull },
      verifier: { ...fakeVerifier({ issuer: 'https://issuer.example', clientId: 'ehr', scopes: [] }), discovery: async () => ({}) as never },
      failedTokens: failedTokenCounter({ perClient: 2, lockoutSeconds: 120 }),
      consent: { rules: {} as ConsentRules, lookups: {} as ConsentLookups, isReady: () => true },
    });
    const search: RequestHandler = (_req, res) => {
      res.status(200).json({ resourceType: 'Bundle', type: 'searchset', entry: [] });
    };
    const app = express();
    app.get('/fhir/:type', guarded('search-type'), search);
    app.use(recordFailure, outcomeErrorHandler(logger));
    server = await serveOnLoopback(app);
    url = server.url('/fhir/ImagingStudy');
  });

  afterEach(async () => {
    await server.close();
  });

  const auditedWith = (count: number) => eventually(async () => (events.length >= count ? events : undefined), { what: `${count} AuditEvents`, timeoutMs: 5000 });

  test('while the audit trail cannot be written (its queue full), every request is a 503 with Retry-After, and served again once it can', async () => {
    auditFull = true;
    const refused = await getFrom('127.0.0.1', url, { authorization: 'Bearer good' });
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('30');
    expect(refused.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'transient' }] });
    auditFull = false;
    expect((await getFrom('127.0.0.1', url, { authorization: 'Bearer good' })).status).toBe(200);
  });

  test('bad tokens are 401, then 429 with Retry-After; each refusal is an AuditEvent with a failure outcome and the client address', async () => {
    const locked = await sendBadTokensUntilLocked('127.0.0.1', url, 2, 'good');
    expect(locked.status).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(100);
    expect(locked.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'throttled' }] });

    const audited = await auditedWith(3);
    expect(audited.map((event) => [event.outcome, event.outcomeDesc])).toEqual([
      ['4', 'Invalid token: the token is not valid'],
      ['4', 'Invalid token: the token is not valid'],
      ['4', expect.stringMatching(/^Too many invalid tokens from this client address/)],
    ]);
    for (const event of audited) {
      expect(event.agent?.[0]).toMatchObject({ who: { display: 'unauthenticated client' }, network: { address: '127.0.0.1' } });
      expect(event.subtype?.[0]?.code).toBe('search-type');
    }
  });

  test('a good token from another client address is served (and audited as a success) while the first is locked out', async () => {
    for (let i = 0; i < 3; i++) {
      await getFrom('127.0.0.1', url, { authorization: 'Bearer forged' });
    }
    const served = await getFrom('127.0.0.9', url, { authorization: 'Bearer good' });
    expect(served.status).toBe(200);
    const audited = await auditedWith(4);
    expect(audited[3]).toMatchObject({ outcome: '0', agent: [{ name: 'ehr', network: { address: '127.0.0.9' } }, expect.anything()] });
  });
});
