import type { DicomJson } from '@imaging-facade/dicom';
import type { StudyCompletedV1Data } from '@imaging-facade/events';
import type { Observation, ObservationComponent } from '@medplum/fhirtypes';
import { DOSE_SUMMARY_CODE, doseObservations, type DoseContext, type DoseGroup } from './dose-mapping';
import { convertUnit } from './dose-units';
import { dicomDateTimeToFhir } from './study-references';
import { ctReport, projectionReport, radiopharmaceuticalReport, reportContent } from '../test-support/dose-content';
import { validateR4 } from '../test-support/fhir-validation';
import { attr, studySnapshot } from '../test-support/study-events';

const X_RAY_RDSR = '1.2.840.10008.5.1.4.1.1.88.67';
const NM_RDSR = '1.2.840.10008.5.1.4.1.1.88.68';
const SR_UID = '1.2.826.0.1.3680043.10.543.7';

/** A CT study with one more series holding a dose report with `content`. */
function withReport(content: DicomJson | undefined, sopClassUid = X_RAY_RDSR): StudyCompletedV1Data {
  const snapshot = studySnapshot({ series: [{ instances: 2 }], patient: { AccessionNumber: attr('SH', 'ACC-1') } as never });
  snapshot.series.push({
    seriesInstanceUid: '1.2.826.0.1.3680043.10.543',
    attributes: { '00080060': { vr: 'CS', Value: ['SR'] } },
    instances: [
      {
        sopInstanceUid: SR_UID,
        sopClassUid,
        transferSyntaxUid: '1.2.840.10008.1.2.1',
        attributes: {},
        ...(content ? { content } : {}),
      },
    ],
  });
  return snapshot;
}

function context(data: StudyCompletedV1Data): DoseContext {
  return {
    data,
    subject: { reference: 'Patient/p1' },
    study: {
      reference: 'ImagingStudy/s1',
      type: 'ImagingStudy',
      identifier: { system: 'urn:dicom:uid', value: `urn:oid:${data.studyInstanceUid}` },
    },
    started: '2024-01-05T10:15:00+01:00',
    accession: { type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'ACSN' }] }, value: 'ACC-1' },
  };
}

/** A component's value as `value unit`, or its coded value, by component code. */
function components(observation: Observation): Record<string, unknown> {
  return Object.fromEntries(
    (observation.component ?? []).map((component: ObservationComponent) => [
      component.code.coding?.[0]?.code ?? '?',
      component.valueQuantity
        ? `${component.valueQuantity.value} ${component.valueQuantity.code}`
        : (component.valueCodeableConcept?.coding?.[0]?.code ?? component.valueString),
    ]),
  );
}

function only<T>(items: readonly T[]): T {
  expect(items).toHaveLength(1);
  return items[0]!;
}

