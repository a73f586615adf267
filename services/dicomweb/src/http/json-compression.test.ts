import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import express from 'express';
import { getRaw, serveOnLoopback, type LoopbackServer } from '../../../../test/support/http-from';
import { streamJsonArray } from './backpressure';
import { DICOMWEB_JSON_RESOURCE, jsonCompression } from './json-compression';

/** JSON answers compressed when the client asks, multipart answers never; on a real server, read by a plain HTTP client. */
const members = Array.from({ length: 2000 }, (_, index) => JSON.stringify({ '00080018': { vr: 'UI', Value: [`1.2.3.${index}`] }, '00200013': { vr: 'IS', Value: [index] } }));
const multipart = Buffer.alloc(64 * 1024, 7);
let server: LoopbackServer;

beforeAll(async () => {
  const app = express();
  app.use(jsonCompression(DICOMWEB_JSON_RESOURCE));
  app.get('/studies/1.2/metadata', async (_req, res) => {
    res.status(200).type('application/dicom+json');
    await streamJsonArray(res, members, 4096);
  });
  app.get('/studies', (_req, res) => {
    res.type('application/json').send('{"status":404}');
  });
  app.get('/studies/1.2', (_req, res) => {
    res.type('multipart/related; type="application/dicom"; boundary=x').send(multipart);
  });
  server = await serveOnLoopback(app);
});

afterAll(() => server.close());

describe('compression of JSON answers', () => {
  const expected = JSON.parse(`[${members.join(',')}]`) as unknown;

  test('a client asking for gzip gets a gzip body that decodes to the same JSON, with Vary: Accept-Encoding', async () => {
    const answer = await getRaw(server.url('/studies/1.2/metadata'), { 'accept-encoding': 'gzip' });
    expect(answer.headers['content-encoding']).toBe('gzip');
    expect(answer.headers.vary).toMatch(/accept-encoding/i);
    expect(answer.bytes.length).toBeLessThan(JSON.stringify(expected).length / 4);
    expect(JSON.parse(gunzipSync(answer.bytes).toString('utf8'))).toEqual(expected);
  });

  test('a client preferring Brotli gets Brotli', async () => {
    const answer = await getRaw(server.url('/studies/1.2/metadata'), { 'accept-encoding': 'br;q=1, gzip;q=0.5' });
    expect(answer.headers['content-encoding']).toBe('br');
    expect(JSON.parse(brotliDecompressSync(answer.bytes).toString('utf8'))).toEqual(expected);
  });

  test('a client not asking (or refusing every coding) gets the JSON as it is', async () => {
    for (const headers of [{}, { 'accept-encoding': 'identity' }] as Array<Record<string, string>>) {
      const answer = await getRaw(server.url('/studies/1.2/metadata'), headers);
      expect(answer.headers['content-encoding']).toBeUndefined();
      expect(JSON.parse(answer.bytes.toString('utf8'))).toEqual(expected);
    }
  });

  test('a small body is sent as it is; a multipart retrieval never goes through compression', async () => {
    expect((await getRaw(server.url('/studies'), { 'accept-encoding': 'gzip' })).headers['content-encoding']).toBeUndefined();
    const answer = await getRaw(server.url('/studies/1.2'), { 'accept-encoding': 'gzip, br' });
    expect(answer.headers['content-encoding']).toBeUndefined();
    expect(answer.bytes.equals(multipart)).toBe(true);
  });
});
