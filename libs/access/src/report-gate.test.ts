import { VALIDATED_REPORT_URL } from '@imaging-facade/fhir';
import type { AnyResource } from './compartment';
import type { ConsentLookups, ConsentRules } from './consent';
import { reportAllows, waitsForReport, type ReportGate } from './report-gate';
import { parseScopes } from './scopes';
import { filterSearchBundle } from './visibility';

const REPORT = { url: VALIDATED_REPORT_URL, valueBoolean: true };
const study = (id: string, reported: boolean): AnyResource => ({
  resourceType: 'ImagingStudy',
  id,
  subject: { reference: 'Patient/p1' },
  series: [{ uid: '2.25.1', instance: [{ uid: '2.25.1.1', ...(reported ? { extension: [REPORT] } : {}) }] }],
});
const STORED: Record<string, boolean> = { reported: true, draft: false };
const gate = (): ReportGate & { asked: string[] } => {
  const asked: string[] = [];
  return { roleScope: 'gp', asked, studyReported: async (id) => (asked.push(id), STORED[id] === true) };
};

describe('waitsForReport', () => {
  test.each([
    ['gp user/ImagingStudy.rs', 'gp', true],
    ['user/ImagingStudy.rs', 'gp', false],
    ['gpx user/ImagingStudy.rs', 'gp', false],
    ['gp user/ImagingStudy.rs', undefined, false],
  ])('a token granted "%s", role scope %s: %s', (granted, roleScope, expected) => {
    expect(waitsForReport({ grantedScopes: granted.split(' ') }, { roleScope })).toBe(expected);
  });
});

describe('reportAllows: what a GP sees', () => {
  test.each<[string, AnyResource, boolean]>([
    ['a study listing a validated report', study('reported', true), true],
    ['a study listing none, none stored either', study('draft', false), false],
    ['a study narrowed by _elements (no series), reported as stored', { resourceType: 'ImagingStudy', id: 'reported', subject: { reference: 'Patient/p1' } }, true],
    ['a study narrowed by _elements, not reported as stored', { resourceType: 'ImagingStudy', id: 'draft', subject: { reference: 'Patient/p1' } }, false],
    ['a study with an extension saying false', { ...study('x', false), series: [{ uid: '1', instance: [{ uid: '1.1', extension: [{ url: VALIDATED_REPORT_URL, valueBoolean: false }] }] }] }, false],
    ['the manifest of a reported study', { resourceType: 'DocumentReference', id: 'm', context: { related: [{ reference: 'ImagingStudy/reported' }] } }, true],
    ['the manifest of a study not reported', { resourceType: 'DocumentReference', id: 'm', context: { related: [{ reference: 'ImagingStudy/draft' }] } }, false],
    ['a dose Observation of a study not reported', { resourceType: 'Observation', id: 'o', partOf: [{ reference: 'ImagingStudy/draft' }] }, false],
    ['a dose Observation of a reported study', { resourceType: 'Observation', id: 'o', partOf: [{ reference: 'ImagingStudy/reported' }] }, true],
    ['a resource naming a study by UID alone (cannot be checked)', { resourceType: 'Observation', id: 'o', partOf: [{ identifier: { system: 'urn:dicom:uid', value: 'urn:oid:2.25.7' } }] }, false],
    ['a dose Observation narrowed to no study link (type-qualified _elements on an include)', { resourceType: 'Observation', id: 'o', subject: { reference: 'Patient/p1' }, component: [] }, false],
    ['a manifest narrowed to no study link', { resourceType: 'DocumentReference', id: 'm', content: [] }, false],
    ['the patient\'s cumulative dose (it counts the studies not reported)', { resourceType: 'Observation', id: 'c', derivedFrom: [{ type: 'Observation', identifier: { system: 'urn:dicom:uid', value: 'urn:oid:2.25.8' } }] }, false],
    ['a Patient', { resourceType: 'Patient', id: 'p1' }, true],
    ['an Endpoint', { resourceType: 'Endpoint', id: 'e' }, true],
  ])('%s: %s', async (_situation, resource, expected) => {
    expect(await reportAllows([resource], gate())).toEqual([expected]);
  });

  test('looks each study up once per answer', async () => {
    const g = gate();
    const manifest = (id: string): AnyResource => ({ resourceType: 'DocumentReference', id, context: { related: [{ reference: 'ImagingStudy/draft' }] } });
    await reportAllows([manifest('a'), manifest('b'), study('draft', false)], g);
    expect(g.asked).toEqual(['draft']);
  });
});

describe('a search answer for a GP', () => {
  const rules: ConsentRules = { mayWithhold: () => false, patientSharing: () => 'share', recordSharing: () => 'share', studySharing: () => 'share' };
  const lookups: ConsentLookups = { patientIdentifiers: async () => [{ system: 'urn:oid:1', value: '1' }], study: async () => undefined };
  const bundle = () => ({
    resourceType: 'Bundle',
    total: 2,
    entry: [{ resource: study('reported', true), search: { mode: 'match' } }, { resource: study('draft', false), search: { mode: 'match' } }],
  });

  test('keeps the reported studies and gives no total (it would count the others)', async () => {
    const gp = { scopes: parseScopes('user/ImagingStudy.rs'), grantedScopes: ['gp', 'user/ImagingStudy.rs'] };
    const { value, removed } = await filterSearchBundle(bundle(), gp, { rules, lookups, reports: gate() });
    expect(value.entry?.map((entry) => entry.resource?.id)).toEqual(['reported']);
    expect(value.total).toBeUndefined();
    expect(removed).toBe(1);
  });

  test('a token without the GP role sees both, with the total', async () => {
    const clinician = { scopes: parseScopes('user/ImagingStudy.rs'), grantedScopes: ['user/ImagingStudy.rs'] };
    const { value } = await filterSearchBundle(bundle(), clinician, { rules, lookups, reports: gate() });
    expect(value.entry?.map((entry) => entry.resource?.id)).toEqual(['reported', 'draft']);
    expect(value.total).toBe(2);
  });
});
