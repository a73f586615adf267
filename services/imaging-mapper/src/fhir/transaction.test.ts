import type { ImagingStudy, Observation, Patient } from '@medplum/fhirtypes';
import { conditionalUrl, urnUuid } from '@imaging-facade/fhir';
import { guardedEntry, imagingStudyEntry, patientCreateEntry, referenceTo, transactionBundle } from './transaction';

const patientIdentifier = { system: 'https://hospital.example/mrn', value: 'PID|1' };
const studyIdentifier = { system: 'urn:dicom:uid', value: 'urn:oid:1.2.3' };
const patient: Patient = { resourceType: 'Patient', identifier: [patientIdentifier] };
const study: ImagingStudy = { resourceType: 'ImagingStudy', status: 'available', subject: { reference: 'Patient/1' } };
const observation: Observation = { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '73569-6' }] } };
const observationSearch = { identifier: 'urn:dicom:uid|urn:oid:1.2.3.4', code: 'http://loinc.org|73569-6' };
const observationUrl = urnUuid(conditionalUrl('Observation', observationSearch));

describe('the transaction entries', () => {
  it.each([
    [
      'a new Patient: conditional create on its identifier (separators escaped, then percent-encoded)',
      patientCreateEntry(patient, patientIdentifier),
      {
        method: 'POST',
        url: 'Patient',
        ifNoneExist: 'identifier=https%3A%2F%2Fhospital.example%2Fmrn%7CPID%5C%7C1',
      },
    ],
    [
      'a new ImagingStudy: conditional create on its identifier',
      imagingStudyEntry(study, studyIdentifier),
      { method: 'POST', url: 'ImagingStudy', ifNoneExist: 'identifier=urn%3Adicom%3Auid%7Curn%3Aoid%3A1.2.3' },
    ],
    [
      'a stored ImagingStudy: update by id, If-Match on the version read',
      imagingStudyEntry(study, studyIdentifier, { id: '42', versionId: '3' }),
      { method: 'PUT', url: 'ImagingStudy/42', ifMatch: 'W/"3"' },
    ],
    [
      'a stored ImagingStudy without a version: update by id, no If-Match',
      imagingStudyEntry(study, studyIdentifier, { id: '42' }),
      { method: 'PUT', url: 'ImagingStudy/42' },
    ],
    [
      'a new dose Observation: conditional create on its search (identifier and code), never a conditional update',
      guardedEntry(observation, observationSearch, observationUrl),
      { method: 'POST', url: 'Observation', ifNoneExist: 'identifier=urn%3Adicom%3Auid%7Curn%3Aoid%3A1.2.3.4&code=http%3A%2F%2Floinc.org%7C73569-6' },
    ],
    [
      'a stored dose Observation: update by id, If-Match on the version read',
      guardedEntry(observation, observationSearch, observationUrl, { id: '7', versionId: '2' }),
      { method: 'PUT', url: 'Observation/7', ifMatch: 'W/"2"' },
    ],
  ])('%s', (_situation, entry, request) => {
    expect(entry.request).toEqual(request);
    expect(entry.fullUrl).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('references a created Patient by its urn:uuid', () => {
    const entry = patientCreateEntry(patient, patientIdentifier);
    expect(referenceTo(entry)).toEqual({ reference: entry.fullUrl });
  });

  it('gives the same fullUrl for the same identifier and a different one otherwise', () => {
    expect(patientCreateEntry(patient, patientIdentifier).fullUrl).toBe(
      patientCreateEntry(patient, patientIdentifier).fullUrl,
    );
    expect(patientCreateEntry(patient, { ...patientIdentifier, value: 'other' }).fullUrl).not.toBe(
      patientCreateEntry(patient, patientIdentifier).fullUrl,
    );
    expect(imagingStudyEntry(study, studyIdentifier).fullUrl).not.toBe(
      patientCreateEntry(patient, patientIdentifier).fullUrl,
    );
  });

  it('wraps the entries, in order, in a transaction Bundle', () => {
    const entries = [patientCreateEntry(patient, patientIdentifier), imagingStudyEntry(study, studyIdentifier)];
    expect(transactionBundle(entries)).toEqual({ resourceType: 'Bundle', type: 'transaction', entry: entries });
  });
});
