import { consentDecisionV1DataSchema, parsePatientKey, patientKey } from '@imaging-facade/events';

const patient = { system: 'urn:oid:1.2.250.1.71.4.2.7', value: 'P|1' };
const decision = { provision: 'deny', consentId: '12', recordedAt: '2025-01-01T10:00:00Z', recordedBy: 'desk' };

describe('the consent decisions event (consent.patient-decisions.v1)', () => {
  test('the key is system|value and reads back, a value may hold "|"', () => {
    expect(patientKey(patient)).toBe('urn:oid:1.2.250.1.71.4.2.7|P|1');
    expect(parsePatientKey(patientKey(patient))).toEqual(patient);
  });

  test.each([
    ['a patient-wide decision', { scope: 'patient', ...decision }, true],
    ['a study decision by UID', { scope: 'study', study: { studyInstanceUid: '1.2.3' }, ...decision }, true],
    ['a study decision by accession number', { scope: 'study', study: { accessionNumber: 'A1' }, ...decision }, true],
    ['a study decision naming no study', { scope: 'study', ...decision }, false],
    ['a study decision with an empty study', { scope: 'study', study: {}, ...decision }, false],
    ['a patient-wide decision naming a study', { scope: 'patient', study: { studyInstanceUid: '1.2.3' }, ...decision }, false],
    ['an unknown provision', { scope: 'patient', ...decision, provision: 'maybe' }, false],
  ])('%s: valid = %s', (_situation, entry, valid) => {
    expect(consentDecisionV1DataSchema.safeParse({ patient, decisions: [entry], updatedAt: '2025-01-01T10:00:01Z' }).success).toBe(valid);
  });

  test('an empty list is valid: no decision', () => {
    expect(consentDecisionV1DataSchema.safeParse({ patient, decisions: [], updatedAt: '2025-01-01T10:00:01Z' }).success).toBe(true);
  });
});
