import type { ConsentDecision } from '@imaging-facade/events';
import { decideSharing, decisionsFingerprint, refusesPatientWide, withholdsRecord, type ConsentPolicy, type PatientConsentState, type StudyRef } from './policy';

const patient = { system: 'urn:oid:1.2.250.1.71.4.2.7', value: 'P1' };
const study: StudyRef = { studyInstanceUid: '1.2.3.4', accessionNumber: 'ACC1' };
const otherStudy: StudyRef = { studyInstanceUid: '1.2.3.5', accessionNumber: 'ACC2' };

let sequence = 0;
function decision(
  provision: 'permit' | 'deny',
  target?: { studyInstanceUid?: string; accessionNumber?: string },
  recordedAt = `2025-01-01T10:00:${String(sequence++ % 60).padStart(2, '0')}Z`,
): ConsentDecision {
  return target
    ? { scope: 'study', study: target, provision, consentId: `c${sequence}`, recordedAt, recordedBy: 'desk' }
    : { scope: 'patient', provision, consentId: `c${sequence}`, recordedAt, recordedBy: 'desk' };
}

function state(...decisions: ConsentDecision[]): PatientConsentState {
  return { patient, decisions, updatedAt: '2025-01-01T10:01:00Z' };
}

describe('decideSharing', () => {
  const cases: Array<[string, ConsentPolicy, PatientConsentState | undefined, StudyRef, 'share' | 'withhold']> = [
    ['opt-out, no state at all: shared', 'opt-out', undefined, study, 'share'],
    ['opt-out, empty state (everything revoked): shared', 'opt-out', state(), study, 'share'],
    ['opt-out, patient refused: withheld', 'opt-out', state(decision('deny')), study, 'withhold'],
    ['opt-out, patient agreed: shared', 'opt-out', state(decision('permit')), study, 'share'],
    ['opt-in, no state at all: withheld (held until consent)', 'opt-in', undefined, study, 'withhold'],
    ['opt-in, empty state: withheld', 'opt-in', state(), study, 'withhold'],
    ['opt-in, patient agreed: shared', 'opt-in', state(decision('permit')), study, 'share'],
    ['opt-in, patient refused: withheld', 'opt-in', state(decision('deny')), study, 'withhold'],
    ['opt-out, this study refused by UID: withheld', 'opt-out', state(decision('deny', { studyInstanceUid: '1.2.3.4' })), study, 'withhold'],
    ['opt-out, another study refused: this one shared', 'opt-out', state(decision('deny', { studyInstanceUid: '1.2.3.4' })), otherStudy, 'share'],
    ['opt-out, this study refused by accession number: withheld', 'opt-out', state(decision('deny', { accessionNumber: 'ACC1' })), study, 'withhold'],
    ['opt-out, refusal by accession, study without accession: shared', 'opt-out', state(decision('deny', { accessionNumber: 'ACC1' })), { studyInstanceUid: '1.2.3.4' }, 'share'],
    ['a decision naming a UID matches by UID only, not by accession', 'opt-out', state(decision('deny', { studyInstanceUid: '9.9', accessionNumber: 'ACC1' })), study, 'share'],
    ['per-study permit beats a patient-wide refusal', 'opt-out', state(decision('deny'), decision('permit', { studyInstanceUid: '1.2.3.4' })), study, 'share'],
    ['per-study refusal beats a patient-wide permit', 'opt-in', state(decision('permit'), decision('deny', { studyInstanceUid: '1.2.3.4' })), study, 'withhold'],
    ['per-study permit under opt-in: only that study is shared', 'opt-in', state(decision('permit', { studyInstanceUid: '1.2.3.4' })), otherStudy, 'withhold'],
    ['per-study refusal, patient-wide permit: the other studies stay shared', 'opt-in', state(decision('permit'), decision('deny', { studyInstanceUid: '1.2.3.4' })), otherStudy, 'share'],
    ['per-study decision recorded before the patient-wide one still wins (specific beats general)', 'opt-out', state(decision('permit', { studyInstanceUid: '1.2.3.4' }, '2025-01-01T09:00:00Z'), decision('deny', undefined, '2025-01-01T11:00:00Z')), study, 'share'],
    ['two decisions for the study by UID and accession: the later one wins', 'opt-out', state(decision('deny', { accessionNumber: 'ACC1' }, '2025-01-01T09:00:00Z'), decision('permit', { studyInstanceUid: '1.2.3.4' }, '2025-01-01T10:00:00Z')), study, 'share'],
    ['two decisions at the same instant: the refusal wins', 'opt-out', state(decision('permit', undefined, '2025-01-01T09:00:00Z'), decision('deny', undefined, '2025-01-01T09:00:00Z')), study, 'withhold'],
    ['the same, listed the other way round: the refusal still wins', 'opt-out', state(decision('deny', undefined, '2025-01-01T09:00:00Z'), decision('permit', undefined, '2025-01-01T09:00:00Z')), study, 'withhold'],
  ];

  test.each(cases)('%s', (_situation, policy, consentState, studyRef, expected) => {
    expect(decideSharing(policy, consentState, studyRef)).toBe(expected);
  });
});

