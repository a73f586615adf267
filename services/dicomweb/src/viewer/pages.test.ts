import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import express from 'express';
import type { Logger } from '@imaging-facade/service-kit';
import type { DicomwebConfig } from '../config';
import { rebaseBundle, rebaseIndex, rebaseStylesheet, rebaseWebManifest, viewerPages } from './pages';
import { viewerAppConfig } from './app-config';

describe('OHIF, built for /, served under /viewer', () => {
  test('the index: PUBLIC_URL and root-relative assets move under /viewer; absolute URLs stay', () => {
    const index = '<head><script>window.PUBLIC_URL="/"</script><link href="/app.css"><script src="/app.js"></script><a href="//cdn.example/x"></a></head>';
    const rebased = rebaseIndex(index, '/viewer');
    expect(rebased).toContain('window.PUBLIC_URL="/viewer/"');
    expect(rebased).toContain('href="/viewer/app.css"');
    expect(rebased).toContain('src="/viewer/app.js"');
    expect(rebased).toContain('href="//cdn.example/x"');
  });

  test('the index names the app bundle with a digest of how it is rewritten: a browser that kept an earlier rewrite (immutable) asks again', () => {
    const rebased = rebaseIndex('<head><script defer src="/app.bundle.0f6159c501addfe9.js"></script><script src="/other.0f6159c501addfe9.js"></script></head>', '/viewer');
    expect(rebased).toMatch(/src="\/viewer\/app\.bundle\.0f6159c501addfe9\.js\?rewrite=[0-9a-f]{12}"/);
    expect(rebased).toContain('src="/viewer/other.0f6159c501addfe9.js"');
  });

  test('the index keeps one "?" in the links OHIF navigates to (its router-base bug)', () => {
    const rebased = rebaseIndex('<head></head>', '/viewer');
    const script = /<script>(.*)<\/script>/.exec(rebased)?.[1] as string;
    const calls: string[] = [];
    const history = { pushState: (_s: unknown, _t: string, url: string) => calls.push(url), replaceState: (_s: unknown, _t: string, url: string) => calls.push(url) };
    new Function('history', script)(history);
    history.pushState({}, '', '/viewer/viewer???StudyInstanceUIDs=1.2.3');
    history.replaceState({}, '', '/viewer/viewer?StudyInstanceUIDs=1.2.3');
    expect(calls).toEqual(['/viewer/viewer?StudyInstanceUIDs=1.2.3', '/viewer/viewer?StudyInstanceUIDs=1.2.3']);
  });

  test('webpack runtimes load their chunks from /viewer/, the stylesheet its fonts', () => {
    expect(rebaseBundle('__webpack_require__.p = "/";', '/viewer')).toBe('__webpack_require__.p = "/viewer/";');
    expect(rebaseStylesheet('src:url(/a.woff2) url(//x/y)', '/viewer')).toBe('src:url(/viewer/a.woff2) url(//x/y)');
  });

  /** The color test of cornerstone's image loader as OHIF 3.13.2's app bundle carries it (4:2:2 and 4:2:0 sizes swapped). */
  const SHIPPED_COLOR_TEST = `function isColorConversionRequired(imageFrame) {
    if (imageFrame === undefined) {
        return false;
    }
    const { rows, columns, photometricInterpretation, pixelDataLength, planarConfiguration, } = imageFrame;
    if (pixelDataLength === 4 * columns * rows) {
        return false;
    }
    if (photometricInterpretation === 'PALETTE COLOR') {
        return true;
    }
    if (photometricInterpretation.endsWith('420')) {
        return (pixelDataLength ===
            (3 * Math.ceil(columns / 2) + Math.floor(columns / 2)) * rows);
    }
    else if (photometricInterpretation.endsWith('422')) {
        return (pixelDataLength ===
            (3 * Math.ceil(columns / 2) + Math.floor(columns / 2)) *
                Math.ceil(rows / 2) +
                Math.floor(rows / 2) * columns);
    }
    else {
        return photometricInterpretation !== 'RGB' || planarConfiguration === 1;
    }
}`;
  const colorTest = (bundle: string) => new Function(`${bundle}; return isColorConversionRequired;`)() as (frame: object) => boolean;

  test.each<[string, string, number, boolean, boolean]>([
    ['an uncompressed YBR_FULL_422 frame (2 bytes a pixel) is converted: it was drawn black', 'YBR_FULL_422', 20_000, false, true],
    ['a YBR_PARTIAL_420 frame (1.5 bytes a pixel) is converted', 'YBR_PARTIAL_420', 15_000, false, true],
    ['a YBR_FULL_422 frame decoded to RGB (3 bytes a pixel) is not', 'YBR_FULL_422', 30_000, false, false],
    ['RGB interleaved, as before', 'RGB', 30_000, false, false],
  ])('the image loader\'s color test, as served: %s', (_situation, photometricInterpretation, pixelDataLength, shipped, served) => {
    const frame = { rows: 100, columns: 100, photometricInterpretation, pixelDataLength, planarConfiguration: 0 };
    expect(colorTest(SHIPPED_COLOR_TEST)(frame)).toBe(shipped);
    expect(colorTest(rebaseBundle(SHIPPED_COLOR_TEST, '/viewer'))(frame)).toBe(served);
  });

  test('the web app manifests name their icons under /viewer (they were a 404 and a console error on every load)', () => {
    expect(rebaseWebManifest('{"icons": [{"src": "/assets/a.png"}], "start_url": "./index.html"}', '/viewer')).toBe('{"icons": [{"src": "/viewer/assets/a.png"}], "start_url": "./index.html"}');
    expect(rebaseWebManifest('{"layout": {"logo": "/assets/y.png"}, "src": "//cdn/x"}', '/viewer')).toBe('{"layout": {"logo": "/viewer/assets/y.png"}, "src": "//cdn/x"}');
  });

  test.each([
    ['/viewer/viewer', '?StudyInstanceUIDs=1.2.3', undefined, 'https://node.example/dicomweb/viewer-context/1.2.3'],
    ['/viewer/viewer', '?StudyInstanceUIDs=1.2.3,4.5.6', undefined, 'https://node.example/dicomweb/viewer-context/1.2.3'],
    ['/viewer/viewer', '?StudyInstanceUIDs=../x', undefined, 'https://node.example/dicomweb'],
    ['/viewer/', '', '1.2.3', 'https://node.example/dicomweb'],
    // Back from the sign-in: the study the link named before it left.
    ['/viewer/callback', '?code=abc&state=def', '1.2.3', 'https://node.example/dicomweb/viewer-context/1.2.3'],
    ['/viewer/callback', '?code=abc&state=def', undefined, 'https://node.example/dicomweb'],
  ])('at %s%s (kept: %s), the viewer searches under %s (the patient\'s other studies keep to its identifier system)', (pathname, search, kept, qidoRoot) => {
    const config = viewerAppConfig({ basePath: '/viewer', dicomwebPath: '/dicomweb', issuer: 'http://localhost:8000/oidc', clientId: 'imaging-viewer', scope: 'openid', apiPath: '/viewer-api' });
    const stored = new Map<string, string>(kept ? [['facade-opened-study', kept]] : []);
    const sessionStorage = { getItem: (key: string) => stored.get(key) ?? null, setItem: (key: string, value: string) => stored.set(key, value) };
    const window: { location: object; sessionStorage: object; config?: any } = { location: { origin: 'https://node.example', search, pathname }, sessionStorage };
    new Function('window', 'URLSearchParams', config)(window, URLSearchParams);
    expect(window.config.dataSources[0].configuration.qidoRoot).toBe(qidoRoot);
  });

  test('the configuration: this node\'s DICOMweb on the page\'s origin, sign-in with the node\'s issuer (code + PKCE)', () => {
    const config = viewerAppConfig({ basePath: '/viewer', dicomwebPath: '/dicomweb', issuer: 'http://localhost:8000/oidc', clientId: 'imaging-viewer', scope: 'openid user/ImagingStudy.rs', apiPath: '/viewer-api' });
    const window: { location: object; sessionStorage: object; config?: any } = { location: { origin: 'https://node.example', search: '', pathname: '/viewer/' }, sessionStorage: { getItem: () => null, setItem: () => undefined } };
    new Function('window', config)(window);
    expect(window.config.routerBasename).toBe('/viewer');
    expect(window.config.dataSources).toHaveLength(1);
    expect(window.config.dataSources[0].configuration.qidoRoot).toBe('https://node.example/dicomweb');
    expect(window.config.dataSources[0].configuration.wadoRoot).toBe('https://node.example/dicomweb');
    expect(window.config.oidc[0]).toMatchObject({ authority: 'http://localhost:8000/oidc', client_id: 'imaging-viewer', response_type: 'code' });
    // The index's lines, added to OHIF's top-right viewport overlay (its documented customization).
    const items = window.config.customizationService[0]['viewportOverlay.topRight'].$push;
    expect(items.map((item: { id: string }) => item.id)).toEqual(['FacadeIndexStudy', 'FacadeStudyDose', 'FacadePatientCumulativeDose']);
    expect(items.every((item: { contentF: unknown }) => typeof item.contentF === 'function')).toBe(true);
  });
});

