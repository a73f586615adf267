import type { PatientIdentifier } from '@imaging-facade/events';
import type { AnyResource } from './compartment';
import type { ConsentLookups, ConsentRules, StudyKey } from './consent';
import type { Principal } from './oidc';
import { parseScopes } from './scopes';
import { StudyAccess, type StudyFacts } from './study-access';
import { readVisible } from './visibility';
import { VALIDATED_REPORT_URL } from '@imaging-facade/fhir';

/**
 * One rule, two entry points: for every (token, study, consent) the DICOMweb face (StudyAccess, from
 * the node's index) answers exactly what the FHIR gateway answers for the same study's ImagingStudy.
 */

const principal = (scope: string, patientId?: string): Principal => ({ issuer: 'https://idp', scopes: parseScopes(scope), grantedScopes: scope.split(' '), patientId });
const SYSTEM = 'urn:oid:1.2.250.1.71.4.2.1';
const identifiersOf: Record<string, PatientIdentifier[]> = { p1: [{ system: SYSTEM, value: 'IPP-1' }], p2: [{ system: SYSTEM, value: 'IPP-2' }] };

/** Consent decisions: a patient-wide refusal, or a refusal of one study only. */
const rules = (decisions: { refusedPatients?: string[]; refusedStudies?: string[] }): ConsentRules => ({
  mayWithhold: () => (decisions.refusedPatients?.length ?? 0) + (decisions.refusedStudies?.length ?? 0) > 0,
  patientSharing: (ids) => (ids.some((id) => decisions.refusedPatients?.includes(id.value)) ? 'withhold' : 'share'),
  recordSharing: (ids) => (ids.some((id) => decisions.refusedPatients?.includes(id.value)) ? 'withhold' : 'share'),
  studySharing: (ids, study: StudyKey) =>
    ids.some((id) => decisions.refusedPatients?.includes(id.value)) || decisions.refusedStudies?.includes(study.studyInstanceUid) ? 'withhold' : 'share',
});
const lookups: ConsentLookups = { patientIdentifiers: async (id) => identifiersOf[id] ?? [], study: async () => undefined };

/** The studies that hold a validated report (the index lists it; the node's own index reads the report's flags). */
const REPORTED = new Set(['1.2.3', '1.2.5']);
const facts = (uid: string, patientId: string): StudyFacts => ({ studyInstanceUid: uid, patient: identifiersOf[patientId] ?? [], reported: () => REPORTED.has(uid) });
const resource = (uid: string, patientId: string): AnyResource => ({
  resourceType: 'ImagingStudy',
  id: `is-${uid}`,
  subject: { reference: `Patient/${patientId}` },
  identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:${uid}` }],
  series: [
    {
      uid: `${uid}.1`,
      modality: { code: 'SR' },
      instance: [{ uid: `${uid}.1.1`, sopClass: { code: 'urn:oid:1.2.840.10008.5.1.4.1.1.88.33' }, ...(REPORTED.has(uid) ? { extension: [{ url: VALIDATED_REPORT_URL, valueBoolean: true }] } : {}) }],
    },
  ],
});
/** The report rule, with the default GP role scope; a study not in the answer is not reported. */
const reports = { roleScope: 'gp', studyReported: async (id: string) => REPORTED.has(id.replace(/^is-/, '')) };

const tokens = {
  'a clinician (user/ImagingStudy.rs)': principal('user/ImagingStudy.rs'),
  'patient 1\'s app (patient/*.rs)': principal('patient/*.rs', 'p1'),
  'patient 2\'s app (patient/ImagingStudy.rs)': principal('patient/ImagingStudy.rs', 'p2'),
  'a system (system/*.read, v1)': principal('system/*.read'),
  'a token without ImagingStudy scope': principal('user/Observation.rs'),
  'a token with a constrained scope only': principal('user/ImagingStudy.rs?status=available'),
  'a GP (gp user/ImagingStudy.rs)': principal('openid gp user/ImagingStudy.rs'),
  'a GP\'s patient-restricted app (gp patient/*.rs)': principal('gp patient/*.rs', 'p1'),
};
const consents = {
  'no decision': {},
  'patient 1 refused everything': { refusedPatients: ['IPP-1'] },
  'study 1.2.3 refused': { refusedStudies: ['1.2.3'] },
};
const studies = [
  ['1.2.3', 'p1'],
  ['1.2.4', 'p1'],
  ['1.2.5', 'p2'],
] as const;

const cases = Object.entries(tokens).flatMap(([token, who]) =>
  Object.entries(consents).flatMap(([consent, decisions]) => studies.map(([uid, patient]) => [token, consent, uid, patient, who, decisions] as const)),
);

describe('StudyAccess gives the gateway\'s answer', () => {
  test.each(cases)('%s, %s, study %s of %s', async (_token, _consent, uid, patient, who, decisions) => {
    const consent = { rules: rules(decisions), lookups };
    const gateway = (await readVisible(resource(uid, patient), who, { ...consent, reports })).value;
    const dicomweb = await new StudyAccess(consent, reports.roleScope).canSee(who, facts(uid, patient), 'read');
    expect(dicomweb).toBe(gateway);
  });
});

describe('StudyAccess.scopeOf', () => {
  const access = new StudyAccess({ rules: rules({}), lookups });

  test('a patient token is limited to its Patient\'s identifiers', async () => {
    expect(await access.scopeOf(principal('patient/ImagingStudy.rs', 'p1'), 'search')).toEqual({ kind: 'patient', identifiers: identifiersOf.p1 });
  });

  test('a clinician token reaches every study', async () => {
    expect(await access.scopeOf(principal('user/ImagingStudy.rs'), 'search')).toEqual({ kind: 'all' });
  });

  test('a GP token reaches the studies with a validated report', async () => {
    const gp = principal('gp user/ImagingStudy.rs');
    expect(await new StudyAccess({ rules: rules({}), lookups }, 'gp').scopeOf(gp, 'search')).toEqual({ kind: 'all', reportedOnly: true });
    expect(await new StudyAccess({ rules: rules({}), lookups }, 'gp').canSee(gp, facts('1.2.4', 'p1'), 'read')).toBe(false);
    expect(await new StudyAccess({ rules: rules({}), lookups }, 'gp').canSee(gp, facts('1.2.3', 'p1'), 'read')).toBe(true);
    // Without a GP role scope configured, nobody waits.
    expect(await new StudyAccess({ rules: rules({}), lookups }).canSee(gp, facts('1.2.4', 'p1'), 'read')).toBe(true);
  });

  test('a token without an ImagingStudy scope is denied, with the reason', async () => {
    expect(await access.scopeOf(principal('user/Observation.rs'), 'search')).toMatchObject({ kind: 'denied' });
  });

  test('a patient token whose Patient is unknown sees nothing', async () => {
    const scope = await access.scopeOf(principal('patient/*.rs', 'gone'), 'read');
    expect(scope).toEqual({ kind: 'patient', identifiers: [] });
    expect(await access.canSee(principal('patient/*.rs', 'gone'), facts('1.2.3', 'p1'), 'read')).toBe(false);
  });
});
