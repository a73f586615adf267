import type { ImagingStudy, Observation } from '@medplum/fhirtypes';
import { CUMULATIVE_DOSE_CODE } from '@imaging-facade/fhir';
import { studySummary } from './study-summary';

const UID = '1.2.826.0.1.3680043.8.498.1';
const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const mGy = (value: number, code: string) => ({ value, unit: code, system: 'http://unitsofmeasure.org', code });

const study: ImagingStudy = {
  resourceType: 'ImagingStudy',
  id: 's1',
  status: 'available',
  subject: { reference: 'Patient/p1' },
  identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:${UID}` }],
  description: 'CT thorax',
  started: '2024-01-05T10:15:00+01:00',
  location: { display: 'Radiology' },
  modality: [{ system: DCM, code: 'CT' }],
  series: [
    {
      uid: '1.2.3',
      modality: { system: DCM, code: 'CT' },
      performer: [
        { function: { coding: [{ code: 'LOC' }] }, actor: { display: 'Hôpital Nord' } },
        { function: { coding: [{ code: 'DEV' }] }, actor: { display: 'CT01' } },
      ],
    },
  ],
};
const event: Observation = { resourceType: 'Observation', id: 'e1', status: 'final', code: { coding: [{ system: DCM, code: '113819' }] }, component: [{ code: { coding: [{ system: DCM, code: '113830' }] }, valueQuantity: mGy(12.5, 'mGy') }] };
const summary: Observation = {
  resourceType: 'Observation',
  id: 'd1',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '73569-6' }] },
  partOf: [{ reference: 'ImagingStudy/s1' }],
  effectiveDateTime: '2024-01-05T10:15:00+01:00',
  hasMember: [{ reference: 'Observation/e1' }],
  component: [{ code: { coding: [{ system: DCM, code: '113813' }] }, valueQuantity: mGy(480.2, 'mGy.cm') }],
};
const cumulative: Observation = {
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [CUMULATIVE_DOSE_CODE] },
  valueString: 'CT DLP = 900.2 mGy.cm; over 2 studies',
  effectivePeriod: { start: '2023-02-01T09:00:00Z', end: '2024-01-05T10:15:00+01:00' },
  component: [{ code: { coding: [{ system: DCM, code: '113813', display: 'CT Dose Length Product Total' }] }, valueQuantity: mGy(900.2, 'mGy.cm') }],
};

describe('the summary the viewer shows beside a study', () => {
  test('what the index says (description, day, institution and department), the study dose and the cumulative dose', () => {
    const result = studySummary(UID, [study, summary, event], cumulative, true);
    expect(result.display).toEqual({
      study: 'Index: CT thorax · 2024-01-05 · Hôpital Nord, Radiology',
      dose: 'Study dose: CT CTDIvol 12.5 mGy, DLP 480.2 mGy.cm',
      cumulative: 'Patient cumulative dose: CT Dose Length Product Total 900.2 mGy.cm (2 studies)',
    });
    expect(result.cumulative).toMatchObject({ studies: 2, from: '2023-02-01T09:00:00Z' });
  });

  test('a token that may not read Observations: the index facts only, the dose left out (not "none")', () => {
    const result = studySummary(UID, [study, summary, event], cumulative, false);
    expect(result.dose).toBeUndefined();
    expect(result.cumulative).toBeUndefined();
    expect(Object.keys(result.display)).toEqual(['study']);
  });

  test('a study without a dose report, a patient without a cumulative dose: no dose lines', () => {
    const result = studySummary(UID, [study], undefined, true);
    expect(result).toMatchObject({ dose: [], cumulative: null });
    expect(Object.keys(result.display)).toEqual(['study']);
  });

  test('a study the index does not hold yet says so', () => {
    expect(studySummary(UID, [], undefined, true).display.study).toBe('Index: this study is not in the index yet');
  });

  test('only what the index knows is said: no "no description · no date · no site" over the image', () => {
    const bare = { resourceType: 'ImagingStudy', id: 'bare', status: 'available', subject: {}, identifier: study.identifier } as ImagingStudy;
    expect(studySummary(UID, [bare], undefined, false).display.study).toBe('');
    expect(studySummary(UID, [{ ...bare, started: '2004-08-26' } as ImagingStudy], undefined, false).display.study).toBe('Index: 2004-08-26');
  });
});
