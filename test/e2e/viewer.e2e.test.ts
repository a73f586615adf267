import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { AuditEvent } from '@medplum/fhirtypes';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import sharp from 'sharp';
import { startGateway, type Gateway } from '../../services/fhir-gateway/src/test-support/harness';
import { freePort } from '../support/ports';
import { startDicomweb, type DicomwebNode } from '../support/dicomweb';
import { startPipeline, type Pipeline } from '../support/pipeline';
import { REPO_ROOT } from '../support/service-process';
import { sample, SAMPLES, SYSTEM_PYTHON } from '../support/sample-files';
import { makeStudy, STUDY_DATE, STUDY_TIME, type GeneratedStudy } from '../support/study-factory';
import { patientsByIdentifier, search, studiesByUid } from '../support/fhir';
import { getRaw } from '../support/http-from';
import { newUid } from '../support/uids';
import { runDcmtk, storescu } from '../support/dcmtk';
import { eventually } from '../support/wait';

/**
 * Issue 12 §4–5: an EHR opens one study in the OHIF viewer with a plain link (IHE IID style), the user
 * signs in with the node's OpenID Connect issuer, the image is drawn, and the patient's prior study
 * is listed beside it. Debian's Chromium (WebGL through SwiftShader), driven by playwright-core.
 * Issue 12 §4 and 14 §2: the viewport shows what the index says of the study and its dose — each
 * study has a dose report (RDSR, test/fixtures/generate-rdsr.py): a CT one in the study shown, a
 * projection one in the prior — and the patient's cumulative dose over both.
 */

const ARTIFACTS = path.join(REPO_ROOT, 'test/artifacts');
const VIEWER_DIR = path.join(process.env.FACADE_DATA_DIR ?? path.join(REPO_ROOT, '.data'), 'ohif', 'dist');
const GENERATE_RDSR = path.join(REPO_ROOT, 'test', 'fixtures', 'generate-rdsr.py');
const DESCRIPTION = 'CT thorax with its dose report';

/** What the generator says it wrote (its own account of the report's values). */
interface GeneratedReport {
  kind: 'ct' | 'projection';
  dlpTotal?: number;
  events: Array<{ ctdivol?: number; dlp?: number }>;
  totals?: { dap: number; fluoroTime: number };
}

let gateway: Gateway;
let pipeline: Pipeline;
let node: DicomwebNode;
let current: GeneratedStudy;
let prior: GeneratedStudy;
/** Another hospital's patient who has the same Patient ID (another Issuer of Patient ID). */
let stranger: GeneratedStudy;
let context: BrowserContext;
let page: Page;
let ctReport: GeneratedReport;
let projectionReport: GeneratedReport;

/** A dose report of the study, in a series of its own after the images (so that the viewer hangs the images). */
function doseReport(study: GeneratedStudy, kind: 'ct' | 'projection', seed: number): { file: string; report: GeneratedReport } {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'viewer-rdsr-')), `${kind}.dcm`);
  const args = [GENERATE_RDSR, '--kind', kind, '--out', file, '--events', '3', '--seed', String(seed), '--study-uid', study.studyInstanceUid, '--patient-id', study.patientId];
  args.push('--study-date', STUDY_DATE, '--study-time', STUDY_TIME, '--series-number', '99');
  return { file, report: { ...(JSON.parse(execFileSync(SYSTEM_PYTHON, args, { encoding: 'utf8' })) as GeneratedReport), kind } };
}

