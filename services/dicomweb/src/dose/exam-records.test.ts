import type { ImagingStudy, Observation, ObservationComponent } from '@medplum/fhirtypes';
import { examsOf } from './exam-records';

const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const SCT = 'http://snomed.info/sct';
const UID = '2.25.1234';

const quantity = (code: string, value: number, unit: string): ObservationComponent => ({ code: { coding: [{ system: DCM, code }] }, valueQuantity: { value, unit, system: 'http://unitsofmeasure.org', code: unit } });
const procedure = (system: string, code: string, display: string): ObservationComponent => ({ code: { coding: [{ system: DCM, code: '121058' }] }, valueCodeableConcept: { coding: [{ system, code, display }] } });
const ref = { reference: 'ImagingStudy/s1', identifier: { system: 'urn:dicom:uid', value: `urn:oid:${UID}` } };

function summary(components: ObservationComponent[], members: string[] = [], extra: Partial<Observation> = {}): Observation {
  return {
    resourceType: 'Observation',
    id: 'o1',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '73569-6' }] },
    partOf: [ref],
    focus: [ref],
    effectiveDateTime: '2024-01-05T10:15:00+01:00',
    hasMember: members.map((id) => ({ reference: `Observation/${id}` })),
    component: components,
    ...extra,
  };
}

function ctEvent(id: string, ctdivol: number, protocol: string, region = '51185008', dlp?: number): Observation {
  return {
    resourceType: 'Observation',
    id,
    status: 'final',
    code: { coding: [{ system: DCM, code: '113852' }] },
    component: [
      quantity('113830', ctdivol, 'mGy'),
      ...(dlp === undefined ? [] : [quantity('113838', dlp, 'mGy.cm')]),
      { code: { coding: [{ system: DCM, code: '123014' }] }, valueCodeableConcept: { coding: [{ system: SCT, code: region, display: 'Chest' }] } },
      { code: { coding: [{ system: DCM, code: '125203' }] }, valueString: protocol },
    ],
  };
}

function mammoView(id: string, agd: number, breast: string): Observation {
  return {
    resourceType: 'Observation',
    id,
    status: 'final',
    code: { coding: [{ system: DCM, code: '113852' }] },
    component: [quantity('111631', agd, 'mGy'), { code: { coding: [{ system: SCT, code: '272741003' }] }, valueCodeableConcept: { coding: [{ system: SCT, code: breast }] } }],
  };
}

