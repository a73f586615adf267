import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AuditEvent, Observation } from '@medplum/fhirtypes';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startGateway, type Gateway } from '../../services/fhir-gateway/src/test-support/harness';
import { storescu } from '../support/dcmtk';
import { startDicomweb, type DicomwebNode } from '../support/dicomweb';
import { read, search } from '../support/fhir';
import { freePort } from '../support/ports';
import { startPipeline, type Pipeline } from '../support/pipeline';
import { SYSTEM_PYTHON } from '../support/sample-files';
import { REPO_ROOT } from '../support/service-process';
import { newUid } from '../support/uids';
import { eventually } from '../support/wait';

/**
 * Issue 14 §3: the radiation protection officer's dashboard, end to end. Generated RDSRs (CT,
 * projection and mammography, PS3.16 templates) are sent with storescu through dicom-ingest → Kafka →
 * imaging-mapper → HAPI FHIR; the dicomweb service's /dose page is opened in Debian's Chromium,
 * signed in as the dose officer (authorization code + PKCE at the gateway's issuer), and checked:
 * the charts are drawn, the exams above the (local, test) reference levels are listed and only
 * those (CT by CTDIvol and DLP, mammography by the AGD of each view and of each breast, never a sum
 * over both breasts); the CSV export agrees with the Observations in HAPI and with the reports.
 */

const GENERATE_RDSR = path.join(__dirname, '..', 'fixtures', 'generate-rdsr.py');
const ARTIFACTS = path.join(REPO_ROOT, 'test/artifacts');
const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
// A year of its own per run (the FHIR server is shared): only this run's exams, and leftovers of an earlier run of this test, fall in it.
const YEAR = 1990 + (Math.floor(Date.now() / 1000) % 25);
const LEVELS = { ctdivol: 15, dlp: 900, dlpAcquisition: 600, dap: 6000, agdView: 2, agdBreast: 4.5 };
const LOCAL_TABLE = {
  name: 'Local reference levels (e2e test)',
  levels: [
    { id: 'ct-thorax', label: 'CT thorax', modalities: ['CT'], match: { targetRegions: ['51185008'] }, levels: { ctdivol: LEVELS.ctdivol, dlp: LEVELS.dlp, dlp_acquisition: LEVELS.dlpAcquisition }, source: 'e2e test' },
    { id: 'coronary', label: 'Coronary angiography', modalities: ['XA', 'XR'], match: { protocol: 'coronary' }, levels: { dap: LEVELS.dap }, source: 'e2e test' },
    { id: 'mammography', label: 'Mammography', modalities: ['MG'], levels: { agd_view: LEVELS.agdView, agd: LEVELS.agdBreast }, source: 'e2e test' },
  ],
};

type Kind = 'ct' | 'projection' | 'mammo';
interface Report {
  studyInstanceUid: string;
  kind: Kind;
  dlpTotal?: number;
  events: Array<{ ctdivol?: number; dlp?: number; dapGym2?: number; agd?: number; side?: string }>;
  totals?: { dap: number };
  agdPerBreast?: Record<string, number>;
}

let gateway: Gateway;
let pipeline: Pipeline;
let node: DicomwebNode;
let context: BrowserContext;
let page: Page;
const reports: Report[] = [];

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => (error ? reject(new Error(`${command} failed: ${stderr || error.message}`)) : resolve(stdout)));
  });
}

/** What the test expects of an exam, read from the generator's own account of the report. */
function expected(report: Report): { ctdivol?: number; dlp?: number; dlpAcquisition?: number; dap?: number; agdView?: number; agd?: number; above: boolean } {
  if (report.kind === 'mammo') {
    // Per view: the most exposed view; per breast: the larger breast's accumulated dose, never the sum of both.
    const agdView = Math.max(...report.events.map((event) => event.agd ?? 0));
    const agd = Math.max(...Object.values(report.agdPerBreast ?? {}));
    return { agdView, agd, above: agdView > LEVELS.agdView || agd > LEVELS.agdBreast };
  }
  if (report.kind === 'ct') {
    const ctdivol = Math.max(...report.events.map((event) => event.ctdivol ?? 0));
    const dlp = report.dlpTotal ?? 0;
    const dlpAcquisition = Math.max(...report.events.map((event) => event.dlp ?? 0));
    return { ctdivol, dlp, dlpAcquisition, above: ctdivol > LEVELS.ctdivol || dlp > LEVELS.dlp || dlpAcquisition > LEVELS.dlpAcquisition };
  }
  // Gy.m2 → mGy.cm2: ×10^7.
  const dap = Number(((report.totals?.dap ?? 0) * 1e7).toPrecision(12));
  return { dap, above: dap > LEVELS.dap };
}

