import express from 'express';
import type { AuditEvent } from '@medplum/fhirtypes';
import { parseScopes, StudyAccess, type Principal } from '@imaging-facade/access';
import { createLogger } from '@imaging-facade/service-kit';
import { StudyIndexDb } from '../index/study-index-db';
import { serveOnLoopback } from '../../../../test/support/http-from';
import { eventually } from '../../../../test/support/wait';
import { doseApiRoutes } from './api-routes';
import type { ReferenceTable } from './reference-table';

const logger = createLogger('dose-test', 'silent');
const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const TABLE: ReferenceTable = { name: 'test', levels: [{ id: 'ct', label: 'CT thorax', modalities: ['CT'], match: { targetRegions: [] }, levels: { dlp: 400 }, source: 'test' }] };

const summary = (id: string, uid: string, dlp: number) => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '73569-6' }] },
  partOf: [{ reference: 'ImagingStudy/s', identifier: { system: 'urn:dicom:uid', value: `urn:oid:${uid}` } }],
  effectiveDateTime: '2024-01-05T10:00:00Z',
  component: [{ code: { coding: [{ system: DCM, code: '113813' }] }, valueQuantity: { value: dlp, unit: 'mGy.cm', code: 'mGy.cm' } }],
});

/** A token per scope string: the fake verifier answers the principal its scopes name. */
function principalOf(scope: string): Principal {
  return { issuer: 'https://issuer.example', subject: 'someone', clientId: 'imaging-viewer', scopes: parseScopes(scope), grantedScopes: scope.split(' ') };
}

/** The fake verifier's token for a scope string (base64url: a bearer token's alphabet). */
const tokenFor = (scope: string): string => Buffer.from(scope).toString('base64url');

const PATIENTS = 'urn:oid:1.2.250.1.71.4.2.1';

/** dicomweb's index with these studies: `patient` undefined is a study indexed without a patient identifier. */
function indexWith(studies: Array<{ uid: string; patient: string | undefined; accession?: string }>): StudyIndexDb {
  const db = new StudyIndexDb(':memory:');
  for (const study of studies) {
    db.replaceStudy({
      study: {
        studyUid: study.uid,
        patientSystem: study.patient === undefined ? null : PATIENTS,
        patientValue: study.patient ?? null,
        patientId: study.patient ?? null,
        patientNameKey: null,
        studyDate: '20240105',
        accession: study.accession ?? null,
        modalities: 'CT',
        numberOfSeries: 1,
        numberOfInstances: 1,
        attributes: '{}',
      },
      series: [],
      instances: [],
    });
  }
  return db;
}

/** libs/access's rule over consent decisions: patients who refused everything, and single studies refused (by UID or accession). */
const accessWith = (refused: { patients?: string[]; studies?: string[] }): StudyAccess =>
  new StudyAccess({
    rules: {
      mayWithhold: () => true,
      patientSharing: (ids) => (ids.some((id) => refused.patients?.includes(id.value)) ? 'withhold' : 'share'),
      recordSharing: (ids) => (ids.some((id) => refused.patients?.includes(id.value)) ? 'withhold' : 'share'),
      studySharing: (ids, study) =>
        ids.some((id) => refused.patients?.includes(id.value)) || refused.studies?.some((key) => key === study.studyInstanceUid || key === study.accessionNumber) ? 'withhold' : 'share',
    },
    lookups: { patientIdentifiers: async () => [], study: async () => undefined },
  }, 'gp');

const SHARED_INDEX = [
  { uid: '2.25.1', patient: 'P-1' },
  { uid: '2.25.2', patient: 'P-2' },
];

