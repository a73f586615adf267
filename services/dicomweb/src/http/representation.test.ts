import { renderFrame } from '../wado/render';
import { createLogger } from '@imaging-facade/service-kit';
import { fakeVerifier } from '@imaging-facade/access/src/test-support/fake-verifier';
import { getFrom, serveOnLoopback, type LoopbackServer } from '../../../../test/support/http-from';
import { StudyIndexDb } from '../index/study-index-db';
import { createDicomwebApp } from './app';

const logger = createLogger('dicomweb-test', 'silent');

/** The DICOMweb router as served, on an empty index: `_format` treated as at the gateway, every answer no-store. */
describe('DICOMweb: _format honoured where the answer is JSON, refused elsewhere; never cached', () => {
  let server: LoopbackServer;
  let db: StudyIndexDb;

  beforeAll(async () => {
    db = new StudyIndexDb(':memory:');
    const app = createDicomwebApp({
      verifier: fakeVerifier({ issuer: 'https://issuer.example', clientId: 'viewer', scopes: [] }),
      failedTokens: undefined,
      consentView: { isReady: () => true },
      index: { isReady: () => true },
      publicBaseUrl: 'https://node.example/dicomweb',
      audit: { enqueue: () => undefined },
      logger,
      db,
      storageDir: '/nonexistent',
      access: { scopeOf: async () => ({ kind: 'all' }), canSee: async () => true, consentShares: () => true, waitsForReport: () => false } as never,
      maxResults: 100,
      rendering: { render: renderFrame, maxPixels: 40_000_000 },
      frameCacheBytes: 0,
    });
    server = await serveOnLoopback(app);
  });

  afterAll(async () => {
    await server.close();
    db.close();
  });

  const get = (path: string) => getFrom('127.0.0.1', server.url(`/dicomweb${path}`), { authorization: 'Bearer good', accept: 'application/dicom+json' });

  test.each([
    ['no _format', '/studies'],
    ['_format=json', '/studies?_format=json'],
    ['_format=application/dicom+json', '/studies?_format=application%2Fdicom%2Bjson&PatientID=x'],
    ['_format=application/fhir+json on series', '/series?_format=application%2Ffhir%2Bjson'],
  ])('%s is answered JSON, no-store', async (_situation, path) => {
    const response = await get(path);
    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.body).toEqual([]);
  });

  test.each([
    ['POST', '/studies'],
    ['PUT', '/studies/1.2.3'],
    ['DELETE', '/studies/1.2.3/series/4.5'],
    ['PATCH', '/studies/1.2.3'],
  ])('a %s of %s (a write) is a 405 with Allow, no-store', async (method, path) => {
    const response = await fetch(server.url(`/dicomweb${path}`), { method, headers: { authorization: 'Bearer good', 'content-type': 'application/dicom' }, body: 'x' });
    expect([response.status, response.headers.get('allow'), response.headers.get('cache-control')]).toEqual([405, 'GET, HEAD', 'no-store']);
    expect(((await response.json()) as { message: string }).message).toMatch(/no STOW-RS/);
  });

  test.each([
    ['_format=xml on a search', '/studies?_format=xml', /_format=xml is not served/],
    ['_format=application/dicom+xml', '/studies?_format=application%2Fdicom%2Bxml', /not served/],
    ['_format=json then xml', '/instances?_format=json&_format=xml', /_format=xml/],
    ['_format=json on an instance retrieve', '/studies/1.2/series/3.4/instances/5.6?_format=json', /Accept header/],
  ])('%s is a 406 saying why, no-store', async (_situation, path, why) => {
    const response = await get(path);
    expect(response.status).toBe(406);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.body.message).toMatch(why);
  });
});