beforeAll(async () => {
  // The viewer's origin must be known to the issuer (its redirect URI) before either starts.
  const viewerPort = await freePort();
  gateway = await startGateway({ DEV_ISSUER_REDIRECT_URIS: `http://127.0.0.1:${viewerPort}/viewer/callback` });
  pipeline = await startPipeline({}, { consent: true });
  node = await startDicomweb({
    storageDir: pipeline.storageDir,
    topicPrefix: pipeline.topicPrefix,
    gatewayOrigin: gateway.origin,
    port: viewerPort,
    env: { VIEWER_DIR },
  });
  current = await makeStudy([{ source: SAMPLES.ctExplicitLittle, instances: 3 }]);
  prior = await makeStudy([{ source: SAMPLES.mrExplicitLittle, instances: 1 }], current.patientId);
  const ct = doseReport(current, 'ct', 31);
  const projection = doseReport(prior, 'projection', 32);
  ctReport = ct.report;
  projectionReport = projection.report;
  // One study description on every instance of the study shown (whichever the index takes it from).
  expect((await runDcmtk('dcmodify', ['-nb', '-i', `(0008,1030)=${DESCRIPTION}`, ...current.files, ct.file])).code).toBe(0);
  for (const [study, report] of [[current, ct.file], [prior, projection.file]] as const) {
    expect((await storescu(pipeline.dicomPort, [...study.files, report])).code).toBe(0);
  }
  stranger = await makeStudy([{ source: SAMPLES.mrExplicitLittle, instances: 1 }], current.patientId);
  expect((await runDcmtk('dcmodify', ['-nb', '-i', '(0010,0021)=OTHERHOSP', '-m', '(0010,0010)=STRANGER^OTHER', ...stranger.files])).code).toBe(0);
  expect((await storescu(pipeline.dicomPort, stranger.files)).code).toBe(0);
  const token = await gateway.token('user/ImagingStudy.rs');
  await eventually(async () => {
    const found = await node.get(`/studies?PatientID=${current.patientId}`, token);
    return found.status === 200 && JSON.parse(found.body.toString()).length === 3 ? true : undefined;
  }, { timeoutMs: 60_000, what: 'the three studies of that Patient ID in the DICOMweb index' });
  // The mapper has summed both studies' doses into the patient's cumulative dose.
  const reader = await gateway.token('user/ImagingStudy.rs user/Observation.rs');
  await eventually(async () => {
    const found = await node.get(`${node.origin}/viewer-api/studies/${current.studyInstanceUid}/summary`, reader);
    return found.status === 200 && /\(2 studies\)/.test(JSON.parse(found.body.toString()).display?.cumulative ?? '') ? true : undefined;
  }, { timeoutMs: 120_000, intervalMs: 1000, what: 'the cumulative dose over both studies in the index' });

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

/** The viewport's picture, cropped to where a square image is drawn, as 64×64 grey (or RGB). */
async function drawnImage(kind: 'grey' | 'colour' = 'grey'): Promise<Buffer> {
  const viewport = page.locator('.cornerstone-viewport-element, [data-viewport-uid]').first();
  const box = await viewport.boundingBox();
  if (!box) throw new Error('no viewport on the page');
  const side = Math.floor(Math.min(box.width, box.height)) - 40;
  const shot = await page.screenshot({ clip: { x: box.x + (box.width - side) / 2, y: box.y + (box.height - side) / 2, width: side, height: side } });
  const picture = kind === 'grey' ? sharp(shot).greyscale() : sharp(shot).removeAlpha();
  return picture.resize(64, 64, { fit: 'fill' }).raw().toBuffer();
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
  // OHIF's 17 MB app bundle, as the browser received it.
  const appBundle = page.waitForResponse((response) => /\/viewer\/app\.bundle\.[\w]+\.js$/.test(new URL(response.url()).pathname), { timeout: 60_000 });
  // What the node answered 404 to: the web app manifest's icons were, twice per load, with a console error.
  const notFound: string[] = [];
  page.on('response', (response) => {
    if (response.status() === 404 && response.url().startsWith(node.origin)) notFound.push(new URL(response.url()).pathname);
  });
  // The viewer's searches for the patient's other studies, and the studies each answered.
  const patientSearches: string[][] = [];
  page.on('response', (response) => {
    const url = new URL(response.url());
    if (url.pathname.endsWith('/studies') && (url.searchParams.has('PatientID') || url.searchParams.has('00100020'))) {
      void response.json().then((found: Array<Record<string, { Value?: string[] }>>) => patientSearches.push(found.map((study) => study['0020000D']?.Value?.[0] ?? '').sort()));
    }
  });
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
  const bundle = await appBundle;
  expect(['br', 'gzip']).toContain(await bundle.headerValue('content-encoding'));
  expect(await bundle.headerValue('cache-control')).toBe('public, max-age=31536000, immutable');
  const onDisk = statSync(path.join(VIEWER_DIR, path.basename(new URL(bundle.url()).pathname))).size;
  expect((await bundle.request().sizes()).responseBodySize).toBeLessThan(onDisk / 4);

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
  expect(notFound).toEqual([]);

  // What the index says of the study, and its dose, in the viewport's overlay.
  const [indexed] = await studiesByUid(current.studyInstanceUid);
  const institution = indexed?.series?.flatMap((item) => item.performer ?? []).find((performer) => performer.function?.coding?.[0]?.code === 'LOC')?.actor.display;
  const overlay = async (line: string): Promise<string> => (await page.locator(`.facade-summary-${line}`).first().innerText()).trim();
  await eventually(async () => ((await overlay('cumulative').catch(() => '')) ? true : undefined), { timeoutMs: 30_000, what: 'the dose lines in the overlay' });
  expect(indexed?.description).toBe(DESCRIPTION);
  expect(institution).toBeTruthy();
  expect(await overlay('study')).toBe(`Index: ${indexed?.description} · ${indexed?.started?.slice(0, 10)} · ${institution}`);
  // As the dose dashboard judges a CT: its most exposed acquisition's CTDIvol and DLP, and the exam's DLP.
  const ctdivol = Math.max(...ctReport.events.map((event) => event.ctdivol ?? 0));
  const dlpAcquisition = Math.max(...ctReport.events.map((event) => event.dlp ?? 0));
  expect(await overlay('dose')).toBe(`Study dose: CT CTDIvol ${ctdivol} mGy, DLP ${ctReport.dlpTotal} mGy.cm, DLP per acquisition ${dlpAcquisition} mGy.cm`);
  // Gy.m2 → mGy.cm2: ×10^7.
  const dap = Number(((projectionReport.totals?.dap ?? 0) * 1e7).toPrecision(12));
  const cumulative = await overlay('cumulative');
  expect(cumulative).toContain(`CT Dose Length Product Total ${ctReport.dlpTotal} mGy.cm`);
  expect(cumulative).toContain(`Dose Area Product Total ${dap} mGy.cm2`);
  expect(cumulative).toContain(`Total Fluoro Time ${projectionReport.totals?.fluoroTime} s`);
  expect(cumulative).toMatch(/\(2 studies\)$/);

  // The patient's prior study, beside it for comparison.
  await expect(page.getByText('05-Jan-2024').first().isVisible()).resolves.toBe(true);
  const studyList = await page.locator('body').innerText();
  expect(studyList.match(/05-Jan-2024/g)?.length ?? 0).toBeGreaterThanOrEqual(1);
  expect(studyList).toMatch(/\bMR\b/);
  // Not another hospital's patient who has the same Patient ID (OHIF searches by PatientID alone).
  expect(studyList).not.toMatch(/STRANGER/);
  expect(patientSearches.length).toBeGreaterThan(0);
  expect(patientSearches).toEqual(patientSearches.map(() => [current.studyInstanceUid, prior.studyInstanceUid].sort()));

  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, 'viewer.png') });
  if (process.env.UPDATE_SCREENSHOTS === '1') {
    await page.screenshot({ path: path.join(REPO_ROOT, 'docs/viewer.png') });
  }
}, 240_000);

