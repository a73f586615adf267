import { isOutcomeError } from '@imaging-facade/fhir-outcomes';
import { patientIdentityOf, patientKey } from '@imaging-facade/events';
import { parseDecisionBody, parsePatientParam, parsePatientSearch, parseRevokeQuery } from './requests';

const patient = { system: 'urn:oid:1.2.250.1.71.4.2.7', value: '123456' };

function diagnosticsOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (isOutcomeError(error)) {
      expect(error.status).toBe(400);
      return error.result.outcome.issue?.[0]?.diagnostics ?? '';
    }
    throw error;
  }
  throw new Error('expected a 400 outcome');
}

describe('parseDecisionBody', () => {
  test.each([
    ['a refusal of all studies', { patient, decision: 'deny' }, { patient, provision: 'deny', study: undefined }],
    ['an agreement for one study', { patient, decision: 'permit', study: '1.2.840.113619.2.55.3' }, { patient, provision: 'permit', study: { studyInstanceUid: '1.2.840.113619.2.55.3' } }],
    ['a refusal by accession number', { patient, decision: 'deny', accessionNumber: ' ACC42 ' }, { patient, provision: 'deny', study: { accessionNumber: 'ACC42' } }],
  ])('%s', (_situation, body, expected) => {
    expect(parseDecisionBody(body)).toEqual(expected);
  });

  test.each([
    ['no body', undefined, /JSON object/],
    ['an array', [], /JSON object/],
    ['no patient', { decision: 'deny' }, /^patient: /],
    ['a patient without system', { patient: { value: '1' }, decision: 'deny' }, /patient\.system: /],
    ['a system with spaces', { patient: { system: 'my hospital', value: '1' }, decision: 'deny' }, /patient\.system: a system is a URI/],
    ['an empty value', { patient: { ...patient, value: '' }, decision: 'deny' }, /patient\.value: /],
    ['an unknown decision', { patient, decision: 'refuse' }, /decision: must be "permit" or "deny"/],
    ['a study that is not a UID', { patient, decision: 'deny', study: 'abc' }, /study: not a DICOM UID/],
    ['both a UID and an accession number', { patient, decision: 'deny', study: '1.2.3', accessionNumber: 'A' }, /not both/],
    ['an accession number too long for DICOM', { patient, decision: 'deny', accessionNumber: 'A'.repeat(17) }, /accessionNumber: has at most 16/],
    ['a misspelt field', { patient, decison: 'deny' }, /decison|Unrecognized key/],
    ['a value longer than a decision may be recorded under (its records could not be searched)', { patient: { ...patient, value: 'x'.repeat(201) }, decision: 'deny' }, /patient\.value: has at most 200 characters/],
    ['a system that long (its records could not be searched)', { patient: { ...patient, system: `urn:oid:${'1.'.repeat(600)}1` }, decision: 'deny' }, /patient\.system: has at most 1024 characters/],
    // Recorded under a key no study has, found by the FHIR server as the trimmed one (a review, 2026-12-07).
    ['a value with a space at its end', { patient: { ...patient, value: '123456 ' }, decision: 'deny' }, /patient\.value: has no space at either end/],
    ['a value with a zero-width space', { patient: { ...patient, value: '1234\u200b56' }, decision: 'deny' }, /patient\.value: has no control or invisible character/],
    ['a value with a new line', { patient: { ...patient, value: '1234\n56' }, decision: 'deny' }, /patient\.value: has no control or invisible character/],
    // A misplaced `study` made a decision for all studies.
    ['a study inside the patient', { patient: { ...patient, study: '1.2.3' }, decision: 'permit' }, /patient: Unrecognized key|study/],
  ])('refuses %s with a 400 that says why', (_situation, body, message) => {
    expect(diagnosticsOf(() => parseDecisionBody(body))).toMatch(message);
  });
});

