import type { ConsentLookups, ConsentRules } from './consent';
import type { AnyResource } from './compartment';
import { parseScopes, type ScopeHolder } from './scopes';
import { filterSearchBundle, readVisible, typeAccess, visibleToToken } from './visibility';

const holder = (scope: string, patientId?: string): ScopeHolder => ({ scopes: parseScopes(scope), patientId });
const shareAll: ConsentRules = { mayWithhold: () => false, patientSharing: () => 'share', recordSharing: () => 'share', studySharing: () => 'share' };
const noLookups: ConsentLookups = { patientIdentifiers: async () => [], study: async () => undefined };
const refusing = (refused: string): { rules: ConsentRules; lookups: ConsentLookups } => ({
  rules: {
    mayWithhold: () => true,
    patientSharing: (ids) => (ids.some((id) => id.value === refused) ? 'withhold' : 'share'),
    recordSharing: (ids) => (ids.some((id) => id.value === refused) ? 'withhold' : 'share'),
    studySharing: (ids) => (ids.some((id) => id.value === refused) ? 'withhold' : 'share'),
  },
  lookups: { patientIdentifiers: async (id) => [{ system: 's', value: id }], study: async () => undefined },
});

const study = (id: string, patient: string): AnyResource => ({ resourceType: 'ImagingStudy', id, subject: { reference: `Patient/${patient}` } });
const patient = (id: string): AnyResource => ({ resourceType: 'Patient', id, identifier: [{ system: 's', value: id }] });

describe('typeAccess', () => {
  test.each([
    ['a patient app may read Endpoints (no patient data)', holder('patient/*.rs', 'p1'), 'Endpoint', true],
    ['a patient app may never search the audit trail', holder('patient/AuditEvent.rs', 'p1'), 'AuditEvent', false],
    ['an auditor may', holder('user/AuditEvent.rs'), 'AuditEvent', true],
    ['a type the gateway does not serve', holder('system/*.*'), 'Practitioner', false],
  ] as const)('%s', (_situation, who, type, allowed) => {
    expect(typeAccess(who, type, 'search').allowed).toBe(allowed);
  });
});

describe('visibleToToken', () => {
  test.each([
    ['own study', holder('patient/*.rs', 'p1'), study('s1', 'p1'), true],
    ['another patient\'s study', holder('patient/*.rs', 'p1'), study('s2', 'p2'), false],
    ['an included Practitioner (not served)', holder('system/*.rs'), { resourceType: 'Practitioner', id: 'x' }, false],
    ['an included Patient without Patient scope', holder('user/ImagingStudy.rs'), patient('p1'), false],
    ['an OperationOutcome of the search', holder('user/ImagingStudy.rs'), { resourceType: 'OperationOutcome' }, true],
    ['a Subscription never shows in a clinical answer', holder('system/*.*'), { resourceType: 'Subscription', id: '1' }, false],
  ] as const)('%s → %s', (_situation, who, resource, expected) => {
    expect(visibleToToken(resource, who, 'read')).toBe(expected);
  });
});

