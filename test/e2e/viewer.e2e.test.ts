import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import sharp from 'sharp';
import { startGateway, type Gateway } from '../../services/fhir-gateway/src/test-support/harness';
import { freePort } from '../support/ports';
import { startDicomweb, type DicomwebNode } from '../support/dicomweb';
import { startPipeline, type Pipeline } from '../support/pipeline';
import { REPO_ROOT } from '../support/service-process';
import { SAMPLES } from '../support/sample-files';
import { makeStudy, type GeneratedStudy } from '../support/study-factory';
import { storescu } from '../support/dcmtk';
import { eventually } from '../support/wait';

/**
 * Issue 12 §4–5: an EHR opens one study in the OHIF viewer with a plain link (IHE IID style), the user
 * signs in with the node's OpenID Connect issuer, the image is drawn, and the patient's prior study
 * is listed beside it. Debian's Chromium (WebGL through SwiftShader), driven by playwright-core.
 */

const ARTIFACTS = path.join(REPO_ROOT, 'test/artifacts');
const VIEWER_DIR = path.join(process.env.FACADE_DATA_DIR ?? path.join(REPO_ROOT, '.data'), 'ohif', 'dist');

let gateway: Gateway;
let pipeline: Pipeline;
let node: DicomwebNode;
let current: GeneratedStudy;
let prior: GeneratedStudy;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  // The viewer's origin must be known to the issuer (its redirect URI) before either starts.
  const viewerPort = await freePort();
  gateway = await startGateway({ DEV_ISSUER_REDIRECT_URIS: `http://127.0.0.1:${viewerPort}/viewer/callback` });
  pipeline = await startPipeline();
  node = await startDicomweb({
    storageDir: pipeline.storageDir,
    topicPrefix: pipeline.topicPrefix,
    gatewayOrigin: gateway.origin,
    port: viewerPort,
    env: { VIEWER_DIR },
  });
  current = await makeStudy([{ source: SAMPLES.ctExplicitLittle, instances: 3 }]);
  prior = await makeStudy([{ source: SAMPLES.mrExplicitLittle, instances: 1 }], current.patientId);
  for (const study of [current, prior]) {
    expect((await storescu(pipeline.dicomPort, study.files)).code).toBe(0);
  }
  const token = await gateway.token('user/ImagingStudy.rs');
  await eventually(async () => {
    const found = await node.get(`/studies?PatientID=${current.patientId}`, token);
    return found.status === 200 && JSON.parse(found.body.toString()).length === 2 ? true : undefined;
  }, { timeoutMs: 60_000, what: 'both studies in the DICOMweb index' });

  context = await chromium.launchPersistentContext(mkdtempSync(path.join(tmpdir(), 'viewer-chromium-')), {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: ['--no-sandbox', '--use-gl=angle', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  page = context.pages()[0] ?? (await context.newPage());
}, 240_000);

afterAll(async () => {
  await context?.close();
  await node?.stop();
  await pipeline?.stop();
  await gateway?.stop();
});

/** The viewport's picture, cropped to where the square CT image is drawn, as 64×64 grey. */
async function drawnImage(): Promise<Buffer> {
  const viewport = page.locator('.cornerstone-viewport-element, [data-viewport-uid]').first();
  const box = await viewport.boundingBox();
  if (!box) throw new Error('no viewport on the page');
  const side = Math.floor(Math.min(box.width, box.height)) - 40;
  const shot = await page.screenshot({ clip: { x: box.x + (box.width - side) / 2, y: box.y + (box.height - side) / 2, width: side, height: side } });
  return sharp(shot).greyscale().resize(64, 64, { fit: 'fill' }).raw().toBuffer();
}

function correlation(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  let sa = 0, sb = 0;
  for (let i = 0; i < n; i++) { sa += a[i] as number; sb += b[i] as number; }
  const ma = sa / n, mb = sb / n;
  let cov = 0, va = 0, vb = 0;
  for (let i = 0; i < n; i++) {
    const da = (a[i] as number) - ma, db = (b[i] as number) - mb;
    cov += da * db; va += da * da; vb += db * db;
  }
  return cov / Math.sqrt(va * vb || 1);
}

test('a plain link opens the study after signing in; the CT is drawn as DICOMweb renders it; the prior is listed', async () => {
  const link = `${node.origin}/viewer/viewer?StudyInstanceUIDs=${current.studyInstanceUid}`;
  await page.goto(link);
  // The node's issuer asks who is there (authorization code with PKCE).
  await page.waitForSelector('#user', { timeout: 60_000 });
  expect(new URL(page.url()).origin).toBe(gateway.origin);
  await page.fill('#user', 'clinician');
  await page.fill('#password', 'clinician');
  await page.click('button[type=submit]');

  // Back in the viewer, on the study the link named.
  await page.waitForURL((url) => url.pathname === '/viewer/viewer' && url.searchParams.get('StudyInstanceUIDs') === current.studyInstanceUid, { timeout: 60_000 });
  await page.waitForSelector('.cornerstone-viewport-element, [data-viewport-uid]', { timeout: 60_000 });
  await page.getByText('Skip all').click({ timeout: 10_000 }).catch(() => undefined);

  // The picture: not blank, and the frame DICOMweb renders under the viewer's own window.
  const voi = await eventually(async () => {
    const text = await page.locator('body').innerText();
    const match = /W:\s*(\d+)\s*L:\s*(-?\d+)/.exec(text);
    return match ? { width: Number(match[1]), center: Number(match[2]) } : undefined;
  }, { timeoutMs: 60_000, what: 'the viewport to show its window' });
  const series = current.series[0];
  const token = await gateway.token('user/ImagingStudy.rs');
  const rendered = await node.get(`/studies/${current.studyInstanceUid}/series/${series?.seriesInstanceUid}/instances/${series?.sopInstanceUids[0]}/rendered?window=${voi.center},${voi.width}`, token, 'image/png');
  const expected = await sharp(rendered.body).greyscale().resize(64, 64, { fit: 'fill' }).raw().toBuffer();
  const drawn = await eventually(async () => {
    const image = await drawnImage();
    const mean = image.reduce((sum, value) => sum + value, 0) / image.length;
    const spread = Math.sqrt(image.reduce((sum, value) => sum + (value - mean) ** 2, 0) / image.length);
    return spread > 20 ? image : undefined;
  }, { timeoutMs: 60_000, intervalMs: 1000, what: 'the image to be drawn (a canvas that is not blank)' });
  expect(correlation(drawn, expected)).toBeGreaterThan(0.8);

  // The patient's prior study, beside it for comparison.
  await expect(page.getByText('05-Jan-2024').first().isVisible()).resolves.toBe(true);
  const studyList = await page.locator('body').innerText();
  expect(studyList.match(/05-Jan-2024/g)?.length ?? 0).toBeGreaterThanOrEqual(1);
  expect(studyList).toMatch(/\bMR\b/);

  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, 'viewer.png') });
  if (process.env.UPDATE_SCREENSHOTS === '1') {
    await page.screenshot({ path: path.join(REPO_ROOT, 'docs/viewer.png') });
  }
}, 240_000);