test('a second link, signed in already: the issuer answers without its form (single sign-on), and the viewer opens that study', async () => {
  const issuerPages: string[] = [];
  page.on('response', (response) => {
    if (response.request().isNavigationRequest() && response.url().startsWith(gateway.origin)) issuerPages.push(`${response.status()} ${new URL(response.url()).pathname}`);
  });
  await page.goto(`${node.origin}/viewer/viewer?StudyInstanceUIDs=${prior.studyInstanceUid}`);
  await page.waitForURL((url) => url.pathname === '/viewer/viewer' && url.searchParams.get('StudyInstanceUIDs') === prior.studyInstanceUid, { timeout: 60_000 });
  await page.waitForSelector('.cornerstone-viewport-element, [data-viewport-uid]', { timeout: 60_000 });
  // Through the issuer's authorize endpoint (OHIF signs in again on a full page load), never its form.
  expect(await page.locator('#password').count()).toBe(0);
  expect(issuerPages).toEqual(['303 /oidc/authorize']);
}, 120_000);

test('an uncompressed YBR_FULL_422 image (as ultrasound sends) is drawn in colour, as DICOMweb renders it: OHIF\'s image loader drew it black', async () => {
  const colour = await makeStudy([{ source: sample('SC_ybr_full_422_uncompressed.dcm'), instances: 1 }]);
  expect((await storescu(pipeline.dicomPort, colour.files)).code).toBe(0);
  const token = await gateway.token('user/ImagingStudy.rs');
  await eventually(async () => {
    const found = await node.get(`/studies?StudyInstanceUID=${colour.studyInstanceUid}`, token);
    return found.status === 200 && JSON.parse(found.body.toString()).length === 1 ? true : undefined;
  }, { timeoutMs: 60_000, what: 'the study in the DICOMweb index' });
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  await page.goto(`${node.origin}/viewer/viewer?StudyInstanceUIDs=${colour.studyInstanceUid}`);
  await page.waitForSelector('.cornerstone-viewport-element, [data-viewport-uid]', { timeout: 60_000 });
  const series = colour.series[0]!;
  const rendered = await node.get(`/studies/${colour.studyInstanceUid}/series/${series.seriesInstanceUid}/instances/${series.sopInstanceUids[0]}/rendered`, token, 'image/png');
  const expected = await sharp(rendered.body).removeAlpha().resize(64, 64, { fit: 'fill' }).raw().toBuffer();
  const drawn = await eventually(async () => {
    const image = await drawnImage('colour');
    const mean = image.reduce((sum, value) => sum + value, 0) / image.length;
    return mean > 40 ? image : undefined;
  }, { timeoutMs: 60_000, intervalMs: 1000, what: 'the colour bars to be drawn (a canvas that is not black)' });
  expect(correlation(drawn, expected)).toBeGreaterThan(0.8);
  expect(errors.filter((text) => /numberOfComponents|IMAGE_LOAD_ERROR/.test(text))).toEqual([]);
}, 180_000);