describe('every answer of the viewer carries its security headers, whichever route sends it', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'viewer-pages-'));
  let server: Server;
  let base: string;

  beforeAll(async () => {
    writeFileSync(path.join(dir, 'index.html'), '<html><head></head><body>OHIF</body></html>');
    writeFileSync(path.join(dir, 'app.bundle.0f6159c501addfe9.js'), `__webpack_require__.p = "/";${'x();'.repeat(1000)}`);
    writeFileSync(path.join(dir, 'logo.png'), Buffer.alloc(64, 1));
    mkdirSync(path.join(dir, 'assets'));
    // As small as OHIF's (156 bytes): under the compression floor, served by the plain route.
    writeFileSync(path.join(dir, 'assets', 'yandex-browser-manifest.json'), '{"layout": {"logo": "/assets/yandex-browser-50x50.png"}}');
    const config = { viewer: { dir, clientId: 'imaging-viewer', scope: 'openid' }, publicBaseUrl: 'http://localhost/dicomweb', oidc: { issuer: 'http://localhost:8000/oidc' } } as unknown as DicomwebConfig;
    const app = express();
    for (const { path: mount, router } of viewerPages(config, { warn: () => undefined } as unknown as Logger)) {
      app.use(mount, router);
    }
    await new Promise<void>((resolve) => {
      server = app.listen(0, '127.0.0.1', () => resolve());
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/viewer`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  test.each([
    ['the index', '/', 'no-store'],
    ['a client-side route', '/viewer?StudyInstanceUIDs=1.2.3', 'no-store'],
    ['the configuration', '/app-config.js', 'no-store'],
    ['the rebased bundle, compressed', '/app.bundle.0f6159c501addfe9.js', 'public, max-age=31536000, immutable'],
    ['an image, as it is', '/logo.png', 'public, max-age=3600'],
  ])('%s', async (_name, file, cacheControl) => {
    const response = await fetch(`${base}${file}`, { headers: { 'accept-encoding': 'br' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect([response.headers.get('x-content-type-options'), response.headers.get('referrer-policy'), response.headers.get('cache-control')]).toEqual(['nosniff', 'no-referrer', cacheControl]);
  });

  test('a small web app manifest in a subdirectory, not compressed, is rebased all the same', async () => {
    for (const encoding of ['br', 'identity']) {
      const response = await fetch(`${base}/assets/yandex-browser-manifest.json`, { headers: { 'accept-encoding': encoding } });
      expect([encoding, response.status, await response.text()]).toEqual([encoding, 200, '{"layout": {"logo": "/viewer/assets/yandex-browser-50x50.png"}}']);
    }
  });
});
