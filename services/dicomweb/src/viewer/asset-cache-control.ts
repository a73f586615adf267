/**
 * How long a browser keeps a file of OHIF's build. Webpack names most of them by a hash of their
 * content (`app.bundle.0f6159c501addfe9.js`, `5130ccb17e3f3f5b.wasm`): what a name holds never
 * changes, so a returning user loads none of them again (a new OHIF version has new names). The rest
 * (`app.bundle.css`, `1602.css`, logos) may change with a new version: an hour.
 */
const CONTENT_HASHED = /(?:^|[./])[0-9a-f]{16}\.(?:js|css|wasm|woff2?)$/;

export function assetCacheControl(relative: string): string {
  const name = relative.slice(relative.lastIndexOf('/') + 1);
  return CONTENT_HASHED.test(name) ? 'public, max-age=31536000, immutable' : 'public, max-age=3600';
}
