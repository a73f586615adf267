import type { ConsentDecision, PatientIdentifier } from '@imaging-facade/events';
import type { AnyResource } from './compartment';
import { consentAllows, studyKeyOf, studyLinksOf, type ConsentLookups } from './consent';
import { consentRulesFrom, type ConsentStates } from './consent-view-rules';

const MRN = (value: string): PatientIdentifier => ({ system: 'urn:oid:1.2.3', value });
const decision = (provision: 'permit' | 'deny', study?: string, at = '2024-01-01T00:00:00Z'): ConsentDecision =>
  ({
    scope: study ? 'study' : 'patient',
    ...(study ? { study: { studyInstanceUid: study } } : {}),
    provision,
    consentId: 'c',
    recordedAt: at,
    recordedBy: 'desk',
  }) as ConsentDecision;

function view(states: Record<string, ConsentDecision[]>, policy: 'opt-in' | 'opt-out' = 'opt-out'): ConsentStates {
  const map = new Map(Object.entries(states).map(([value, decisions]) => [`urn:oid:1.2.3|${value}`, { patient: MRN(value), decisions, updatedAt: '2024-01-01T00:00:00Z' }]));
  return { policy, stateOf: (patient) => map.get(`${patient.system}|${patient.value}`), patients: () => map.entries() };
}

const patients: Record<string, PatientIdentifier[]> = { refuser: [MRN('R')], sharer: [MRN('S')], twoIds: [MRN('X'), MRN('R')] };
const lookups = (calls: string[] = []): ConsentLookups => ({
  patientIdentifiers: async (id) => {
    calls.push(`Patient/${id}`);
    return patients[id] ?? [];
  },
  study: async (id) => {
    calls.push(`ImagingStudy/${id}`);
    return id === 'withheld-study' ? { studyInstanceUid: '1.2.9' } : { studyInstanceUid: '1.2.1' };
  },
});