async function serve(events: AuditEvent[], consent: { source?: unknown[]; index?: StudyIndexDb; access?: StudyAccess } = {}) {
  const app = express();
  app.set('query parser', 'simple');
  app.use(
    '/dose/api',
    doseApiRoutes({
      verifier: { verify: async (token) => principalOf(Buffer.from(token, 'base64url').toString()) },
      failedTokens: undefined,
      consentView: { isReady: () => true },
      index: { isReady: () => true },
      publicBaseUrl: 'https://node.example/dicomweb',
      audit: { enqueue: (event) => events.push(event) },
      logger,
      roleScope: 'dose-officer',
      source: { resources: async () => (consent.source ?? [summary('1', '2.25.1', 300), summary('2', '2.25.2', 900)]) as Array<{ resourceType: string }> },
      studies: consent.index ?? indexWith(SHARED_INDEX),
      access: consent.access ?? accessWith({}),
      table: TABLE,
      maxFlaggedListed: 10,
    }),
  );
  return serveOnLoopback(app);
}

describe('the dashboard API: who may read it', () => {
  test.each([
    ['no token', undefined, 401],
    ['a clinician (user/*.rs, no dose-officer scope)', 'openid user/*.rs', 403],
    ['the role scope without Observation', 'dose-officer user/ImagingStudy.rs', 403],
    ['the role scope with a patient\'s Observations only', 'dose-officer patient/Observation.rs', 403],
    ['the role scope with search but no read', 'dose-officer user/Observation.s', 403],
    ['the dose officer', 'openid dose-officer user/Observation.rs', 200],
    ['a token that also carries the GP role (it listed exams not yet reported)', 'openid gp dose-officer user/Observation.rs', 403],
  ])('%s (%s) → %d, never cached, audited', async (_name, scope, status) => {
    const events: AuditEvent[] = [];
    const server = await serve(events);
    try {
      const response = await fetch(server.url('/dose/api/summary?from=2024-01-01&to=2024-01-31'), { headers: scope ? { authorization: `Bearer ${tokenFor(scope)}` } : {} });
      expect(response.status).toBe(status);
      expect(response.headers.get('cache-control')).toBe('no-store');
      if (status === 403) {
        const outcome = (await response.json()) as { resourceType: string; issue: Array<{ code: string }> };
        expect(outcome.resourceType).toBe('OperationOutcome');
        expect(outcome.issue[0]?.code).toBe('forbidden');
        expect(response.headers.get('www-authenticate')).toContain('insufficient_scope');
      }
      const [event] = await eventually(async () => (events.length === 1 ? events : undefined), { what: 'one AuditEvent', timeoutMs: 5000 });
      expect(event?.outcome).toBe(status === 200 ? '0' : '4');
      // An answer that names studies names their patients (BALP PatientQuery): "who saw patient X's data" finds it.
      expect(event?.meta?.profile?.[0]).toMatch(status === 200 ? /BasicAudit\.PatientQuery$/ : /BasicAudit\.Query$/);
      if (status === 200) expect(JSON.stringify(event?.entity)).toContain('"type":{"system":"http://terminology.hl7.org/CodeSystem/audit-entity-type","code":"1"');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    } finally {
      await server.close();
    }
  });
});

describe('the dashboard API: what it answers', () => {
  const officer = tokenFor('openid dose-officer user/Observation.rs');

  test('the summary: counts, distributions, the flagged exam; its AuditEvent names that study', async () => {
    const events: AuditEvent[] = [];
    const server = await serve(events);
    try {
      const response = await fetch(server.url('/dose/api/summary?from=2024-01-01&to=2024-01-31&bucket=week'), { headers: { authorization: `Bearer ${officer}` } });
      const body = (await response.json()) as { exams: number; flaggedCount: number; flagged: Array<{ studyUid: string }>; period: { bucket: string }; trends: Array<{ points: Array<{ period: string }> }> };
      expect(body).toMatchObject({ exams: 2, flaggedCount: 1, period: { bucket: 'week' } });
      expect(body.flagged.map((exam) => exam.studyUid)).toEqual(['2.25.2']);
      expect(body.trends[0]?.points.map((point) => point.period)).toEqual(['2024-01-01']);
      const [event] = await eventually(async () => (events.length === 1 ? events : undefined), { what: 'one AuditEvent', timeoutMs: 5000 });
      expect(event?.entity?.filter((entity) => entity.what?.type === 'ImagingStudy').map((entity) => entity.name)).toEqual(['2.25.2']);
    } finally {
      await server.close();
    }
  });

  test('the CSV: an attachment, one row per exam; a bad period is a 400 OperationOutcome', async () => {
    const server = await serve([]);
    try {
      const response = await fetch(server.url('/dose/api/export.csv?from=2024-01-01&to=2024-01-31'), { headers: { authorization: `Bearer ${officer}` } });
      expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      expect(response.headers.get('content-disposition')).toBe('attachment; filename="dose-2024-01-01_2024-01-31.csv"');
      const lines = (await response.text()).trim().split('\r\n');
      expect(lines).toHaveLength(3);
      expect(lines[2]).toMatch(/^2024-01-05,2\.25\.2,CT,unknown device,unspecified,CT thorax,ct,,900,.*,yes,dlp$/);
      const bad = await fetch(server.url('/dose/api/export.csv?from=2024-02-30'), { headers: { authorization: `Bearer ${officer}` } });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { resourceType: string }).resourceType).toBe('OperationOutcome');
    } finally {
      await server.close();
    }
  });
});