describe('refusesPatientWide (what withholds the patient\'s data that is no single study\'s)', () => {
  test.each<[string, PatientConsentState | undefined, boolean]>([
    ['no decision: no', undefined, false],
    ['a patient-wide refusal: yes', state(decision('deny')), true],
    ['a patient-wide agreement: no', state(decision('permit')), false],
    ['a refusal of one study only: no', state(decision('deny', { studyInstanceUid: '1.2.3.4' })), false],
    ['a refusal for all with one study agreed: yes (the other studies and the cumulative dose stay withheld)', state(decision('deny'), decision('permit', { studyInstanceUid: '1.2.3.4' })), true],
    ['a refusal, then an agreement: no', state(decision('deny', undefined, '2025-01-01T09:00:00Z'), decision('permit', undefined, '2025-01-01T10:00:00Z')), false],
    ['an agreement and a refusal at the same instant: yes', state(decision('permit', undefined, '2025-01-01T09:00:00Z'), decision('deny', undefined, '2025-01-01T09:00:00Z')), true],
  ])('%s', (_situation, consentState, refuses) => {
    expect(refusesPatientWide(consentState)).toBe(refuses);
  });
});

describe('withholdsRecord (the patient\'s own record, over every identifier the record holds)', () => {
  const other = { system: 'urn:oid:1.2.250.1.213.1.4.8', value: 'R1' };
  const under = (identifier: typeof other, ...decisions: ConsentDecision[]): PatientConsentState => ({ patient: identifier, decisions, updatedAt: '2025-01-01T10:01:00Z' });
  test.each<[string, Array<PatientConsentState | undefined>, boolean]>([
    ['no decision: shown', [undefined], false],
    ['no identifier at all: shown (nothing refused)', [], false],
    ['a patient-wide refusal: withheld', [state(decision('deny'))], true],
    ['a refusal of one study only: shown', [state(decision('deny', { studyInstanceUid: '1.2.3.4' }))], false],
    ['a refusal for all with one study agreed by UID: shown with that study', [state(decision('deny'), decision('permit', { studyInstanceUid: '1.2.3.4' }))], false],
    ['… agreed by accession number: shown', [state(decision('deny'), decision('permit', { accessionNumber: 'ACC1' }))], false],
    ['… agreed before the refusal: shown (the study decision still governs the study)', [state(decision('permit', { studyInstanceUid: '1.2.3.4' }, '2025-01-01T09:00:00Z'), decision('deny', undefined, '2025-01-01T11:00:00Z'))], false],
    ['… that agreement replaced by a refusal of the study: withheld', [state(decision('deny'), decision('permit', { studyInstanceUid: '1.2.3.4' }, '2025-01-01T09:00:00Z'), decision('deny', { studyInstanceUid: '1.2.3.4' }, '2025-01-01T10:00:00Z'))], true],
    ['a refusal for all and a study refused too: withheld', [state(decision('deny'), decision('deny', { studyInstanceUid: '1.2.3.4' }))], true],
    ['an agreement for all with one study agreed: shown', [state(decision('permit'), decision('permit', { studyInstanceUid: '1.2.3.4' }))], false],
    ['refused under one identifier, nothing under the other: withheld', [state(decision('deny')), undefined], true],
    ['refused under one identifier, the study agreed under the other: withheld (the refusal governs the study too)', [under(other, decision('deny')), state(decision('permit', { studyInstanceUid: '1.2.3.4' }))], true],
    ['refused under one identifier with the study agreed there too: shown', [under(other, decision('deny'), decision('permit', { studyInstanceUid: '1.2.3.4' })), state(decision('permit', { studyInstanceUid: '1.2.3.4' }))], false],
    ['refused under both, the study agreed under both: shown', [under(other, decision('deny'), decision('permit', { studyInstanceUid: '1.2.3.4' })), state(decision('deny'), decision('permit', { studyInstanceUid: '1.2.3.4' }))], false],
    ['the study agreed under one, refused under the other: withheld', [under(other, decision('deny'), decision('permit', { studyInstanceUid: '1.2.3.4' })), state(decision('deny', { studyInstanceUid: '1.2.3.4' }))], true],
  ])('%s', (_situation, states, withheld) => {
    expect(withholdsRecord(states)).toBe(withheld);
  });
});

describe('decisionsFingerprint', () => {
  const refusal = decision('deny', undefined, '2025-01-01T10:00:00Z');
  const agreement = decision('permit', undefined, '2025-01-01T10:00:00Z');
  test.each<[string, PatientConsentState | undefined, PatientConsentState | undefined, boolean]>([
    ['the same decisions, in another message (another updatedAt): the same', state(refusal), { ...state(refusal), updatedAt: '2025-02-01T00:00:00Z' }, true],
    ['a refusal and an agreement: different', state(refusal), state(agreement), false],
    ['a decision added: different', state(refusal), state(refusal, decision('permit', { studyInstanceUid: '1.2.3.4' })), false],
    ['the same provision recorded at another time: different (it may govern otherwise)', state(refusal), state({ ...refusal, recordedAt: '2025-01-01T11:00:00Z' }), false],
    ['no state and no decision left: both none', undefined, state(), true],
  ])('%s', (_situation, first, second, same) => {
    expect(decisionsFingerprint(first) === decisionsFingerprint(second)).toBe(same);
  });

  test('none when there is no decision; otherwise a short digest that names nobody', () => {
    expect(decisionsFingerprint(undefined)).toBeUndefined();
    const fingerprint = decisionsFingerprint(state(refusal));
    expect(fingerprint).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(fingerprint).not.toContain(patient.value);
  });
});