beforeAll(async () => {
  const port = await freePort();
  gateway = await startGateway({ DEV_ISSUER_REDIRECT_URIS: `http://127.0.0.1:${port}/dose/callback` });
  pipeline = await startPipeline();
  const levelsFile = path.join(mkdtempSync(path.join(tmpdir(), 'dose-levels-')), 'levels.json');
  writeFileSync(levelsFile, JSON.stringify(LOCAL_TABLE));
  node = await startDicomweb({ storageDir: pipeline.storageDir, topicPrefix: pipeline.topicPrefix, gatewayOrigin: gateway.origin, port, env: { DOSE_REFERENCE_LEVELS_FILE: levelsFile } });

  // Ten exams over four months: CT (three irradiation events each; every one above its DLP level), projection (fluoroscopy
  // and acquisitions) and mammography (four views: L CC, L MLO, R CC, R MLO). Seed 31: every view and breast below, though
  // the two breasts together are above the per-breast level; seed 32: one view above (2.06 mGy), each breast below.
  const dir = mkdtempSync(path.join(tmpdir(), 'dose-rdsr-'));
  const plan: Array<{ kind: Kind; month: number; seed: number }> = [
    { kind: 'ct', month: 1, seed: 11 }, { kind: 'ct', month: 1, seed: 12 }, { kind: 'ct', month: 2, seed: 13 }, { kind: 'ct', month: 3, seed: 14 },
    { kind: 'ct', month: 4, seed: 15 }, { kind: 'projection', month: 2, seed: 21 }, { kind: 'projection', month: 3, seed: 22 }, { kind: 'projection', month: 4, seed: 23 },
    { kind: 'mammo', month: 2, seed: 31 }, { kind: 'mammo', month: 4, seed: 32 },
  ];
  const files: string[] = [];
  for (const [index, item] of plan.entries()) {
    const out = path.join(dir, `${index}.dcm`);
    const args = [GENERATE_RDSR, '--kind', item.kind, '--out', out, '--events', item.kind === 'mammo' ? '4' : '3', '--seed', String(item.seed), '--study-uid', newUid()];
    args.push('--patient-id', `DOSE-${index}`, '--accession', `DOSE-${index}`, '--study-date', `${YEAR}${String(item.month).padStart(2, '0')}1${index}`, '--study-time', '101500');
    reports.push({ ...(JSON.parse(await run(SYSTEM_PYTHON, args)) as Report), kind: item.kind });
    files.push(out);
  }
  expect((await storescu(pipeline.dicomPort, files)).code).toBe(0);
  // The FHIR server has every exam's dose summary.
  await eventually(
    async () => {
      const found = await search<Observation>(`Observation?code=http://loinc.org|73569-6&date=ge${YEAR}-01-01&date=lt${YEAR + 1}-01-01&_count=500`);
      const uids = new Set(found.map((observation) => observation.partOf?.[0]?.identifier?.value?.replace('urn:oid:', '')));
      return reports.every((report) => uids.has(report.studyInstanceUid)) ? true : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 1000, what: `the dose summaries of the ${reports.length} exams in HAPI` },
  );

  context = await chromium.launchPersistentContext(mkdtempSync(path.join(tmpdir(), 'dose-chromium-')), {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  page = context.pages()[0] ?? (await context.newPage());
}, 300_000);

afterAll(async () => {
  await context?.close();
  await node?.stop();
  await pipeline?.stop();
  await gateway?.stop();
});

/** The AuditEvent the node wrote to HAPI for one request, found by its X-Request-Id. */
async function auditOf(requestId: string, since: string): Promise<AuditEvent> {
  return eventually(
    async () => {
      const events = await search<AuditEvent>(`AuditEvent?date=ge${since}&_count=500&_sort=-date`);
      return events.find((event) => event.entity?.some((entity) => entity.what?.identifier?.value === requestId));
    },
    { timeoutMs: 30_000, what: `the AuditEvent of request ${requestId}` },
  );
}

test('a clinician\'s token is refused the dashboard API (403 OperationOutcome, audited); no token is a 401; the officer\'s access is audited with its studies', async () => {
  const since = new Date(Date.now() - 60_000).toISOString();
  const clinician = await gateway.token('openid user/ImagingStudy.rs user/Observation.rs');
  const refusedId = newUid();
  const refused = await fetch(`${node.origin}/dose/api/summary`, { headers: { authorization: `Bearer ${clinician}`, 'x-request-id': refusedId } });
  expect(refused.status).toBe(403);
  expect(refused.headers.get('cache-control')).toBe('no-store');
  expect(((await refused.json()) as { resourceType: string }).resourceType).toBe('OperationOutcome');
  expect((await fetch(`${node.origin}/dose/api/summary`)).status).toBe(401);

  const officer = await gateway.token('openid dose-officer user/Observation.rs');
  const readId = newUid();
  const read = await fetch(`${node.origin}/dose/api/export.csv?from=${YEAR}-01-01&to=${YEAR}-12-31`, { headers: { authorization: `Bearer ${officer}`, 'x-request-id': readId } });
  expect(read.status).toBe(200);
  expect(read.headers.get('cache-control')).toBe('no-store');

  const refusal = await auditOf(refusedId, since);
  expect([refusal.outcome, refusal.outcomeDesc]).toEqual(['4', expect.stringContaining('dose-officer')]);
  const access = await auditOf(readId, since);
  expect(access.outcome).toBe('0');
  // The export names its studies and their patients (BALP PatientQuery): "who saw patient X's data" finds it.
  expect(access.meta?.profile?.[0]).toMatch(/BasicAudit\.PatientQuery$/);
  const studies = access.entity?.filter((entity) => entity.what?.type === 'ImagingStudy').map((entity) => entity.name);
  for (const report of reports) expect(studies).toContain(report.studyInstanceUid);
  expect(access.entity?.some((entity) => entity.role?.code === '1')).toBe(true);
});

test('the dose officer signs in; the charts are drawn, the exams above their level are flagged; the CSV agrees with HAPI and the reports', async () => {
  await page.goto(`${node.origin}/dose/?from=${YEAR}-01-01&to=${YEAR}-12-31&bucket=month`);
  await page.waitForSelector('#user', { timeout: 60_000 });
  expect(new URL(page.url()).origin).toBe(gateway.origin);
  await page.fill('#user', 'dose-officer');
  await page.fill('#password', 'dose-officer');
  await page.click('button[type=submit]');
  await page.waitForSelector('body[data-state=ready]', { timeout: 60_000 });
  expect(new URL(page.url()).pathname).toBe('/dose/');

  // Every chart has drawn something (a canvas with more than a few painted pixels).
  const painted = await page.$$eval('canvas', (canvases) =>
    canvases.map((canvas) => {
      const data = (canvas as HTMLCanvasElement).getContext('2d')?.getImageData(0, 0, (canvas as HTMLCanvasElement).width, (canvas as HTMLCanvasElement).height).data ?? new Uint8ClampedArray();
      let count = 0;
      for (let i = 3; i < data.length; i += 4) if ((data[i] as number) > 0) count += 1;
      return count;
    }),
  );
  // Bars for CTDIvol, DLP, DLP per acquisition, AGD per view, AGD per breast and DAP; trends for DLP, AGD per breast and DAP.
  expect(painted).toHaveLength(9);
  for (const count of painted) expect(count).toBeGreaterThan(2000);

  // The flagged table lists exactly this run's exams that are above a level.
  const flaggedText = await page.locator('#flagged tbody').innerText();
  const mine = reports.map((report) => ({ report, ...expected(report) }));
  expect(mine.some((exam) => exam.above)).toBe(true);
  expect(mine.some((exam) => !exam.above)).toBe(true);
  for (const exam of mine) {
    expect([exam.report.studyInstanceUid, flaggedText.includes(exam.report.studyInstanceUid)]).toEqual([exam.report.studyInstanceUid, exam.above]);
  }
  // A CT above its level and a mammography above on one view are flagged, each naming the quantity above.
  const rowOf = async (report: Report) => page.locator('#flagged tbody tr', { hasText: report.studyInstanceUid }).innerText();
  const ctAbove = mine.find((exam) => exam.report.kind === 'ct' && exam.above);
  const mammoAbove = mine.find((exam) => exam.report.kind === 'mammo' && exam.above);
  const mammoBelow = mine.find((exam) => exam.report.kind === 'mammo' && !exam.above);
  if (!ctAbove || !mammoAbove || !mammoBelow) throw new Error('the plan lacks a CT above, a mammography above or one below its level');
  expect(await rowOf(ctAbove.report)).toContain(`DLP ${ctAbove.dlp} > ${LEVELS.dlp} mGy.cm`);
  const mammoRow = await rowOf(mammoAbove.report);
  expect(mammoRow).toContain(`AGD per view ${mammoAbove.agdView} > ${LEVELS.agdView} mGy`);
  expect(mammoRow).not.toContain('AGD per breast');
  expect(await page.locator('#bars').innerText()).toContain('CTDIvol');
  expect(await page.locator('#bars').innerText()).toContain('AGD per view');
  const distributions = await page.locator('#distributions tbody').innerText();
  expect(distributions).toContain('CT thorax');
  expect(distributions).toContain('Coronary angiography');
  expect(distributions).toContain('Mammography');

  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, 'dose-dashboard.png'), fullPage: true });
  if (process.env.UPDATE_SCREENSHOTS === '1') {
    await page.screenshot({ path: path.join(REPO_ROOT, 'docs/dose-dashboard.png'), fullPage: true });
  }

  // The export, as the officer downloads it.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
  const csv = readFileSync(await download.path(), 'utf8');
  const [header, ...rows] = csv.trim().split('\r\n');
  const columns = (header as string).split(',');
  const records = rows.map((row) => Object.fromEntries(row.split(',').map((value, index) => [columns[index], value])) as Record<string, string>);
  const byStudy = new Map(records.map((record) => [record.study_instance_uid, record]));

  // Against HAPI: one row per dose summary of the period, each with the summary's own totals.
  const summaries = await search<Observation>(`Observation?code=http://loinc.org|73569-6&date=ge${YEAR}-01-01&date=lt${YEAR + 1}-01-01&_count=500`);
  expect(records).toHaveLength(summaries.length);
  for (const summary of summaries) {
    const uid = summary.partOf?.[0]?.identifier?.value?.replace('urn:oid:', '') as string;
    const record = byStudy.get(uid);
    expect(record).toBeDefined();
    const total = (code: string) => summary.component?.find((component) => component.code.coding?.some((coding) => coding.system === DCM && coding.code === code))?.valueQuantity?.value;
    expect(record?.['dlp_mGy.cm']).toBe(total('113813') === undefined ? '' : String(total('113813')));
    expect(record?.['dap_mGy.cm2']).toBe(total('113722') === undefined ? '' : String(total('113722')));
    expect(record?.date).toBe(summary.effectiveDateTime?.slice(0, 10));
    // Per acquisition (CT DLP) and per view (mammography AGD): the largest value of the summary's event Observations.
    const events = await Promise.all((summary.hasMember ?? []).map((member) => read<Observation>(member.reference as string)));
    const largestOfEvents = (code: string): string => {
      const values = events.flatMap((event) => (event.component ?? []).filter((component) => component.code.coding?.some((coding) => coding.system === DCM && coding.code === code)).map((component) => component.valueQuantity?.value as number));
      return values.length === 0 ? '' : String(Math.max(...values));
    };
    expect(record?.['dlp_acquisition_mGy.cm']).toBe(largestOfEvents('113838'));
    expect(record?.agd_view_mGy).toBe(largestOfEvents('111631'));
    // Mammography per breast: the larger of the summary's accumulated AGDs (one per breast), never their sum.
    const breasts = (summary.component ?? []).filter((component) => component.code.coding?.some((coding) => coding.system === DCM && coding.code === '111637'));
    expect(record?.agd_mGy).toBe(breasts.length === 0 ? '' : String(Math.max(...breasts.map((component) => component.valueQuantity?.value as number))));
  }
  // Against the reports themselves (the generator's account of what it wrote).
  for (const exam of mine) {
    const record = byStudy.get(exam.report.studyInstanceUid) as Record<string, string>;
    expect(record.above_drl).toBe(exam.above ? 'yes' : 'no');
    if (exam.report.kind === 'mammo') {
      expect([record.modality, record.device, record.reference_level, Number(record.agd_view_mGy), Number(record.agd_mGy), record.drl_agd_view_mGy, record.drl_agd_mGy]).toEqual(['MG', 'MG01', 'Mammography', exam.agdView, exam.agd, '2', '4.5']);
      expect([record.compared_quantities, record.above_quantities]).toEqual(['agd_view agd', exam.above ? 'agd_view' : '']);
    } else if (exam.report.kind === 'ct') {
      expect([record.modality, Number(record.ctdivol_mGy), Number(record['dlp_mGy.cm']), Number(record['dlp_acquisition_mGy.cm'])]).toEqual(['CT', exam.ctdivol, exam.dlp, exam.dlpAcquisition]);
      expect([record.drl_ctdivol_mGy, record['drl_dlp_mGy.cm'], record['drl_dlp_acquisition_mGy.cm']]).toEqual(['15', '900', '600']);
      expect(record.device).toBe('CT01');
      expect(record.reference_level).toBe('CT thorax');
      expect(record.compared_quantities).toBe('ctdivol dlp dlp_acquisition');
    } else {
      expect(Number(record['dap_mGy.cm2'])).toBeCloseTo(exam.dap as number, 3);
      expect([record.reference_level, record['drl_dap_mGy.cm2']]).toEqual(['Coronary angiography', '6000']);
    }
  }
}, 240_000);