const study = (patient: string, uid = '1.2.1'): AnyResource => ({
  resourceType: 'ImagingStudy',
  subject: { reference: `Patient/${patient}` },
  identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:${uid}` }],
});

describe('consentAllows', () => {
  test.each([
    ['a study of a patient who refused everything', view({ R: [decision('deny')] }), study('refuser'), false],
    ['a study of a patient who shares', view({ R: [decision('deny')] }), study('sharer'), true],
    ['a refusal under any of the patient\'s identifiers', view({ R: [decision('deny')] }), study('twoIds'), false],
    ['the one study refused', view({ S: [decision('deny', '1.2.9')] }), study('sharer', '1.2.9'), false],
    ['another study of that patient', view({ S: [decision('deny', '1.2.9')] }), study('sharer', '1.2.1'), true],
    ['a study permitted despite a patient-wide refusal (the study decision wins)', view({ R: [decision('deny'), decision('permit', '1.2.1')] }), study('refuser'), true],
    ['the Patient of a refuser', view({ R: [decision('deny')] }), { resourceType: 'Patient', id: 'refuser', identifier: [MRN('R')] }, false],
    ['the Patient of a refuser who agreed to one study: shown with it', view({ R: [decision('deny'), decision('permit', '1.2.1')] }), { resourceType: 'Patient', id: 'refuser', identifier: [MRN('R')] }, true],
    ['… the same Patient read without its identifiers (looked up)', view({ R: [decision('deny'), decision('permit', '1.2.1')] }), { resourceType: 'Patient', id: 'refuser' }, true],
    ['… their other studies stay withheld', view({ R: [decision('deny'), decision('permit', '1.2.1')] }), study('refuser', '1.2.9'), false],
    ['… and what is theirs without being a study\'s (the cumulative dose)', view({ R: [decision('deny'), decision('permit', '1.2.1')] }), { resourceType: 'Observation', subject: { reference: 'Patient/refuser' } }, false],
    ['the Patient of a refuser whose study is agreed under one identifier only', view({ R: [decision('deny')], X: [decision('permit', '1.2.1')] }), { resourceType: 'Patient', id: 'twoIds', identifier: [MRN('X'), MRN('R')] }, false],
    ['an Observation of a refuser', view({ R: [decision('deny')] }), { resourceType: 'Observation', subject: { reference: 'Patient/refuser' } }, false],
    ['an Observation derived from a refused study', view({ S: [decision('deny', '1.2.9')] }), { resourceType: 'Observation', subject: { reference: 'Patient/sharer' }, partOf: [{ reference: 'ImagingStudy/withheld-study' }] }, false],
    ['a document about a refused study (by UID)', view({ S: [decision('deny', '1.2.9')] }), { resourceType: 'DocumentReference', subject: { reference: 'Patient/sharer' }, context: { related: [{ identifier: { system: 'urn:dicom:uid', value: 'urn:oid:1.2.9' } }] } }, false],
    [
      'a dose Observation of a refused study narrowed to no study link (type-qualified _elements on an include: judged patient-wide, it was shown)',
      view({ S: [decision('deny', '1.2.9')] }),
      { resourceType: 'Observation', subject: { reference: 'Patient/sharer' }, component: [] },
      false,
    ],
    ['a manifest narrowed to no study link', view({ S: [decision('deny', '1.2.9')] }), { resourceType: 'DocumentReference', subject: { reference: 'Patient/sharer' }, content: [] }, false],
    ['an Endpoint (no patient)', view({ R: [decision('deny')] }), { resourceType: 'Endpoint', id: 'e' }, true],
    ['opt-in without any decision', view({}, 'opt-in'), study('sharer'), false],
    ['opt-in with a permit', view({ S: [decision('permit')] }, 'opt-in'), study('sharer'), true],
    ['a later permit replaces a refusal', view({ R: [decision('deny', undefined, '2024-01-01T00:00:00Z'), decision('permit', undefined, '2024-02-01T00:00:00Z')] }), study('refuser'), true],
  ])('%s → %s', async (_situation, states, resource, expected) => {
    expect(await consentAllows([resource], consentRulesFrom(states), lookups())).toEqual([expected]);
  });

  test('with no decision known and an opt-out policy nothing is looked up', async () => {
    const calls: string[] = [];
    expect(await consentAllows([study('refuser')], consentRulesFrom(view({})), lookups(calls))).toEqual([true]);
    expect(calls).toEqual([]);
  });

  test('a Patient in the same answer is used instead of a look-up, once per patient', async () => {
    const calls: string[] = [];
    const answer = [study('refuser'), study('refuser'), { resourceType: 'Patient', id: 'refuser', identifier: [MRN('R')] }];
    expect(await consentAllows(answer, consentRulesFrom(view({ R: [decision('deny')] })), lookups(calls))).toEqual([false, false, false]);
    expect(calls).toEqual([]);
  });
});

describe('studyKeyOf / studyLinksOf', () => {
  test('the UID and the accession number of an ImagingStudy', () => {
    expect(
      studyKeyOf({
        resourceType: 'ImagingStudy',
        identifier: [
          { system: 'urn:dicom:uid', value: 'urn:oid:1.2.3' },
          { type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'ACSN' }] }, value: 'A-77' },
        ],
      }),
    ).toEqual({ studyInstanceUid: '1.2.3', accessionNumber: 'A-77' });
  });

  test('an ImagingStudy without a UID has no key', () => {
    expect(studyKeyOf({ resourceType: 'ImagingStudy', identifier: [] })).toBeUndefined();
  });

  test('a logical reference typed as another resource is not a study (the cumulative dose derives from dose summaries)', () => {
    const summary = { type: 'Observation', identifier: { system: 'urn:dicom:uid', value: 'urn:oid:1.2.3.4' } };
    const study = { type: 'ImagingStudy', identifier: { system: 'urn:dicom:uid', value: 'urn:oid:1.2.3' } };
    expect(studyLinksOf({ resourceType: 'Observation', derivedFrom: [summary] })).toEqual({ ids: [], keys: [] });
    expect(studyLinksOf({ resourceType: 'Observation', partOf: [study], derivedFrom: [summary] })).toEqual({ ids: [], keys: [{ studyInstanceUid: '1.2.3' }] });
  });

  test('the studies an Observation derives from', () => {
    expect(studyLinksOf({ resourceType: 'Observation', partOf: [{ reference: 'ImagingStudy/1' }], derivedFrom: [{ reference: 'Media/2' }] })).toEqual({ ids: ['1'], keys: [] });
  });
});