describe('the dashboard API: consent, by DICOMweb\'s rule over its own index', () => {
  const officer = tokenFor('openid dose-officer user/Observation.rs');

  test('an exam whose patient refused, whose study alone was refused (by accession), that is not in the index, or whose study has no patient identifier there is neither exported, listed nor counted', async () => {
    const index = indexWith([
      ...SHARED_INDEX,
      { uid: '2.25.3', patient: 'P-REFUSED' },
      { uid: '2.25.4', patient: 'P-1', accession: 'ACC-REFUSED' },
      { uid: '2.25.6', patient: undefined },
    ]);
    const source = [
      summary('1', '2.25.1', 300),
      summary('2', '2.25.2', 900),
      summary('3', '2.25.3', 990),
      summary('4', '2.25.4', 980),
      summary('5', '2.25.5', 970),
      summary('6', '2.25.6', 960),
    ];
    const events: AuditEvent[] = [];
    const server = await serve(events, { source, index, access: accessWith({ patients: ['P-REFUSED'], studies: ['ACC-REFUSED'] }) });
    try {
      const csv = await fetch(server.url('/dose/api/export.csv?from=2024-01-01&to=2024-01-31'), { headers: { authorization: `Bearer ${officer}` } });
      expect(csv.status).toBe(200);
      const rows = (await csv.text()).trim().split('\r\n').slice(1);
      expect(rows.map((row) => row.split(',')[1])).toEqual(['2.25.1', '2.25.2']);

      const response = await fetch(server.url('/dose/api/summary?from=2024-01-01&to=2024-01-31'), { headers: { authorization: `Bearer ${officer}` } });
      const body = (await response.json()) as { exams: number; flaggedCount: number; flagged: Array<{ studyUid: string }>; distributions: Array<{ count: number; quantities: Array<{ quantity: string; median: number }> }>; trends: Array<{ points: Array<{ count: number }> }> };
      // The four left out are counted, never shown: the figures say they are not the period's whole.
      expect(body).toMatchObject({ exams: 2, notShown: 4, flaggedCount: 1 });
      expect(body.flagged.map((exam) => exam.studyUid)).toEqual(['2.25.2']);
      // The aggregates too: nothing of the left-out exams in the distributions or the trends.
      expect(body.distributions.reduce((sum, group) => sum + group.count, 0)).toBe(2);
      expect(body.distributions[0]?.quantities.find((quantity) => quantity.quantity === 'dlp')?.median).toBe(600);
      expect(body.trends.flatMap((trend) => trend.points).reduce((sum, point) => sum + point.count, 0)).toBe(2);

      const audited = await eventually(async () => (events.length === 2 ? events : undefined), { what: 'two AuditEvents', timeoutMs: 5000 });
      const named = audited.flatMap((event) => event.entity?.filter((entity) => entity.what?.type === 'ImagingStudy').map((entity) => entity.name) ?? []);
      expect(named.filter((uid) => !['2.25.1', '2.25.2'].includes(uid ?? ''))).toEqual([]);
    } finally {
      await server.close();
      index.close();
    }
  });
});
