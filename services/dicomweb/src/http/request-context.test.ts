import { request } from 'node:http';
import express, { type Request } from 'express';
import type { AuditEvent } from '@medplum/fhirtypes';
import { createLogger } from '@imaging-facade/service-kit';
import { failedTokenCounter } from '@imaging-facade/access';
import { fakeVerifier } from '@imaging-facade/access/src/test-support/fake-verifier';
import { getFrom, sendBadTokensUntilLocked, serveOnLoopback } from '../../../../test/support/http-from';
import { eventually } from '../../../../test/support/wait';
import { multipartContentType, newBoundary, streamParts } from '../wado/multipart';
import { dicomwebErrorHandler } from './errors';
import { audited, DICOMWEB_FACE, requestContext, requestedStudy } from './request-context';

const logger = createLogger('dicomweb-test', 'silent');

/** DICOMweb's request context on a real server: bad tokens are limited per client address, each refusal audited. */
/** A server with DICOMweb's request context in front of an empty `/studies`. */
function studiesBehindContext(overrides: Partial<Parameters<typeof requestContext>[0]>) {
  const app = express();
  app.use(
    requestContext({
      verifier: fakeVerifier({ issuer: 'https://issuer.example', clientId: 'viewer', scopes: [] }),
      failedTokens: undefined,
      consentView: { isReady: () => true },
      index: { isReady: () => true },
      publicBaseUrl: 'https://node.example/dicomweb',
      audit: { enqueue: () => undefined },
      logger,
      ...overrides,
    }),
  );
  app.get('/studies', (_req, res) => {
    res.json([]);
  });
  app.use(dicomwebErrorHandler(logger));
  return serveOnLoopback(app);
}

