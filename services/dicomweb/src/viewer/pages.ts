import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import express, { type Router } from 'express';
import type { Logger } from '@imaging-facade/service-kit';
import type { DicomwebConfig } from '../config';
import { viewerAppConfig } from './app-config';
import { assetCacheControl } from './asset-cache-control';
import { compressedAssets } from './compressed-assets';
import { VIEWER_API_PATH } from './summary-routes';

/**
 * The OHIF viewer (the @ohif/app build the stack fetches and pins) at /viewer, beside DICOMweb on the
 * same origin, so that the viewer calls DICOMweb without CORS. Its configuration is written from the
 * node's settings: one DICOMweb data source (this node), and sign-in with the node's OpenID Connect
 * issuer (authorization code with PKCE); the token it gets is the one DICOMweb checks.
 */
export const VIEWER_PATH = '/viewer';

/**
 * OHIF's build lives at `/`: its index names assets from the root and sets PUBLIC_URL to `/`, its
 * webpack runtime loads chunks from `/`, its stylesheet takes fonts from `/`. Served under `base`,
 * those are rewritten once, at start.
 */
export function rebaseIndex(index: string, base: string): string {
  return index
    .replace(/window\.PUBLIC_URL="\/"/g, `window.PUBLIC_URL="${base}/"`)
    .replace(/(href|src)="\/(?!\/)/g, `$1="${base}/`)
    .replace(/(src="[^"]*\/app\.bundle\.[0-9a-f]+\.js)"/, `$1?rewrite=${bundleRewriteVersion()}"`)
    .replace('<head>', `<head><script>${KEEP_ONE_QUESTION_MARK}</script>`);
}

/**
 * The app bundle is served rewritten (rebaseBundle) under the name webpack gave the original, as
 * `immutable` for a year: a browser that kept an earlier rewrite would never ask again. The index
 * (never stored) names it with a digest of the rewriting code, so that a node whose rewrites
 * changed (the YBR fix of 2026-12-07) is asked again for it.
 */
function bundleRewriteVersion(): string {
  return createHash('sha256').update(`${rebaseBundle.toString()}${withYbr422SizesFixed.toString()}${YBR_SIZE_TESTS.source}`).digest('hex').slice(0, 12);
}

/**
 * OHIF 3.13 under a router base with sign-in adds a `?` to the query each time it navigates back to
 * the page the user asked for (`/viewer??StudyInstanceUIDs=…`), which then names no study. Until
 * that is fixed upstream, the page's own history calls keep one `?` (a workaround at the edge: the
 * build itself is not modified).
 */
const KEEP_ONE_QUESTION_MARK = `(function(){var fix=function(u){return typeof u==='string'?u.replace(/\\?{2,}/,'?'):u;};['pushState','replaceState'].forEach(function(name){var original=history[name];history[name]=function(state,title,url){return original.call(history,state,title,fix(url));};});})();`;

export function rebaseBundle(bundle: string, base: string): string {
  return withYbr422SizesFixed(bundle.replace('__webpack_require__.p = "/";', `__webpack_require__.p = "${base}/";`));
}

/**
 * cornerstone's `isColorConversionRequired` (in OHIF 3.13.2's app bundle, and in cornerstone3D's
 * dicomImageLoader) tests a YBR_FULL_422 frame against the 4:2:0 size and a 4:2:0 one against the
 * 4:2:2 size. An uncompressed YBR_FULL_422 frame (2 bytes a pixel) is then never converted to RGB,
 * is taken for 3 samples a pixel, and is drawn black (vtk: "model.size is not a multiple of
 * model.numberOfComponents"); JPEG frames, decoded to RGB, are not affected. The two tests are
 * swapped here, as the upstream fix would (patches/README.md, cornerstone3D); a build without that
 * code is served as it is.
 */
const YBR_SIZE_TESTS = /if \(photometricInterpretation\.endsWith\('420'\)\) \{(\s*return \(pixelDataLength ===\s*\(3 \* Math\.ceil\(columns \/ 2\) \+ Math\.floor\(columns \/ 2\)\) \* rows\);\s*\}\s*else )if \(photometricInterpretation\.endsWith\('422'\)\) \{/;

export function withYbr422SizesFixed(bundle: string): string {
  return bundle.replace(YBR_SIZE_TESTS, "if (photometricInterpretation.endsWith('422')) {$1if (photometricInterpretation.endsWith('420')) {");
}

export function rebaseStylesheet(css: string, base: string): string {
  return css.replace(/url\(\/(?!\/)/g, `url(${base}/`);
}

/** The web app manifests' icons (`manifest.json`, Yandex's): a 404 and a console error per load otherwise. */
export function rebaseWebManifest(json: string, base: string): string {
  return json.replace(/"(src|logo)"(\s*):(\s*)"\/(?!\/)/g, `"$1"$2:$3"${base}/`);
}

const WEB_MANIFEST = /(^|\/)[\w.-]*manifest\.json$/;

/**
 * A file of the build as served under `base`: the bundles that carry a webpack runtime (the app's,
 * its workers'), the app's stylesheet and the web app manifests are rewritten, once, on first
 * request; undefined for the rest, which are served as they are.
 */
function rebasedFile(dir: string, name: string, base: string, cache: Map<string, string | null>): string | undefined {
  if (!/^[\w.-]+\.(js|css)$/.test(name) && !/^(assets\/)?[\w.-]+\.json$/.test(name)) return undefined;
  let content = cache.get(name);
  if (content === undefined) {
    const file = path.join(dir, name);
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    const rebase = name.endsWith('.css') ? rebaseStylesheet : WEB_MANIFEST.test(name) ? rebaseWebManifest : name.endsWith('.js') ? rebaseBundle : (same: string) => same;
    const rebased = rebase(text, base);
    content = rebased !== text ? rebased : null;
    cache.set(name, content);
  }
  return content ?? undefined;
}

export function viewerPages(config: DicomwebConfig, logger: Logger): Array<{ path: string; router: Router }> {
  const viewer = config.viewer;
  if (!viewer) {
    return [];
  }
  const index = path.join(viewer.dir, 'index.html');
  if (!existsSync(index)) {
    logger.warn({ dir: viewer.dir }, 'VIEWER_DIR has no OHIF build (index.html): the viewer is not served');
    return [];
  }
  const page = rebaseIndex(readFileSync(index, 'utf8'), VIEWER_PATH);
  const appConfig = viewerAppConfig({
    basePath: VIEWER_PATH,
    dicomwebPath: new URL(config.publicBaseUrl).pathname.replace(/\/+$/, ''),
    issuer: config.oidc.issuer,
    clientId: viewer.clientId,
    scope: viewer.scope,
    apiPath: VIEWER_API_PATH,
  });

  const router = express.Router();
  const headers = (res: express.Response): void => {
    res.set('x-content-type-options', 'nosniff');
    res.set('referrer-policy', 'no-referrer');
    // OHIF runs WebAssembly codecs and web workers; it talks to this origin and to the issuer only.
    res.set(
      'content-security-policy',
      [
        "default-src 'self'",
        `connect-src 'self' ${new URL(config.oidc.issuer).origin}`,
        "script-src 'self' 'unsafe-inline' 'unsafe-eval' 'wasm-unsafe-eval' blob:",
        "worker-src 'self' blob:",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "frame-src 'self'",
        "frame-ancestors 'self'",
      ].join('; '),
    );
  };
  // Every answer of the viewer's pages carries them, whichever route below sends it.
  router.use((_req, res, next) => {
    headers(res);
    next();
  });
  const sendIndex = (_req: express.Request, res: express.Response): void => {
    res.set('cache-control', 'no-store').type('html').send(page);
  };
  router.get('/app-config.js', (_req, res) => {
    res.set('cache-control', 'no-store').type('application/javascript').send(appConfig);
  });
  router.get(['/', '/index.html'], sendIndex);
  const cache = new Map<string, string | null>();
  router.get('/*asset', compressedAssets(viewer.dir, (relative) => rebasedFile(viewer.dir, relative, VIEWER_PATH, cache)));
  // What compressedAssets leaves (no accepted encoding, a file under its size floor) of a rewritten file.
  router.get('/*asset', (req, res, next) => {
    const relative = ([] as string[]).concat(req.params.asset ?? []).join('/');
    const content = rebasedFile(viewer.dir, relative, VIEWER_PATH, cache);
    if (content === undefined) {
      next();
      return;
    }
    res.set('cache-control', assetCacheControl(relative)).type(path.extname(relative)).send(content);
  });
  router.use(
    express.static(viewer.dir, {
      index: false,
      fallthrough: true,
      dotfiles: 'ignore',
      cacheControl: false,
      setHeaders: (res, file) => res.setHeader('cache-control', assetCacheControl(path.relative(viewer.dir, file))),
    }),
  );
  // Client-side routes (/viewer/viewer?StudyInstanceUIDs=…, /viewer/callback): the app itself.
  router.get('/*rest', sendIndex);
  return [{ path: VIEWER_PATH, router }];
}
