import { rebaseBundle, rebaseIndex, rebaseStylesheet } from './pages';
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

  test('the configuration: this node\'s DICOMweb on the page\'s origin, sign-in with the node\'s issuer (code + PKCE)', () => {
    const config = viewerAppConfig({ basePath: '/viewer', dicomwebPath: '/dicomweb', issuer: 'http://localhost:8000/oidc', clientId: 'imaging-viewer', scope: 'openid user/ImagingStudy.rs' });
    const window: { location: { origin: string }; config?: any } = { location: { origin: 'https://node.example' } };
    new Function('window', config)(window);
    expect(window.config.routerBasename).toBe('/viewer');
    expect(window.config.dataSources).toHaveLength(1);
    expect(window.config.dataSources[0].configuration.qidoRoot).toBe('https://node.example/dicomweb');
    expect(window.config.oidc[0]).toMatchObject({ authority: 'http://localhost:8000/oidc', client_id: 'imaging-viewer', response_type: 'code' });
  });
});
