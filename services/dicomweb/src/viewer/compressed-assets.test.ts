import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import express from 'express';
import { assetCacheControl } from './asset-cache-control';
import { compressedAssets, CompressedAssetCache, compressibleAsset } from './compressed-assets';

describe('which paths are compressible assets of the build', () => {
  test.each([
    ['/app.bundle.0f61.js', 'app.bundle.0f61.js'],
    ['/ort/ort.js', 'ort/ort.js'],
    ['/5130ccb17e3f3f5b.wasm', '5130ccb17e3f3f5b.wasm'],
    ['/app.css', 'app.css'],
    ['/a%20b.js', 'a b.js'],
    ['/logo.png', undefined],
    ['/font.woff2', undefined],
    ['/viewer', undefined],
    ['/', undefined],
    ['/../secret.js', undefined],
    ['/%2e%2e/secret.js', undefined],
    ['/ort/%2E%2E/%2E%2E/secret.js', undefined],
    ['/.env.js', undefined],
    ['/a%5C..%5Cb.js', undefined],
    ['/a%00.js', undefined],
    ['/%E0%A4%A.js', undefined],
  ])('%s → %s', (urlPath, expected) => {
    expect(compressibleAsset(urlPath)).toBe(expected);
  });
});

/** A GET that does not decompress, so that the bytes on the wire can be checked. */
function fetchRaw(port: number, urlPath: string, acceptEncoding?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    get({ port, path: urlPath, headers: acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

describe('the build served compressed, on a real server', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'viewer-assets-'));
  const bundle = `/* app */ ${'console.log("a line of the app bundle");\n'.repeat(2000)}`;
  const worker = `/* ort */ ${'var x = 1;\n'.repeat(500)}`;
  const image = Buffer.alloc(4096, 7);
  let server: Server;
  let port: number;
  let cache: CompressedAssetCache;

  beforeAll(async () => {
    mkdirSync(path.join(dir, 'ort'));
    writeFileSync(path.join(dir, 'app.bundle.js'), '__webpack_require__.p = "/";' + bundle);
    writeFileSync(path.join(dir, 'ort', 'ort.js'), worker);
    writeFileSync(path.join(dir, 'logo.png'), image);
    writeFileSync(path.join(dir, 'tiny.js'), 'x()');
    cache = new CompressedAssetCache();
    const rebased = (relative: string): string | undefined => (relative === 'app.bundle.js' ? '__webpack_require__.p = "/viewer/";' + bundle : undefined);
    const app = express();
    app.get('/*asset', compressedAssets(dir, rebased, cache));
    app.use(express.static(dir));
    await new Promise<void>((resolve) => {
      server = app.listen(0, '127.0.0.1', () => resolve());
    });
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  test.each([
    { accept: 'gzip, deflate, br, zstd', encoding: 'br' },
    { accept: 'gzip, deflate', encoding: 'gzip' },
    { accept: 'br;q=0.5, gzip', encoding: 'gzip' },
    { accept: 'identity', encoding: undefined },
    { accept: undefined, encoding: undefined },
  ])('Accept-Encoding $accept → $encoding, the same bytes once decoded (the rewritten bundle as served)', async ({ accept, encoding }) => {
    const response = await fetchRaw(port, '/app.bundle.js', accept);
    expect([response.status, response.headers['content-encoding'], response.headers.vary]).toEqual([200, encoding, 'Accept-Encoding']);
    const decoded = encoding === 'br' ? brotliDecompressSync(response.body) : encoding === 'gzip' ? gunzipSync(response.body) : response.body;
    const expected = encoding === undefined ? '__webpack_require__.p = "/";' + bundle : '__webpack_require__.p = "/viewer/";' + bundle;
    expect(decoded.toString('utf8')).toBe(expected);
    if (encoding !== undefined) {
      expect(response.body.length).toBeLessThan(decoded.length / 10);
      expect(response.headers['content-type']).toMatch(/javascript/);
    }
  });

  test('a file in a folder of the build; an image, a tiny file and a missing file go to the static files', async () => {
    const nested = await fetchRaw(port, '/ort/ort.js', 'br');
    expect([nested.headers['content-encoding'], brotliDecompressSync(nested.body).toString('utf8')]).toEqual(['br', worker]);
    const png = await fetchRaw(port, '/logo.png', 'br');
    expect([png.status, png.headers['content-encoding'], png.body.equals(image)]).toEqual([200, undefined, true]);
    const tiny = await fetchRaw(port, '/tiny.js', 'br');
    expect([tiny.status, tiny.headers['content-encoding'], tiny.body.toString()]).toEqual([200, undefined, 'x()']);
    const missing = await fetchRaw(port, '/nothing.js', 'br');
    expect([missing.status, missing.headers['content-encoding']]).toEqual([404, undefined]);
    const escape = await fetchRaw(port, '/ort/%2e%2e/%2e%2e/etc/passwd.js', 'br');
    expect(escape.status).toBe(404);
  });

  test('each asset is compressed once, then served from memory', async () => {
    await fetchRaw(port, '/ort/ort.js', 'gzip');
    const before = cache.cachedBytes;
    const again = await Promise.all([fetchRaw(port, '/ort/ort.js', 'gzip'), fetchRaw(port, '/ort/ort.js', 'gzip')]);
    expect(again.map((response) => gunzipSync(response.body).toString('utf8'))).toEqual([worker, worker]);
    expect(cache.cachedBytes).toBe(before);
  });
});

describe('the memory budget', () => {
  test('past it, an asset is not compressed (sent as it is) and nothing more is kept', async () => {
    const cache = new CompressedAssetCache(200);
    const big = Buffer.from('a'.repeat(50_000) + 'b'.repeat(50_000));
    const first = await cache.get('first.js', 'gzip', async () => Buffer.from('x'.repeat(2000)));
    expect(first).toBeDefined();
    const kept = cache.cachedBytes;
    expect(await cache.get('second.js', 'gzip', async () => Buffer.concat([big, Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251))]))).toBeUndefined();
    expect(cache.cachedBytes).toBe(kept);
  });
});

describe('how long browsers keep the build', () => {
  test.each([
    ['app.bundle.0f6159c501addfe9.js', 'public, max-age=31536000, immutable'],
    ['2493.bundle.c4af70e46357151f.js', 'public, max-age=31536000, immutable'],
    ['5130ccb17e3f3f5b.wasm', 'public, max-age=31536000, immutable'],
    ['a34f9d1faa5f3315.woff2', 'public, max-age=31536000, immutable'],
    ['app.bundle.css', 'public, max-age=3600'],
    ['1602.css', 'public, max-age=3600'],
    ['ort/ort.js', 'public, max-age=3600'],
    ['ohif-logo.svg', 'public, max-age=3600'],
    ['dicom-microscopy-viewer/dicomMicroscopyViewer.min.js', 'public, max-age=3600'],
  ])('%s → %s', (relative, expected) => {
    expect(assetCacheControl(relative)).toBe(expected);
  });
});
