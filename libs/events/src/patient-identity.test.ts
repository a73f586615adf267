import type { DicomJson } from '@imaging-facade/dicom';
import { recordedPatientIdentifierSchema } from './consent-decision.v1';
import { LOCAL_ISSUER_SYSTEM_BASE, PATIENT_SYSTEM_MAX_LENGTH, PATIENT_VALUE_MAX_LENGTH, patientIdentityOf, patientIdentityProblem } from './patient-identity';

const DEFAULT = 'https://hospital.example/mrn';
const qualifiers = (id: string, type: string, typeCode?: string): DicomJson => ({
  '00100024': {
    vr: 'SQ',
    Value: [
      {
        '00400032': { vr: 'UT', Value: [id] },
        '00400033': { vr: 'CS', Value: [type] },
        ...(typeCode ? { '00400035': { vr: 'CS', Value: [typeCode] } } : {}),
      },
    ],
  },
});
const dataset = (patientId: string | undefined, extra: DicomJson = {}): DicomJson => ({
  ...(patientId === undefined ? {} : { '00100020': { vr: 'LO', Value: [patientId] } }),
  ...extra,
});
const issuer = (text: string): DicomJson => ({ '00100021': { vr: 'LO', Value: [text] } });

describe('patientIdentityOf: the one rule that names a study patient', () => {
  test.each([
    ['no issuer: the default system', dataset('123'), { system: DEFAULT, value: '123' }],
    ['padding is trimmed', dataset(' 123  '), { system: DEFAULT, value: '123' }],
    ['an OID issuer', dataset('123', issuer('1.2.250.1.71.4.2.7')), { system: 'urn:oid:1.2.250.1.71.4.2.7', value: '123' }],
    ['a URI issuer', dataset('123', issuer('https://ids.example/mrn')), { system: 'https://ids.example/mrn', value: '123' }],
    ['a local issuer name', dataset('123', issuer('HOSP A')), { system: 'https://imagingfacade.org/fhir/sid/patient-id/HOSP%20A', value: '123' }],
    [
      'qualifiers (ISO) win over the issuer text, with their type code',
      dataset('123', { ...issuer('HOSP_A'), ...qualifiers('1.2.3.4', 'ISO', 'MR') }),
      { system: 'urn:oid:1.2.3.4', value: '123', typeCode: 'MR' },
    ],
    ['qualifiers of type UUID', dataset('123', qualifiers('8E2A0A1C-1D3B-4C5E-9F00-0123456789AB', 'UUID')), { system: 'urn:uuid:8e2a0a1c-1d3b-4c5e-9f00-0123456789ab', value: '123' }],
    ['qualifiers of a type we cannot name fall back to the issuer text', dataset('123', { ...issuer('1.9.9'), ...qualifiers('host.example', 'DNS') }), { system: 'urn:oid:1.9.9', value: '123' }],
    ['a malformed ISO id falls back to the default', dataset('123', qualifiers('not an oid', 'ISO')), { system: DEFAULT, value: '123' }],
  ])('%s', (_situation, study, expected) => {
    expect(patientIdentityOf(study, DEFAULT)).toEqual(expected);
  });

  test.each([
    ['no PatientID', dataset(undefined)],
    ['an empty PatientID', dataset('   ')],
  ])('%s: no identity', (_situation, study) => {
    expect(patientIdentityOf(study, DEFAULT)).toBeUndefined();
  });
});

/** A valid DICOM LO of `length` characters, each `character`. */
const lo = (character: string, length = 64) => character.repeat(length);

describe('patientIdentityProblem: the one rule of the identities a patient may be named under', () => {
  const identity = (study: DicomJson) => patientIdentityOf(study, DEFAULT)!;
  test.each([
    ['a PatientID without issuer', identity(dataset('123'))],
    ['an OID issuer', identity(dataset('123', issuer('1.2.250.1.71.4.2.7')))],
    ['a 20-character Japanese issuer (a 226-character system)', identity(dataset('PM-1', issuer('東京都立駒込病院放射線診断科画像管理部門')))],
    ['a 64-character Japanese issuer, the longest LO (622 characters)', identity(dataset('PM-1', issuer(lo('東'))))],
    ['a 64-character issuer of four-byte characters (814 characters, the longest the rule makes)', identity(dataset('PM-1', issuer(lo('𠀋'))))],
    ['a 64-character Japanese PatientID', identity(dataset(lo('患')))],
    ['a value of the longest length', { system: DEFAULT, value: 'x'.repeat(PATIENT_VALUE_MAX_LENGTH) }],
    ['a system of the longest length', { system: `urn:oid:${'1'.repeat(PATIENT_SYSTEM_MAX_LENGTH - 8)}`, value: '1' }],
  ])('%s: accepted by the rule, and so by the desk', (_situation, patient) => {
    expect(patientIdentityProblem(patient)).toBeUndefined();
    expect(recordedPatientIdentifierSchema.safeParse({ system: patient.system, value: patient.value }).success).toBe(true);
  });

  test.each([
    ['a PatientID with a control character (PM…\\x01ctl)', identity(dataset('PM-7\u0001ctl')), /^PatientID: has no control or invisible character$/],
    ['a PatientID with an invisible character (U+200B)', identity(dataset('PM\u200b7')), /^PatientID: has no control or invisible character$/],
    ['a PatientID with a space at an end that DICOM padding does not explain', { system: DEFAULT, value: '\u00a0PM7' }, /^PatientID: has no space at either end$/],
    ['a value too long', { system: DEFAULT, value: 'x'.repeat(PATIENT_VALUE_MAX_LENGTH + 1) }, /^PatientID: has at most 200 characters$/],
    ['an issuer far longer than a LO (5,000 characters, sent on Kafka)', identity(dataset('PM-1', issuer('H'.repeat(5000)))), /^patient identifier system: has at most 1024 characters$/],
    ['a 5,000-character Japanese issuer', identity(dataset('PM-1', issuer(lo('東', 5000)))), /^patient identifier system: has at most 1024 characters$/],
    ['a URI issuer with a control character', identity(dataset('PM-1', issuer('https://ids.example/\u0001'))), /^patient identifier system: has no control or invisible character$/],
    ['a system with "|"', { system: 'urn:x|y', value: '1' }, /system: a system must not contain "\|"/],
  ])('%s: refused, saying why without the identifier', (_situation, patient, reason) => {
    expect(patientIdentityProblem(patient)).toMatch(reason);
    expect(patientIdentityProblem(patient)).not.toContain(patient.value);
    expect(recordedPatientIdentifierSchema.safeParse({ system: patient.system, value: patient.value }).success).toBe(false);
  });

  test('the longest system the rule makes of a valid issuer is within the limit', () => {
    expect(LOCAL_ISSUER_SYSTEM_BASE.length + 64 * 12).toBeLessThanOrEqual(PATIENT_SYSTEM_MAX_LENGTH);
  });
});
