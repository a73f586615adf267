import { readFileSync } from 'node:fs';
import path from 'node:path';
import express, { type Response, type Router } from 'express';
import { html } from '@imaging-facade/service-kit';

/**
 * The dashboard's page at /dose: one HTML page, its script and stylesheet, and Chart.js, all from
 * this node (Chart.js from node_modules, no CDN). The page signs in itself (authorization code with
 * PKCE at the node's issuer) and reads /dose/api with the token it gets.
 */
export const DOSE_PATH = '/dose';

export interface DosePageSettings {
  issuer: string;
  clientId: string;
  scope: string;
}

// src/dose/public, from src/dose or from dist/dose alike: the browser files are not compiled.
const PUBLIC_DIR = path.resolve(__dirname, '..', '..', 'src', 'dose', 'public');
const CHART_JS = path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.min.js');

export function dosePage(settings: DosePageSettings): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Radiation dose — Imaging Facade</title>
<link rel="stylesheet" href="${DOSE_PATH}/assets/dashboard.css">
<script src="${DOSE_PATH}/assets/chart.umd.min.js" defer></script>
<script src="${DOSE_PATH}/assets/dashboard.js" defer></script>
</head>
<body data-issuer="${settings.issuer}" data-client-id="${settings.clientId}" data-scope="${settings.scope}" data-base="${DOSE_PATH}" data-state="loading">
<header><h1>Radiation dose</h1><p class="lead">Exams of the node against the diagnostic reference levels (<span id="table-name">…</span>)</p></header>
<form id="period" class="period">
<label>From <input type="date" name="from" required></label>
<label>To <input type="date" name="to" required></label>
<label>Trend by <select name="bucket"><option value="month">month</option><option value="week">week</option></select></label>
<button type="submit">Show</button>
<button type="button" id="export">Export CSV</button>
</form>
<p id="status" role="status">Loading…</p>
<section id="totals" class="totals" aria-label="Totals"></section>
<section><h2>Median against the reference level, per protocol and device</h2><div id="bars" class="charts"></div></section>
<section><h2>Exams above their reference level</h2>
<table id="flagged"><thead><tr><th>Date</th><th>Study Instance UID</th><th>Modality</th><th>Device</th><th>Protocol</th><th>Reference level</th><th>Above</th></tr></thead><tbody></tbody></table></section>
<section><h2>Trend: median per period</h2><div id="trends" class="charts"></div></section>
<section><h2>Distributions</h2>
<table id="distributions"><thead><tr><th>Modality</th><th>Protocol</th><th>Device</th><th>Quantity</th><th>Exams</th><th>Median</th><th>75th percentile</th><th>Reference level</th><th>Exams above</th></tr></thead><tbody></tbody></table></section>
</body></html>`.toString();
}

/** The page, its callback and its files, with a CSP that allows nothing but this origin and the issuer. */
export function dosePageRoutes(settings: DosePageSettings): Router {
  const router = express.Router();
  const page = dosePage(settings);
  const files: Record<string, { file: string; type: string }> = {
    'dashboard.js': { file: path.join(PUBLIC_DIR, 'dashboard.js'), type: 'application/javascript' },
    'dashboard.css': { file: path.join(PUBLIC_DIR, 'dashboard.css'), type: 'text/css' },
    'chart.umd.min.js': { file: CHART_JS, type: 'application/javascript' },
  };
  const content = new Map(Object.entries(files).map(([name, { file }]) => [name, readFileSync(file)]));
  const headers = (res: Response): void => {
    res.set('x-content-type-options', 'nosniff');
    res.set('referrer-policy', 'no-referrer');
    res.set(
      'content-security-policy',
      [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        `connect-src 'self' ${new URL(settings.issuer).origin}`,
        "img-src 'self' data: blob:",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
      ].join('; '),
    );
  };
  const sendPage = (_req: express.Request, res: Response): void => {
    headers(res);
    res.set('cache-control', 'no-store').type('html').send(page);
  };
  router.get(['/', '/index.html', '/callback'], sendPage);
  router.get('/assets/:file', (req, res, next) => {
    const name = req.params.file;
    const body = content.get(name);
    const file = files[name];
    if (!body || !file) {
      next();
      return;
    }
    headers(res);
    res.set('cache-control', 'no-cache').type(file.type).send(body);
  });
  return router;
}
