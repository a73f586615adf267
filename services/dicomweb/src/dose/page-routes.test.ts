import express from 'express';
import { serveOnLoopback } from '../../../../test/support/http-from';
import { dosePage, dosePageRoutes } from './page-routes';

const SETTINGS = { issuer: 'http://localhost:8000/oidc', clientId: 'imaging-viewer', scope: 'openid dose-officer user/Observation.rs' };

describe('the dashboard page', () => {
  test('carries the sign-in settings as data, escaped, and loads only its own files', () => {
    const page = dosePage({ ...SETTINGS, clientId: '"><script>x</script>' });
    expect(page).toContain('data-issuer="http://localhost:8000/oidc"');
    expect(page).not.toContain('<script>x</script>');
    expect([...page.matchAll(/src="([^"]+)"/g)].map((match) => match[1])).toEqual(['/dose/assets/chart.umd.min.js', '/dose/assets/dashboard.js']);
  });

  test.each([
    ['/dose', 'text/html; charset=utf-8'],
    ['/dose/callback?code=x&state=y', 'text/html; charset=utf-8'],
    ['/dose/assets/chart.umd.min.js', 'application/javascript; charset=utf-8'],
    ['/dose/assets/dashboard.js', 'application/javascript; charset=utf-8'],
    ['/dose/assets/dashboard.css', 'text/css; charset=utf-8'],
  ])('%s is served as %s under a strict CSP', async (path, type) => {
    const app = express();
    app.use('/dose', dosePageRoutes(SETTINGS));
    const server = await serveOnLoopback(app);
    try {
      const response = await fetch(server.url(path));
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe(type);
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain('connect-src \'self\' http://localhost:8000');
      expect(csp).not.toContain('unsafe');
    } finally {
      await server.close();
    }
  });

  test('Chart.js is the pinned build from node_modules', async () => {
    const app = express();
    app.use('/dose', dosePageRoutes(SETTINGS));
    const server = await serveOnLoopback(app);
    try {
      const text = await (await fetch(server.url('/dose/assets/chart.umd.min.js'))).text();
      expect(text).toMatch(/Chart\.js v4\.6\.1/);
      expect((await fetch(server.url('/dose/assets/other.js'))).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