/** Valid R4 (no error); the only warnings allowed are about `urn:uuid:` references, which the transaction resolves. */
function expectValid(group: DoseGroup): void {
  for (const observation of [group.summary, ...group.members]) {
    const warnings = validateR4(observation.resource).filter((issue) => !/got "urn:uuid:/.test(issue.details?.text ?? ''));
    expect(warnings).toEqual([]);
  }
}

describe('dose Observations from a CT dose report (TID 10011)', () => {
  const events = [
    { uid: '1.2.3.100.1', ctdivol: 12.5, dlp: 375.25 },
    { uid: '1.2.3.100.2', ctdivol: '8.1', dlp: '243' },
  ];
  const data = withReport(ctReport(events));
  const { groups, notes } = doseObservations(context(data));
  const group = only(groups);
  const summary = group.summary.resource;

  it('makes one summary (LOINC 73569-6) and one Observation per irradiation event (DCM 113852), all valid R4', () => {
    expect(summary.code).toEqual({ coding: [DOSE_SUMMARY_CODE] });
    expect(group.members.map((member) => member.resource.code.coding?.[0]?.code)).toEqual(['113852', '113852']);
    expect(notes).toEqual([]);
    expectValid(group);
  });

  it('summarises the procedure reported and the accumulated values, in the units of the IG', () => {
    expect(components(summary)).toEqual({ '121058': '77477000', '113813': '618.25 mGy.cm', '113812': '2 {events}' });
    expect(summary.valueString).toBe('CT Dose Length Product Total = 618.25 mGy.cm');
    expect(summary.effectiveDateTime).toBe('2024-01-05T10:15:00+01:00');
  });

  it('gives each event its mean CTDIvol, DLP, phantom, acquisition type, target region and protocol', () => {
    expect(group.members.map((member) => components(member.resource))).toEqual([
      { '113830': '12.5 mGy', '113838': '375.25 mGy.cm', '113835': '113691', '113820': '116152004', '123014': '51185008', '125203': 'Chest 1' },
      { '113830': '8.1 mGy', '113838': '243 mGy.cm', '113835': '113691', '113820': '116152004', '123014': '51185008', '125203': 'Chest 2' },
    ]);
    expect(group.members[0]?.resource.valueString).toBe('Mean CTDIvol = 12.5 mGy, DLP = 375.25 mGy.cm');
  });

  it.each([
    ['summary', () => summary, { type: 'sop-instance-uid', value: `urn:oid:${SR_UID}` }],
    ['event', () => group.members[0]!.resource, { type: 'irradiation-event-uid', value: 'urn:oid:1.2.3.100.1' }],
  ])('identifies the %s by its DICOM UID and names study, order and patient', (_which, observation, expected) => {
    const resource = observation();
    expect(resource.identifier).toEqual([
      {
        type: { coding: [{ system: 'http://hl7.org/fhir/uv/radiation-dose-summary/CodeSystem/dicom-identifier-type', code: expected.type, display: expect.any(String) }] },
        system: 'urn:dicom:uid',
        value: expected.value,
      },
    ]);
    expect(resource.partOf).toEqual([context(data).study]);
    expect(resource.focus).toEqual([context(data).study]);
    expect(resource.basedOn?.[0]?.identifier?.value).toBe('ACC-1');
    expect(resource.subject).toEqual({ reference: 'Patient/p1' });
    expect(resource.status).toBe('final');
  });

  it('links the summary to its events (hasMember, by fullUrl and identifier), each with a stable conditional URL', () => {
    expect(summary.hasMember).toEqual(
      group.members.map((member) => ({ reference: member.fullUrl, type: 'Observation', identifier: member.resource.identifier?.[0] })),
    );
    expect(group.summary.search).toEqual({ identifier: `urn:dicom:uid|urn:oid:${SR_UID}`, code: 'http://loinc.org|73569-6' });
    expect(group.members[0]?.search).toEqual({
      identifier: 'urn:dicom:uid|urn:oid:1.2.3.100.1',
      code: 'http://dicom.nema.org/resources/ontology/DCM|113852',
    });
    expect(doseObservations(context(data)).groups[0]?.summary.fullUrl).toBe(group.summary.fullUrl);
  });

  it('reads by concept, not by position: a report with its items in another order gives the same values', () => {
    const content = ctReport(events);
    const tree = content['0040A730']!.Value as DicomJson[];
    const reversed = (items: DicomJson[]): DicomJson[] =>
      [...items].reverse().map((item) => (item['0040A730'] ? { ...item, '0040A730': { vr: 'SQ', Value: reversed(item['0040A730'].Value as DicomJson[]) } } : item));
    const shuffled = { ...content, '0040A730': { vr: 'SQ', Value: reversed(tree) } };
    const other = only(doseObservations(context({ ...data, series: withReport(shuffled).series })).groups);
    expect(components(other.summary.resource)).toEqual(components(summary));
    const byUid = (members: DoseGroup['members']) =>
      Object.fromEntries(members.map((member) => [member.resource.identifier?.[0]?.value, components(member.resource)]));
    expect(byUid(other.members)).toEqual(byUid(group.members));
    expect(other.summary.resource.effectiveDateTime).toBe(summary.effectiveDateTime);
  });

  it('reads a report written with the legacy SNOMED-RT codes (P5-08000) as a CT report', () => {
    const legacy = only(doseObservations(context(withReport(ctReport(events, { legacy: true })))).groups);
    expect(components(legacy.summary.resource)['121058']).toBe('77477000');
    expect(legacy.members).toHaveLength(2);
  });
});

describe('dose Observations from a projection X-ray dose report (TID 10001)', () => {
  const events = [
    { uid: '1.2.3.200.1', start: '20240105101600.000000+0100', dap: 0.00004512, doseRp: 0.0021, fluoro: true },
    { uid: '1.2.3.200.2', start: '20240105102000', dap: 0.0000903, doseRp: 0.0045, fluoro: false },
  ];

  it('converts Gy.m2 to mGy.cm2 and Gy to mGy exactly, never relabelling them', () => {
    const group = only(doseObservations(context(withReport(projectionReport([{ dap: 0.0013639, doseRp: 0.212, fluoroTime: 450, frames: 120 }], events)))).groups);
    expect(components(group.summary.resource)).toEqual({
      '121058': '113704',
      '113722': '13639 mGy.cm2',
      '113725': '212 mGy',
      '113730': '450 s',
      '113731': '120 {frames}',
    });
    expect(group.summary.resource.valueString).toBe('DAP Total = 13639 mGy.cm2, Dose (RP) Total = 212 mGy, Total Fluoro Time = 450 s, Radiographic Frames = 120 {frames}');
    expect(group.members.map((member) => components(member.resource))).toEqual([
      { '122130': '451.2 mGy.cm2', '113738': '2.1 mGy', '113721': '44491008' },
      { '122130': '903 mGy.cm2', '113738': '4.5 mGy', '113721': '113611' },
    ]);
    expectValid(group);
  });

  it("dates each event by its DateTime Started, in the study's offset when the DT has none", () => {
    const group = only(doseObservations(context(withReport(projectionReport([{ dap: 1e-4, doseRp: 0.01, fluoroTime: 10, frames: 0 }], events)))).groups);
    expect(group.members.map((member) => member.resource.effectiveDateTime)).toEqual(['2024-01-05T10:16:00.000000+01:00', '2024-01-05T10:20:00+01:00']);
  });

  it('adds up the planes of a biplane system; the fluoro time is the longest plane', () => {
    const planes = [
      { dap: 0.001, doseRp: 0.1, fluoroTime: 300, frames: 50, plane: ['113620', 'DCM', 'Plane A'] as [string, string, string] },
      { dap: 0.0005, doseRp: 0.05, fluoroTime: 280, frames: 40, plane: ['113621', 'DCM', 'Plane B'] as [string, string, string] },
    ];
    const group = only(doseObservations(context(withReport(projectionReport(planes, [])))).groups);
    expect(components(group.summary.resource)).toMatchObject({ '113722': '15000 mGy.cm2', '113725': '150 mGy', '113730': '300 s', '113731': '90 {frames}' });
  });

  it.each([
    ['dGy.cm2', 136.39, '13639 mGy.cm2'],
    ['uGy.m2', 1363.9, '13639 mGy.cm2'],
    ['cGy.cm2', 1363.9, '13639 mGy.cm2'],
    ['mGy.cm2', 13639, '13639 mGy.cm2'],
  ])('converts a DAP total stated in %s', (unit, value, expected) => {
    const group = only(doseObservations(context(withReport(projectionReport([{ dap: value, dapUnit: unit, doseRp: 0.1, fluoroTime: 1, frames: 1 }], [])))).groups);
    expect(components(group.summary.resource)['113722']).toBe(expected);
  });

  it('leaves out a value whose unit cannot be converted (R for roentgen), and says why', () => {
    const { groups, notes } = doseObservations(context(withReport(projectionReport([{ dap: 5, dapUnit: 'R.cm2', doseRp: 0.1, fluoroTime: 1, frames: 1 }], []))));
    expect(components(only(groups).summary.resource)).not.toHaveProperty('113722');
    expect(notes).toEqual([expect.stringMatching(/Dose Area Product Total in R\.cm2 cannot be given in mGy\.cm2/)]);
  });
});

describe('dose Observations from a radiopharmaceutical dose report (TID 10021)', () => {
  it.each([
    ['MBq', 250, '250 MBq'],
    ['mCi', 10, '370 MBq'],
    ['GBq', 0.25, '250 MBq'],
  ])('summarises the administered activity given in %s, the agent, the radionuclide and the route', (unit, value, expected) => {
    const group = only(doseObservations(context(withReport(radiopharmaceuticalReport(value, unit), NM_RDSR))).groups);
    expect(components(group.summary.resource)).toEqual({
      '121058': '113502',
      '113507': expected,
      '349358000': '35321007',
      '89457008': '77004003',
      '410675002': '47625008',
    });
    expect(group.members).toEqual([]);
    expect(group.summary.resource.effectiveDateTime).toBe('2024-01-05T09:30:00+01:00');
    expectValid(group);
  });
});

describe('bad or partial dose data never breaks the mapping', () => {
  it.each([
    ['a report without content', undefined, /no content this mapping reads/],
    ['content without a title', { '0040A730': { vr: 'SQ', Value: [] } }, /no content this mapping reads/],
    ['a report of another template', reportContent(['126000', 'DCM', 'Imaging Measurement Report'], '1500', []), /no content this mapping reads/],
    ['a CT report without any value', reportContent(['113701', 'DCM', 'X-Ray Radiation Dose Report'], '10011', []), /no dose values/],
    ['values of the wrong JSON types', { '0040A043': { vr: 'SQ', Value: ['not an item', 42] }, '0040A730': { vr: 'SQ', Value: [null, {}] } }, /no content/],
  ])('%s: no Observation, a note', (_situation, content, note) => {
    const { groups, notes } = doseObservations(context(withReport(content as DicomJson | undefined)));
    expect(groups).toEqual([]);
    expect(notes).toEqual([expect.stringMatching(note)]);
  });

  it('an event without an Irradiation Event UID, or with one that is not a UID, is left out; the others are kept', () => {
    const { groups, notes } = doseObservations(
      context(withReport(ctReport([{ ctdivol: 1, dlp: 2 }, { uid: 'not-a-uid', ctdivol: 1, dlp: 2 }, { uid: '1.2.3.4', ctdivol: 1, dlp: 2 }]))),
    );
    expect(only(groups).members).toHaveLength(1);
    expect(notes).toHaveLength(2);
  });

  it('a numeric value that is not a number is ignored', () => {
    const { groups } = doseObservations(context(withReport(ctReport([{ uid: '1.2.3.4', ctdivol: 'n/a', dlp: 20 }]))));
    expect(components(only(groups).members[0]!.resource)).not.toHaveProperty('113830');
  });
});

describe('a CT study without a dose report: CTDIvol from the image headers', () => {
  function ctStudy(ctdivols: Array<Array<number | undefined>>, modality = 'CT'): StudyCompletedV1Data {
    const snapshot = studySnapshot({ series: ctdivols.map((values) => ({ instances: values.length, modality })) });
    snapshot.series.forEach((series, index) =>
      series.instances.forEach((instance, position) => {
        const value = ctdivols[index]![position];
        if (value !== undefined) {
          instance.attributes['00189345'] = { vr: 'FD', Value: [value] };
        }
      }),
    );
    return snapshot;
  }

  it('gives the mean CTDIvol of each CT series, under a summary, without inventing a DLP', () => {
    const data = ctStudy([[10, 12, 14], [undefined, undefined], [5.5]]);
    const group = only(doseObservations(context(data)).groups);
    expect(group.members.map((member) => [member.resource.code.coding?.[0]?.code, member.resource.valueQuantity])).toEqual([
      ['113830', { value: 12, unit: 'mGy', system: 'http://unitsofmeasure.org', code: 'mGy' }],
      ['113830', { value: 5.5, unit: 'mGy', system: 'http://unitsofmeasure.org', code: 'mGy' }],
    ]);
    expect(group.members[0]?.resource.identifier).toEqual([{ system: 'urn:dicom:uid', value: `urn:oid:${data.series[0]!.seriesInstanceUid}` }]);
    expect(group.summary.resource.identifier?.[0]?.value).toBe(`urn:oid:${data.studyInstanceUid}`);
    expect(group.summary.resource.valueString).toBe('Mean CTDIvol: series 1 12 mGy; series 3 5.5 mGy');
    expect(components(group.summary.resource)).toEqual({ '121058': '77477000' });
    expect(group.summary.resource.effectiveDateTime).toBe('2024-01-05T10:15:00+01:00');
    expectValid(group);
  });

  it.each([
    ['images without CTDIvol', [[undefined]], 'CT'],
    ['a modality other than CT', [[10]], 'MR'],
  ])('with %s, no Observation', (_situation, values, modality) => {
    expect(doseObservations(context(ctStudy(values, modality))).groups).toEqual([]);
  });

  it('a study with a dose report takes its values from the report, not from the headers', () => {
    const data = withReport(ctReport([{ uid: '1.2.3.4', ctdivol: 1, dlp: 2 }]));
    data.series[0]!.instances[0]!.attributes['00189345'] = { vr: 'FD', Value: [99] };
    const group = only(doseObservations(context(data)).groups);
    expect(group.summary.resource.identifier?.[0]?.value).toBe(`urn:oid:${SR_UID}`);
  });
});

describe('convertUnit', () => {
  it.each([
    [1, 'Gy.m2', 'mGy.cm2', 1e7],
    [0.0013639, 'Gy.m2', 'mGy.cm2', 13639],
    [2.5, 'Gy', 'mGy', 2500],
    [1500, 'ms', 's', 1.5],
    [1, 'mCi', 'MBq', 37],
    [3, '{frames}', '{frames}', 3],
    [1, 'Gy', 'mGy.cm2', undefined],
    [1, 'R', 'mGy', undefined],
    [Number.NaN, 'Gy', 'mGy', undefined],
  ])('%s %s → %s %s', (value, from, to, expected) => {
    expect(convertUnit(value, from, to)).toBe(expected);
  });
});

describe('dicomDateTimeToFhir', () => {
  it.each([
    ['20240105101500.123456+0100', undefined, '2024-01-05T10:15:00.123456+01:00'],
    ['20240105101500', '-0500', '2024-01-05T10:15:00-05:00'],
    ['20240105101500', undefined, '2024-01-05'],
    ['202401', undefined, '2024-01'],
    ['2024', '+0100', '2024'],
    ['20241305', undefined, undefined],
    ['yesterday', undefined, undefined],
    [undefined, undefined, undefined],
  ])('%s (study offset %s) → %s', (dt, offset, expected) => {
    expect(dicomDateTimeToFhir(dt, offset)).toBe(expected);
  });

  it.each([
    // Without any offset, the node's zone gives one (the offset that zone had that day).
    ['20240105101500', undefined, '2024-01-05T10:15:00+01:00'],
    ['20240705101500.5', undefined, '2024-07-05T10:15:00.5+02:00'],
    // An offset in the value or the study's wins.
    ['20240705101500', '-0500', '2024-07-05T10:15:00-05:00'],
    ['20240705101500+0000', undefined, '2024-07-05T10:15:00+00:00'],
    ['20240705', undefined, '2024-07-05'],
    // A study offset written wrong says the zone is not known: not the node's either.
    ['20240705101500', '0100', '2024-07-05'],
    ['20240705101500', '+1500', '2024-07-05'], // beyond +14:00
    ['20240705101500+0160', undefined, '2024-07-05'], // 60 minutes
  ])('%s (study offset %s) on a node in Europe/Paris → %s', (dt, offset, expected) => {
    expect(dicomDateTimeToFhir(dt, offset, 'Europe/Paris')).toBe(expected);
  });
});
