import type { ConsentDecision } from '@imaging-facade/events';
import type { PatientConsentState } from '@imaging-facade/consent';
import { recordChanges, type RecordSeen } from './record-check';

const H = 'urn:oid:1.2.250.1.999.1|H1';
const R = 'urn:oid:1.2.250.1.213.1.4.10|R1';
const X = 'urn:oid:1.2.250.1.213.1.4.10|X1';
const refusal: ConsentDecision = { scope: 'patient', provision: 'deny', consentId: 'c', recordedAt: '2026-01-01T00:00:00Z', recordedBy: 'desk' };
const agreement: ConsentDecision = { ...refusal, provision: 'permit' };
const studyAgreement: ConsentDecision = { ...agreement, scope: 'study', study: { studyInstanceUid: '1.2.3' } };
const state = (decisions: ConsentDecision[]): PatientConsentState => ({ patient: { system: 's', value: 'v' }, decisions, updatedAt: '2026-01-01T00:00:00Z' });

describe('recordChanges: whose decisions the index records changed for', () => {
  test.each<[string, RecordSeen[], ConsentDecision[], string[], Array<{ patientKey: string; linked: string[]; unlinked: string[] }>]>([
    ['nothing changed: the same link, the label right', [{ keys: [H, R], labelled: true }], [refusal], [H], []],
    ['a link made since', [{ keys: [H, R], labelled: true }], [refusal], [], [{ patientKey: R, linked: [H], unlinked: [] }]],
    ['a link undone since', [{ keys: [R], labelled: true }], [refusal], [H], [{ patientKey: R, linked: [], unlinked: [H] }]],
    ['a link replaced', [{ keys: [X, R], labelled: true }], [refusal], [H], [{ patientKey: R, linked: [X], unlinked: [H] }]],
    ['a refuser\'s record written without the label', [{ keys: [R], labelled: false }], [refusal], [], [{ patientKey: R, linked: [], unlinked: [] }]],
    ['a label left on a record of a patient who agrees now', [{ keys: [R], labelled: true }], [agreement], [], [{ patientKey: R, linked: [], unlinked: [] }]],
    ['a label left on a refuser who agrees to one study now (the record is shown with it)', [{ keys: [R], labelled: true }], [refusal, studyAgreement], [], [{ patientKey: R, linked: [], unlinked: [] }]],
    ['a refuser with one study agreed, the record unlabelled: nothing to do', [{ keys: [R], labelled: false }], [refusal, studyAgreement], [], []],
    ['no record holds the patient: nothing to do', [], [refusal], [], []],
  ])('%s', (_situation, records, decisions, applied, expected) => {
    expect(recordChanges(new Set([R]), records, (key) => (key === R ? state(decisions) : undefined), () => applied)).toEqual(expected);
  });
});