describe('filterSearchBundle', () => {
  const bundle = () => ({
    resourceType: 'Bundle',
    total: 3,
    entry: [
      { resource: study('s1', 'p1'), search: { mode: 'match' } },
      { resource: study('s2', 'p2'), search: { mode: 'match' } },
      { resource: patient('p1'), search: { mode: 'include' } },
      { resource: patient('p2'), search: { mode: 'include' } },
      { resource: { resourceType: 'Practitioner', id: 'dr' }, search: { mode: 'include' } },
    ],
  });

  test('a practitioner sees both studies and their patients, not what the gateway does not serve; total kept', async () => {
    const result = await filterSearchBundle(bundle(), holder('user/ImagingStudy.rs user/Patient.rs'), { rules: shareAll, lookups: noLookups });
    expect(result.value.entry?.map((entry) => entry.resource?.id)).toEqual(['s1', 's2', 'p1', 'p2']);
    expect(result.value.total).toBe(3);
    expect(result.patients.sort()).toEqual(['p1', 'p2']);
  });

  test('a patient app sees its own study and Patient only, even on a page of somebody else\'s search; total dropped', async () => {
    const result = await filterSearchBundle(bundle(), holder('patient/*.rs', 'p1'), { rules: shareAll, lookups: noLookups });
    expect(result.value.entry?.map((entry) => entry.resource?.id)).toEqual(['s1', 'p1']);
    expect(result.value.total).toBeUndefined();
    expect(result.patients).toEqual(['p1']);
  });

  test('consent takes out a refuser\'s study and Patient, whatever the token', async () => {
    const result = await filterSearchBundle(bundle(), holder('system/*.rs'), refusing('p2'));
    expect(result.value.entry?.map((entry) => entry.resource?.id)).toEqual(['s1', 'p1']);
    expect(result.patients).toEqual(['p1']);
  });

  test('while consent may withhold, total is dropped even when this page lost nothing (a refuser may match on another page)', async () => {
    const page = { resourceType: 'Bundle', total: 2, entry: [{ resource: patient('p1'), search: { mode: 'match' } }] };
    const result = await filterSearchBundle(page, holder('system/*.rs'), refusing('p2'));
    expect(result.value.entry).toHaveLength(1);
    expect(result.value.total).toBeUndefined();
  });

  test('a narrowed answer decides nothing by itself: a Patient without identifiers is looked up, a compartment resource without a patient withheld', async () => {
    const narrowed = {
      resourceType: 'Bundle',
      entry: [
        { resource: { resourceType: 'Patient', id: 'p2', name: [{ family: 'Refuser' }] }, search: { mode: 'match' } },
        { resource: { resourceType: 'Patient', id: 'p1' }, search: { mode: 'match' } },
        { resource: { resourceType: 'ImagingStudy', id: 's9' }, search: { mode: 'match' } },
        { resource: { resourceType: 'Observation', id: 'o9', status: 'final' }, search: { mode: 'match' } },
        { resource: { resourceType: 'Endpoint', id: 'e1' }, search: { mode: 'include' } },
      ],
    };
    const result = await filterSearchBundle(narrowed, holder('system/*.rs'), refusing('p2'));
    expect(result.value.entry?.map((entry) => entry.resource?.id)).toEqual(['p1', 'e1']);
  });

  test('a study whose UID the answer does not hold is looked up, so that a refusal of that study applies', async () => {
    const refusedStudy = '1.2.3';
    const consent = {
      rules: { mayWithhold: () => true, patientSharing: () => 'share' as const, recordSharing: () => 'share' as const, studySharing: (_ids: unknown, key: { studyInstanceUid: string }) => (key.studyInstanceUid === refusedStudy ? ('withhold' as const) : ('share' as const)) },
      lookups: { patientIdentifiers: async (id: string) => [{ system: 's', value: id }], study: async (id: string) => (id === 's2' ? { studyInstanceUid: refusedStudy } : { studyInstanceUid: '9.9' }) },
    };
    const result = await filterSearchBundle(bundle(), holder('system/*.rs'), consent);
    expect(result.value.entry?.map((entry) => entry.resource?.id)).toEqual(['s1', 'p1', 'p2']);
  });
});

describe('readVisible', () => {
  test.each([
    ['own study', holder('patient/*.rs', 'p1'), study('s1', 'p1'), shareAll, true],
    ['another patient\'s study', holder('patient/*.rs', 'p1'), study('s2', 'p2'), shareAll, false],
    ['a refuser\'s study with a system token', holder('system/*.rs'), study('s2', 'p2'), 'refuse-p2', false],
  ] as const)('%s → %s', async (_situation, who, resource, rules, expected) => {
    const consent = rules === 'refuse-p2' ? refusing('p2') : { rules, lookups: noLookups };
    expect((await readVisible(resource, who, consent)).value).toBe(expected);
  });
});
