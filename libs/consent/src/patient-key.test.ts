import type { DicomJson } from '@imaging-facade/dicom';
import { patientIdentifierOfStudy, patientKeyOfStudy } from './patient-key';

const DEFAULT_SYSTEM = 'urn:oid:1.2.250.1.999.1';

function study(attributes: { id?: string; issuer?: string }): DicomJson {
  const dataset: DicomJson = { '0020000D': { vr: 'UI', Value: ['1.2.3'] } };
  if (attributes.id !== undefined) dataset['00100020'] = { vr: 'LO', Value: [attributes.id] };
  if (attributes.issuer !== undefined) dataset['00100021'] = { vr: 'LO', Value: [attributes.issuer] };
  return dataset;
}

describe('patientKeyOfStudy (the same rule as the mapper)', () => {
  test.each([
    ['no issuer: the default system', { id: 'P1' }, `${DEFAULT_SYSTEM}|P1`],
    ['an OID issuer: urn:oid', { id: 'P1', issuer: '1.2.250.1.71.4' }, 'urn:oid:1.2.250.1.71.4|P1'],
    ['an issuer already written as a URN: kept', { id: 'P1', issuer: 'urn:oid:1.2.250.1.71.4' }, 'urn:oid:1.2.250.1.71.4|P1'],
    ['an http(s) issuer: as is', { id: 'P1', issuer: 'https://hospital.example.org/ipp' }, 'https://hospital.example.org/ipp|P1'],
    ['a local name: a deterministic URL', { id: 'P1', issuer: 'HOSPITAL A' }, 'https://imagingfacade.org/fhir/sid/patient-id/HOSPITAL%20A|P1'],
    ['an OID with a leading zero is a local name', { id: 'P1', issuer: '1.02.3' }, 'https://imagingfacade.org/fhir/sid/patient-id/1.02.3|P1'],
    ['an empty issuer: the default system', { id: 'P1', issuer: '  ' }, `${DEFAULT_SYSTEM}|P1`],
    ['spaces around the values are trimmed', { id: ' P1 ', issuer: ' 1.2.5 ' }, 'urn:oid:1.2.5|P1'],
    ['a value with "|" is kept whole', { id: 'A|B' }, `${DEFAULT_SYSTEM}|A|B`],
  ])('%s', (_situation, attributes, expected) => {
    expect(patientKeyOfStudy({ study: study(attributes) }, DEFAULT_SYSTEM)).toBe(expected);
  });

  test('a numeric PatientID value is read as text', () => {
    expect(patientKeyOfStudy({ study: { '00100020': { vr: 'LO', Value: [12345] } } }, DEFAULT_SYSTEM)).toBe(`${DEFAULT_SYSTEM}|12345`);
  });

  test.each([
    ['no PatientID at all', {}],
    ['an empty PatientID', { id: '  ' }],
  ])('%s: no key (the policy alone decides)', (_situation, attributes) => {
    expect(patientKeyOfStudy({ study: study(attributes) }, DEFAULT_SYSTEM)).toBeUndefined();
    expect(patientIdentifierOfStudy(study(attributes), DEFAULT_SYSTEM)).toBeUndefined();
  });
});