describe('parsePatientParam', () => {
  test('system|value, the value may hold "|"', () => {
    expect(parsePatientParam('urn:oid:1.2.3|A|B')).toEqual({ system: 'urn:oid:1.2.3', value: 'A|B' });
  });

  test('a value of 200 characters is taken, one of 201 is not', () => {
    expect(parsePatientParam(`urn:oid:1.2.3|${'x'.repeat(200)}`).value).toHaveLength(200);
    expect(diagnosticsOf(() => parsePatientParam(`urn:oid:1.2.3|${'x'.repeat(201)}`))).toMatch(/at most 200 characters/);
  });

  test.each([['123456'], ['|123456'], ['urn:oid:1.2.3|'], [undefined]])('refuses %p', (text) => {
    expect(diagnosticsOf(() => parsePatientParam(text))).toMatch(/system\|value/);
  });
});

describe('parsePatientSearch', () => {
  test.each([
    ['a bare identifier value', { identifier: ' 123456 ' }, { identifier: { value: '123456' } }],
    ['an identifier with its system', { identifier: 'urn:oid:1.2.3|123456' }, { identifier: { system: 'urn:oid:1.2.3', value: '123456' } }],
    ['name and birth date', { name: 'Dupont', birthdate: '1980-01-01' }, { name: 'Dupont', birthDate: '1980-01-01' }],
  ])('%s', (_situation, query, expected) => {
    expect(parsePatientSearch(query)).toEqual(expected);
  });

  test.each([
    ['nothing', {}, /by identifier, or by name and birthdate/],
    ['a name without birth date', { name: 'Dupont' }, /by identifier, or by name and birthdate/],
    ['a birth date in French form', { name: 'Dupont', birthdate: '01/01/1980' }, /birthdate: must be a date as YYYY-MM-DD/],
    ['a one-letter name', { name: 'D', birthdate: '1980-01-01' }, /name: needs at least 2/],
  ])('refuses %s', (_situation, query, message) => {
    expect(diagnosticsOf(() => parsePatientSearch(query))).toMatch(message);
  });
});

describe('parseRevokeQuery', () => {
  test.each([
    ['nothing: all studies', {}, undefined],
    ['a study', { study: '1.2.3' }, { studyInstanceUid: '1.2.3' }],
    ['an accession number', { accessionNumber: 'A1' }, { accessionNumber: 'A1' }],
  ])('%s', (_situation, query, expected) => {
    expect(parseRevokeQuery(query)).toEqual(expected);
  });

  test('refuses a bad UID', () => {
    expect(diagnosticsOf(() => parseRevokeQuery({ study: 'x' }))).toMatch(/study: not a DICOM UID/);
  });

  test('refuses a parameter it does not know: a misspelt study revoked every decision', () => {
    expect(diagnosticsOf(() => parseRevokeQuery({ StudyInstanceUID: '1.2.3' }))).toMatch(/StudyInstanceUID|Unrecognized key/);
  });
});

describe('the desk records a decision for every patient the mapper indexes (one rule, libs/events patient-identity.ts)', () => {
  const study = (patientId: string, issuer: string) => ({ '00100020': { vr: 'LO', Value: [patientId] }, '00100021': { vr: 'LO', Value: [issuer] } });
  test.each([
    ['a 20-character Japanese issuer (a 226-character system, refused until 2026-12-07)', study('PM-1', '東京都立駒込病院放射線診断科画像管理部門')],
    ['a 64-character Japanese issuer, the longest LO (622 characters)', study('PM-1', '東'.repeat(64))],
    ['a 64-character issuer of four-byte characters (814 characters)', study('PM-1', '𠀋'.repeat(64))],
  ])('%s: accepted in a body and as a path parameter', (_situation, dataset) => {
    const patient = patientIdentityOf(dataset, 'https://imagingfacade.org/fhir/sid/patient-id')!;
    expect(parseDecisionBody({ patient, decision: 'deny' })).toEqual({ patient, provision: 'deny', study: undefined });
    expect(parsePatientParam(patientKey(patient))).toEqual(patient);
    expect(parsePatientSearch({ identifier: patientKey(patient) })).toEqual({ identifier: patient });
  });
});