test('the summary API: token required, the access rule, scopes and consent applied, every answer audited; JSON gzip-compressed for a client that asks', async () => {
  const summaryUrl = (uid: string) => `${node.origin}/viewer-api/studies/${uid}/summary`;
  const since = new Date(Date.now() - 60_000).toISOString();
  const noToken = await getRaw(summaryUrl(current.studyInstanceUid));
  expect(noToken.status).toBe(401);
  expect(noToken.headers['www-authenticate']).toMatch(/^Bearer /);

  const reader = await gateway.token('user/ImagingStudy.rs user/Observation.rs');
  expect((await getRaw(summaryUrl(newUid()), { authorization: `Bearer ${reader}` })).status).toBe(404);
  // A token that may see the images but not read Observations: what the index says, no dose.
  const imagesOnly = await getRaw(summaryUrl(current.studyInstanceUid), { authorization: `Bearer ${await gateway.token('user/ImagingStudy.rs')}` });
  expect(imagesOnly.status).toBe(200);
  const facts = JSON.parse(imagesOnly.bytes.toString('utf8'));
  expect(facts.study.description).toBe(DESCRIPTION);
  expect(facts.dose).toBeUndefined();
  expect(facts.cumulative).toBeUndefined();
  // A token that may read another patient's Observations only: every study's facts, this patient's dose never.
  const otherPatients = await getRaw(summaryUrl(current.studyInstanceUid), { authorization: `Bearer ${await gateway.token('user/ImagingStudy.rs patient/Observation.rs', { patient: 'another-patient' })}` });
  expect(otherPatients.status).toBe(200);
  expect(JSON.parse(otherPatients.bytes.toString('utf8')).dose).toBeUndefined();
  expect(JSON.parse(otherPatients.bytes.toString('utf8')).cumulative).toBeUndefined();
  // The stranger of the same Patient ID has a record of their own, under their issuer's system.
  const own = (await patientsByIdentifier(current.patientId)).find((patient) => patient.identifier?.some((identifier) => identifier.system === 'https://imagingfacade.org/fhir/sid/patient-id'));
  const ownPatient = await getRaw(summaryUrl(current.studyInstanceUid), { authorization: `Bearer ${await gateway.token('user/ImagingStudy.rs patient/Observation.rs', { patient: own!.id! })}` });
  expect(JSON.parse(ownPatient.bytes.toString('utf8')).display.dose).toContain(`DLP ${ctReport.dlpTotal} mGy.cm`);

  const requestId = newUid();
  const summary = await getRaw(summaryUrl(current.studyInstanceUid), { authorization: `Bearer ${reader}`, 'x-request-id': requestId, 'accept-encoding': 'gzip' });
  expect(summary.status).toBe(200);
  expect(summary.headers['cache-control']).toBe('no-store');
  expect(summary.headers.vary).toMatch(/accept-encoding/i);
  const body = summary.headers['content-encoding'] === 'gzip' ? gunzipSync(summary.bytes) : summary.bytes;
  expect(JSON.parse(body.toString('utf8')).display.dose).toContain(`DLP ${ctReport.dlpTotal} mGy.cm`);
  const audit = await eventually(async () => {
    const events = await search<AuditEvent>(`AuditEvent?date=ge${since}&_count=500&_sort=-date`);
    return events.find((event) => event.entity?.some((entity) => entity.what?.identifier?.value === requestId));
  }, { timeoutMs: 30_000, what: 'the AuditEvent of the summary request' });
  expect(audit.outcome).toBe('0');
  expect(JSON.stringify(audit.entity)).toContain(current.studyInstanceUid);

  // DICOMweb's JSON (metadata, QIDO-RS) to a plain HTTP client that accepts gzip: gzip, the same JSON as uncompressed.
  for (const resource of [`/studies/${current.studyInstanceUid}/metadata`, `/studies/${current.studyInstanceUid}/instances?includefield=all`]) {
    const plain = await getRaw(`${node.base}${resource}`, { authorization: `Bearer ${reader}`, accept: 'application/dicom+json' });
    const zipped = await getRaw(`${node.base}${resource}`, { authorization: `Bearer ${reader}`, accept: 'application/dicom+json', 'accept-encoding': 'gzip' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.headers.vary).toMatch(/accept-encoding/i);
    expect(zipped.bytes.length).toBeLessThan(plain.bytes.length);
    expect(JSON.parse(gunzipSync(zipped.bytes).toString('utf8'))).toEqual(JSON.parse(plain.bytes.toString('utf8')));
  }
  // The images themselves: never compressed on the way.
  const retrieved = await getRaw(`${node.base}/studies/${current.studyInstanceUid}`, { authorization: `Bearer ${reader}`, accept: 'multipart/related; type="application/dicom"; transfer-syntax=*', 'accept-encoding': 'gzip, br' });
  expect(retrieved.status).toBe(200);
  expect(retrieved.headers['content-encoding']).toBeUndefined();

  // Once the patient refuses sharing at the desk, the summary is 404, as for a study that does not exist.
  const decision = await fetch(`http://127.0.0.1:${pipeline.consentPort}/api/decisions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from('desk:desk').toString('base64')}` },
    body: JSON.stringify({ patient: { system: 'https://imagingfacade.org/fhir/sid/patient-id', value: current.patientId }, decision: 'deny' }),
  });
  expect(decision.status).toBe(201);
  await eventually(async () => ((await getRaw(summaryUrl(current.studyInstanceUid), { authorization: `Bearer ${reader}` })).status === 404 ? true : undefined), { timeoutMs: 5000, what: 'the refusal to reach the summary API' });
}, 120_000);
