import { codedConcept, codingSystem, LOCAL_CODING_SCHEME_BASE } from './dicom-codes';
import { DicomDataset, type Keyword } from './mapped-attributes';
import type { DicomAttribute } from '@imaging-facade/dicom';
import { attr, dataset } from '../test-support/study-events';

describe('Coding Scheme Designator → FHIR system', () => {
  it.each([
    ['DCM', '113000', 'http://dicom.nema.org/resources/ontology/DCM'],
    ['SCT', '43799004', 'http://snomed.info/sct'],
    ['SRT', '43799004', 'http://snomed.info/sct'],
    ['SRT', 'T-D3000', 'http://snomed.info/srt'],
    ['SNM3', 'T-D3000', 'http://snomed.info/srt'],
    ['99SDM', 'T-D3000', 'http://snomed.info/srt'],
    ['LN', '24627-2', 'http://loinc.org'],
    ['ln', '24627-2', 'http://loinc.org'],
    ['UCUM', 'mGy', 'http://unitsofmeasure.org'],
    ['RADLEX', 'RPID16', 'http://www.radlex.org'],
    ['NCIt', 'C12345', 'http://ncit.nci.nih.gov'],
    ['I10', 'J18.9', 'http://hl7.org/fhir/sid/icd-10'],
    ['2.16.840.1.113883.6.1', '24627-2', 'urn:oid:2.16.840.1.113883.6.1'],
    ['99CHU', 'TDM-THX', `${LOCAL_CODING_SCHEME_BASE}99CHU`],
    ['L', 'X', `${LOCAL_CODING_SCHEME_BASE}L`],
    ['99 LOCAL/A', 'X', `${LOCAL_CODING_SCHEME_BASE}99%20LOCAL%2FA`],
  ])('%s (code %s) → %s', (designator, code, system) => {
    expect(codingSystem(designator, code)).toBe(system);
  });
});

describe('a code sequence item → CodeableConcept', () => {
  const item = (attributes: Partial<Record<Keyword, DicomAttribute>>) => new DicomDataset(dataset(attributes));

  it.each<[string, Partial<Record<Keyword, DicomAttribute>>, unknown, boolean]>([
    [
      'Code Value, scheme, version and meaning',
      { CodeValue: attr('SH', '18748-4'), CodingSchemeDesignator: attr('SH', 'LN'), CodingSchemeVersion: attr('SH', '2.73'), CodeMeaning: attr('LO', 'Diagnostic imaging report') },
      { coding: [{ system: 'http://loinc.org', version: '2.73', code: '18748-4', display: 'Diagnostic imaging report' }] },
      true,
    ],
    [
      'a Long Code Value',
      { LongCodeValue: attr('UC', 'A-very-long-code-value-beyond-sixteen-characters'), CodingSchemeDesignator: attr('SH', '99X') },
      { coding: [{ system: `${LOCAL_CODING_SCHEME_BASE}99X`, code: 'A-very-long-code-value-beyond-sixteen-characters' }] },
      true,
    ],
    [
      'a URN Code Value is its own system',
      { URNCodeValue: attr('UR', 'urn:oid:1.2.3.4'), CodeMeaning: attr('LO', 'Thing') },
      { coding: [{ system: 'urn:ietf:rfc:3986', code: 'urn:oid:1.2.3.4', display: 'Thing' }] },
      true,
    ],
    ['a code without a scheme: its meaning as text', { CodeValue: attr('SH', 'X'), CodeMeaning: attr('LO', 'Thing') }, { text: 'Thing' }, false],
    ['a scheme and a meaning without a code', { CodingSchemeDesignator: attr('SH', 'LN'), CodeMeaning: attr('LO', 'Thing') }, { text: 'Thing' }, false],
    ['nothing usable', { CodeValue: attr('SH') }, undefined, false],
  ])('%s', (_situation, attributes, concept, complete) => {
    expect(codedConcept(item(attributes))).toEqual({ concept, complete });
  });
});