function study(extra: Partial<ImagingStudy> = {}): ImagingStudy {
  return {
    resourceType: 'ImagingStudy',
    id: 's1',
    status: 'available',
    subject: { reference: 'Patient/p1' },
    identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:${UID}` }],
    started: '2024-01-05T10:15:00+01:00',
    series: [{ uid: '2.25.5', modality: { system: DCM, code: 'SR' }, performer: [{ function: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'DEV' }] }, actor: { type: 'Device', display: 'CT01' } }] }],
    ...extra,
  };
}

describe('an exam from a dose summary, its members and its study', () => {
  test.each([
    [
      'CT report: DLP total from the summary, CTDIvol and DLP per acquisition the largest of the events, protocol and region from the events, device the study\'s station',
      [
        summary([procedure(SCT, '77477000', 'Computed Tomography X-Ray'), quantity('113813', 412.5, 'mGy.cm')], ['e1', 'e2']),
        ctEvent('e1', 3.1, 'Chest routine 2', '51185008', 12.5),
        ctEvent('e2', 11.2, 'Chest routine 1', '51185008', 400),
        study({ modality: [{ system: DCM, code: 'CT' }, { system: DCM, code: 'SR' }] }),
      ],
      { modality: 'CT', device: 'CT01', protocol: 'Chest routine 1', targetRegions: ['51185008'], quantities: { dlp: 412.5, ctdivol: 11.2, dlp_acquisition: 400 }, studyUid: UID, date: '2024-01-05' },
    ],
    [
      'the requested procedure names the protocol first, then the study description',
      [summary([quantity('113813', 100, 'mGy.cm')], ['e1']), ctEvent('e1', 5, 'Chest routine 1'), study({ procedureCode: [{ text: 'TDM thorax' }], description: 'THORAX' })],
      { protocol: 'TDM thorax', modality: 'CT' },
    ],
    [
      'CT without a report: the CTDIvol of the header summary\'s members',
      [summary([procedure(SCT, '77477000', 'Computed Tomography X-Ray')], ['h1']), { resourceType: 'Observation', id: 'h1', status: 'final', code: { coding: [{ system: DCM, code: '113830' }] }, valueQuantity: { value: 8.4, unit: 'mGy', code: 'mGy' } } as Observation, study({ description: 'CT HEAD' })],
      { modality: 'CT', quantities: { ctdivol: 8.4 }, protocol: 'CT HEAD' },
    ],
    [
      'projection report in a study with a DX series: DAP total, modality DX',
      [summary([procedure(DCM, '113704', 'Projection X-Ray'), quantity('113722', 180.5, 'mGy.cm2')]), study({ modality: [{ system: DCM, code: 'DX' }], description: 'Thorax de face' })],
      { modality: 'DX', quantities: { dap: 180.5 }, protocol: 'Thorax de face' },
    ],
    [
      'projection report alone in its study: modality XR (projection, not known), protocol the procedure reported',
      [summary([procedure(DCM, '113704', 'Projection X-Ray'), quantity('113722', 7500, 'mGy.cm2')]), study()],
      { modality: 'XR', protocol: 'Projection X-Ray', quantities: { dap: 7500 } },
    ],
    [
      'mammography: AGD per breast, the larger one, never the sum',
      [summary([quantity('111637', 1.4, 'mGy'), quantity('111637', 1.9, 'mGy')]), study({ modality: [{ system: DCM, code: 'MG' }] })],
      { modality: 'MG', quantities: { agd: 1.9 } },
    ],
    [
      'mammography with its views: AGD per view the most exposed view\'s, AGD per breast the larger breast\'s',
      [
        summary([quantity('111637', 3.1, 'mGy'), quantity('111637', 3.6, 'mGy')], ['v1', 'v2', 'v3', 'v4']),
        ...[['v1', 1.4, '80248007'], ['v2', 1.7, '80248007'], ['v3', 1.5, '73056007'], ['v4', 2.1, '73056007']].map(([id, agd, side]) => mammoView(id as string, agd as number, side as string)),
        study(),
      ],
      { modality: 'MG', quantities: { agd: 3.6, agd_view: 2.1 } },
    ],
    [
      'the Observation\'s own device comes before the study\'s station',
      [summary([quantity('113813', 10, 'mGy.cm')], [], { device: { display: 'Scanner 2 (SN 42)' } }), study()],
      { device: 'Scanner 2 (SN 42)' },
    ],
    [
      'no station anywhere: unknown device',
      [summary([quantity('113813', 10, 'mGy.cm')]), study({ series: [] })],
      { device: 'unknown device' },
    ],
  ])('%s', (_name, resources, expected) => {
    const exams = examsOf(resources as Array<{ resourceType: string; id?: string }>);
    expect(exams).toHaveLength(1);
    expect(exams[0]).toMatchObject(expected);
  });

  test('a value in a unit the dashboard does not use is left out, never converted by guess', () => {
    const [exam] = examsOf([summary([quantity('113722', 2.1, 'Gy.m2')]), study({ modality: [{ system: DCM, code: 'DX' }] })]);
    expect(exam?.quantities).toEqual({});
  });

  test('members and studies of the search are not exams; exams come in date order', () => {
    const later = summary([quantity('113813', 1, 'mGy.cm')], [], { id: 'o2', effectiveDateTime: '2024-02-01T08:00:00Z' });
    const exams = examsOf([later, summary([quantity('113813', 2, 'mGy.cm')], ['e1']), ctEvent('e1', 2, 'x'), study()]);
    expect(exams.map((exam) => exam.observation)).toEqual(['Observation/o1', 'Observation/o2']);
  });
});
