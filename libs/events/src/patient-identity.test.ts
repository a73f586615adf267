import type { DicomJson } from '@imaging-facade/dicom';
import { patientIdentityOf } from './patient-identity';

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