test('DICOMweb: bad tokens are 401 then 429 with Retry-After, each an AuditEvent with a failure outcome saying why; another client is served', async () => {
  const events: AuditEvent[] = [];
  const server = await studiesBehindContext({
    failedTokens: failedTokenCounter({ perClient: 2, lockoutSeconds: 120 }),
    audit: { enqueue: (event) => events.push(event) },
  });
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

test('DICOMweb: while the audit trail cannot be written (its queue full), a request is a 503 with Retry-After and nothing is served', async () => {
  let full = true;
  const server = await studiesBehindContext({ audit: { enqueue: () => undefined, isFull: () => full } });
  try {
    const refused = await getFrom('127.0.0.1', server.url('/studies'), { authorization: 'Bearer good' });
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('30');
    full = false;
    expect((await getFrom('127.0.0.1', server.url('/studies'), { authorization: 'Bearer good' })).status).toBe(200);
  } finally {
    await server.close();
  }
});

/** Reads an answer until `abortAfter` bytes came (then drops the connection) or to its end; resolves with the bytes read. */
function readThenLeave(url: string, abortAfter: number | undefined): Promise<number> {
  return new Promise((resolve) => {
    let got = 0;
    const req = request(url, { headers: { authorization: 'Bearer good' } }, (res) => {
      res.on('data', (chunk: Buffer) => {
        got += chunk.length;
        if (abortAfter !== undefined && got >= abortAfter) {
          req.destroy();
          resolve(got);
        }
      });
      res.on('end', () => resolve(got));
      // A connection the server cut: 'error' (aborted), then 'close'.
      res.on('error', () => resolve(got));
      res.on('close', () => resolve(got));
    });
    req.on('error', () => resolve(got));
    req.end();
  });
}

/** A study retrieve through the request context, as WADO-RS streams one: 24 parts of 1 MiB; `?fail` makes the stream fail after 3. */
async function retrieveServer(events: AuditEvent[]) {
  const app = express();
  app.use(
    requestContext({
      verifier: fakeVerifier({ issuer: 'https://issuer.example', clientId: 'viewer', scopes: [] }),
      failedTokens: undefined,
      consentView: { isReady: () => true },
      index: { isReady: () => true },
      publicBaseUrl: 'https://node.example/dicomweb',
      audit: { enqueue: (event) => events.push(event) },
      logger,
    }),
  );
  app.get('/studies/:study', async (req, res, next) => {
    try {
      audited(res).studies = [{ studyUid: req.params.study, patientSystem: 'urn:oid:1.2.250.1.71.4.2.1', patientValue: 'P-1' }];
      const boundary = newBoundary();
      res.status(200).type(multipartContentType('application/dicom', boundary));
      const fail = req.query.fail !== undefined;
      function* parts() {
        for (let index = 0; index < 24; index++) {
          if (fail && index === 3) throw new Error('the file went away');
          yield { contentType: 'application/dicom', bytes: Buffer.alloc(1024 * 1024, index) };
        }
      }
      await streamParts(res, boundary, parts());
    } catch (error) {
      next(error);
    }
  });
  app.use(dicomwebErrorHandler(logger));
  return serveOnLoopback(app);
}

describe('DICOMweb: every retrieve is audited once when its connection closes, an answer cut off as a failure', () => {
  const studiesOf = (event: AuditEvent | undefined) => event?.entity?.filter((entity) => entity.what?.type === 'ImagingStudy').map((entity) => entity.name);
  const patientsOf = (event: AuditEvent | undefined) => event?.entity?.filter((entity) => entity.what?.type === 'Patient').map((entity) => entity.what?.identifier?.value);

  test('a client that leaves mid-study: one AuditEvent, outcome 4, saying the client closed the connection before the end, naming the study and its patient', async () => {
    const events: AuditEvent[] = [];
    const server = await retrieveServer(events);
    try {
      const read = await readThenLeave(server.url('/studies/1.2.3'), 2 * 1024 * 1024);
      expect(read).toBeLessThan(24 * 1024 * 1024);
      const [event] = await eventually(async () => (events.length > 0 ? events : undefined), { what: 'the AuditEvent of the abandoned retrieve', timeoutMs: 3000 });
      expect(event?.outcome).toBe('4');
      expect(event?.outcomeDesc).toBe('The client closed the connection before the end of the answer (HTTP 200 begun)');
      expect(event?.meta?.profile?.[0]).toMatch(/BasicAudit\.PatientRead$/);
      expect(studiesOf(event)).toEqual(['1.2.3']);
      expect(patientsOf(event)).toEqual(['P-1']);
      // Exactly once: nothing more comes for it.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(events).toHaveLength(1);

      // The whole study read: one more, a success.
      expect(await readThenLeave(server.url('/studies/1.2.4'), undefined)).toBeGreaterThan(24 * 1024 * 1024);
      await eventually(async () => (events.length === 2 ? events : undefined), { what: 'the AuditEvent of the complete retrieve', timeoutMs: 3000 });
      expect([events[1]?.outcome, events[1]?.outcomeDesc, studiesOf(events[1])]).toEqual(['0', undefined, ['1.2.4']]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(events).toHaveLength(2);
    } finally {
      await server.close();
    }
  }, 15_000);

  test('a stream the server cuts off (a failure after the head went out): one AuditEvent, outcome 8, saying so', async () => {
    const events: AuditEvent[] = [];
    const server = await retrieveServer(events);
    try {
      await readThenLeave(server.url('/studies/1.2.5?fail'), undefined);
      const [event] = await eventually(async () => (events.length > 0 ? events : undefined), { what: 'the AuditEvent of the failed retrieve', timeoutMs: 3000 });
      expect([event?.outcome, event?.outcomeDesc, studiesOf(event)]).toEqual(['8', 'The answer failed after it began: Internal server error (HTTP 200 begun)', ['1.2.5']]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(events).toHaveLength(1);
    } finally {
      await server.close();
    }
  }, 15_000);
});

test.each([
  ['/studies', 'search-type'],
  ['/STUDIES', 'search-type'],
  ['/studies/', 'search-type'],
  ['/Studies/1.2.3/Series', 'search-type'],
  ['/studies/1.2.3/series/4.5/instances/', 'search-type'],
  ['/studies/1.2.3', 'read'],
  ['/studies/1.2.3/metadata', 'read'],
])('DICOMweb: %s is audited as a %s, as the router matches it (any case, a trailing slash)', (path, interaction) => {
  expect(DICOMWEB_FACE.interactionOf({ path, method: 'GET' } as Request)).toBe(interaction);
});

test.each([
  ['POST', '/studies', 'create'],
  ['PUT', '/studies/1.2.3', 'update'],
  ['DELETE', '/studies/1.2.3', 'delete'],
])('DICOMweb: a %s of %s (refused) is audited as the %s it attempted', (method, path, interaction) => {
  expect(DICOMWEB_FACE.interactionOf({ path, method } as Request)).toBe(interaction);
});

/** A failed retrieve names the study asked for (its UID as sent), so that attempts show in the audit trail. */
test.each([
  ['/studies/1.2.3/metadata', '1.2.3'],
  ['/studies/1.2.3', '1.2.3'],
  ['/STUDIES/1.2.3/series/4.5/instances/6.7', '1.2.3'],
  ['/studies', undefined],
  ['/studies/1.2.3x/metadata', undefined],
  [`/studies/${'1.'.repeat(40)}1/metadata`, undefined],
])('the study a path %s names: %s', (path, uid) => {
  expect(requestedStudy(path)).toBe(uid);
});
