import { renderFrame } from '../wado/render';
import type { AuditEvent } from '@medplum/fhirtypes';
import { parseScopes, type Principal } from '@imaging-facade/access';
import { createLogger } from '@imaging-facade/service-kit';
import { fakeVerifier } from '@imaging-facade/access/src/test-support/fake-verifier';
import { getFrom, serveOnLoopback, type LoopbackServer } from '../../../../test/support/http-from';
import { eventually } from '../../../../test/support/wait';
import { dosePages } from '../dose/dose-pages';
import type { ReferenceTable } from '../dose/reference-table';
import { StudyIndexDb } from '../index/study-index-db';
import { viewerApi } from '../viewer/summary-routes';
import { createDicomwebApp } from './app';
import { CONSENT_RETRY_AFTER_SECONDS } from './consent-ready';

const logger = createLogger('dicomweb-test', 'silent');
const TABLE: ReferenceTable = { name: 'test', levels: [] };

/**
 * The application as service.ts wires it (DICOMweb, the viewer's API, the dose dashboard) over a
 * consent view that has not caught up yet, then has, then stops following its topic: every route
 * with patient data or images answers 503 with Retry-After (each in its face's error format, and
 * audited), the dashboard's page is still served.
 */
describe('a consent view that is not ready: 503 with Retry-After on every route with patient data, until it is', () => {
  let server: LoopbackServer;
  let db: StudyIndexDb;
  let ready = false;
  let indexReady = true;
  const events: AuditEvent[] = [];
  const principal: Principal = { issuer: 'https://issuer.example', clientId: 'viewer', scopes: parseScopes('dose-officer user/*.rs'), grantedScopes: ['dose-officer', 'user/*.rs'] };

  beforeAll(async () => {
    db = new StudyIndexDb(':memory:');
    const deps = {
      verifier: fakeVerifier(principal),
      failedTokens: undefined,
      consentView: { isReady: () => ready },
      index: { isReady: () => indexReady },
      publicBaseUrl: 'https://node.example/dicomweb',
      audit: { enqueue: (event: AuditEvent) => events.push(event) },
      logger,
      db,
      storageDir: '/nonexistent',
      access: { scopeOf: async () => ({ kind: 'all' }), canSee: async () => true, consentShares: () => true, waitsForReport: () => false } as never,
      maxResults: 100,
      rendering: { render: renderFrame, maxPixels: 40_000_000 },
      frameCacheBytes: 0,
    };
    const dose = dosePages({
      issuer: 'https://issuer.example',
      clientId: 'imaging-viewer',
      scope: 'openid dose-officer user/Observation.rs',
      roleScope: 'dose-officer',
      maxResources: 1000,
      table: TABLE,
      upstream: { baseUrl: 'http://fhir.example/fhir', request: async () => ({ status: 200, body: { resourceType: 'Bundle' } }) } as never,
      deps,
    });
    const viewer = viewerApi({ ...deps, summaries: { study: async () => [], cumulative: async () => undefined } });
    server = await serveOnLoopback(createDicomwebApp(deps, [viewer, dose]));
  });

  afterAll(async () => {
    await server.close();
    db.close();
  });

  const get = (path: string, token = 'good') => getFrom('127.0.0.1', server.url(path), { authorization: `Bearer ${token}`, accept: 'application/dicom+json' });
  const PATIENT_DATA = ['/dicomweb/studies', '/dicomweb/studies/1.2.3/metadata', '/dicomweb/studies/1.2.3', '/viewer-api/studies/1.2.3/summary', '/dose/api/summary', '/dose/api/export.csv'];

  test('before the view has caught up, and again once it stops following: 503, Retry-After, a JSON error (an OperationOutcome on the dose API), audited; the page is served', async () => {
    for (const phase of ['catching up', 'stopped']) {
      ready = false;
      events.length = 0;
      for (const path of PATIENT_DATA) {
        const answer = await get(path);
        expect([phase, path, answer.status, answer.headers['retry-after']]).toEqual([phase, path, 503, String(CONSENT_RETRY_AFTER_SECONDS)]);
        expect(answer.headers['cache-control']).toBe('no-store');
        const body = answer.body as { status?: number; message?: string; resourceType?: string; issue?: Array<{ diagnostics?: string }> };
        const message = path.startsWith('/dose/api') ? body.issue?.[0]?.diagnostics : body.message;
        expect(message).toMatch(/^Consent decisions are not loaded yet/);
        if (!path.startsWith('/dose/api')) expect(body.status).toBe(503);
        else expect(body.resourceType).toBe('OperationOutcome');
      }
      // Who has no token learns nothing more than at any other time.
      expect((await get('/dicomweb/studies', 'forged')).status).toBe(401);
      // The dashboard's page has no patient data.
      expect((await getFrom('127.0.0.1', server.url('/dose/'))).status).toBe(200);
      const audited = await eventually(async () => (events.length === PATIENT_DATA.length + 1 ? events : undefined), { what: 'an AuditEvent per request', timeoutMs: 3000 });
      expect(audited.filter((event) => event.outcome === '8').map((event) => event.outcomeDesc)).toEqual(PATIENT_DATA.map(() => expect.stringMatching(/^Consent decisions are not loaded yet/)));
      if (phase === 'catching up') {
        ready = true;
        expect((await get('/dicomweb/studies')).status).toBe(200);
        expect((await get('/dose/api/summary')).status).toBe(200);
        expect((await get('/viewer-api/studies/1.2.3/summary')).status).toBe(404);
      }
    }
  });

  test('while a rebuilt index reads the study topic again: 503 saying so, rather than lists missing studies', async () => {
    ready = true;
    indexReady = false;
    try {
      for (const path of ['/dicomweb/studies', '/dicomweb/studies/1.2.3/metadata', '/viewer-api/studies/1.2.3/summary']) {
        const answer = await get(path);
        expect([path, answer.status, answer.headers['retry-after']]).toEqual([path, 503, String(CONSENT_RETRY_AFTER_SECONDS)]);
        expect((answer.body as { message?: string }).message).toMatch(/^The index is being rebuilt/);
      }
      indexReady = true;
      expect((await get('/dicomweb/studies')).status).toBe(200);
    } finally {
      indexReady = true;
    }
  });
});
