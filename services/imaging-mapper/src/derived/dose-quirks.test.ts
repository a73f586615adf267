import type { DicomJson } from '@imaging-facade/dicom';
import type { Observation } from '@medplum/fhirtypes';
import { doseObservations, type DoseGroup } from './dose-mapping';
import { LATERALITY_EXTENSION } from './dose-components';
import { container, coded, ctReport, mammographyReport, num, projectionReport, reportContent, type Plane, X_RAY_DOSE_REPORT } from '../test-support/dose-content';
import { componentValues, doseContext, studyWithReports } from '../test-support/dose-study';
import { validateR4 } from '../test-support/fhir-validation';

/**
 * What real vendor RDSRs do that the templates do not say (units spelled their own way, doses per
 * breast, accumulated values in several places or none), each reproduced synthetically: one case per
 * quirk, the values expected in the IG's UCUM units.
 */

function mapOne(content: DicomJson): { group: DoseGroup; notes: string[] } {
  const { groups, notes } = doseObservations(doseContext(studyWithReports([content])));
  expect(groups).toHaveLength(1);
  return { group: groups[0]!, notes };
}
const summaryOf = (content: DicomJson): Observation => mapOne(content).group.summary.resource;
const plane = (overrides: Partial<Plane>): Plane => ({ dap: 0.0013639, doseRp: 0.212, fluoroTime: 450, frames: 12, ...overrides });
const events = [{ uid: '1.2.3.900.1', ctdivol: 12.5, dlp: 375.25 }, { uid: '1.2.3.900.2', ctdivol: 8.1, dlp: 243 }];

describe('units that are not UCUM as PS3.16 asks, read through the alias table', () => {
  it.each([
    ['CT DLP total, designator "UCUM 1.4"', ctReport(events, { unitScheme: 'UCUM 1.4' }), '113813', '618.25 mGy.cm'],
    ['CT DLP total in "mGycm" (no separator)', ctReport(events, { totalUnit: 'mGycm' }), '113813', '618.25 mGy.cm'],
    ['CT DLP total in "mGy*cm"', ctReport(events, { totalUnit: 'mGy*cm' }), '113813', '618.25 mGy.cm'],
    ['CT DLP total in UCUM\'s case-insensitive "MGY.CM"', ctReport(events, { totalUnit: 'MGY.CM' }), '113813', '618.25 mGy.cm'],
    ['CT DLP total in "Gy.cm"', ctReport(events, { totalUnit: 'Gy.cm', total: 0.61825 }), '113813', '618.25 mGy.cm'],
    ['DAP total in "dGy*cm2"', projectionReport([plane({ dap: 136.39, dapUnit: 'dGy*cm2' })], []), '113722', '13639 mGy.cm2'],
    ['DAP total in "Gy*m2"', projectionReport([plane({ dapUnit: 'Gy*m2' })], []), '113722', '13639 mGy.cm2'],
    ['DAP total in "Gy.m²"', projectionReport([plane({ dapUnit: 'Gy.m²' })], []), '113722', '13639 mGy.cm2'],
    ['DAP total in "mGy.cm²"', projectionReport([plane({ dap: 13639, dapUnit: 'mGy.cm²' })], []), '113722', '13639 mGy.cm2'],
    ['fluoro time in "sec"', projectionReport([plane({ fluoroTimeUnit: 'sec' })], []), '113730', '450 s'],
    ['fluoro time in "min"', projectionReport([plane({ fluoroTime: 7.5, fluoroTimeUnit: 'min' })], []), '113730', '450 s'],
    ['fluoro time in "S" (case-insensitive UCUM)', projectionReport([plane({ fluoroTimeUnit: 'S' })], []), '113730', '450 s'],
    ['frames counted in unit "1"', projectionReport([plane({ framesUnit: '1' })], []), '113731', '12 {frames}'],
  ])('%s', (_quirk, content, code, expected) => {
    expect(componentValues(summaryOf(content))[code]).toBe(expected);
  });

  it.each([
    ['a unit of another quantity (roentgen)', projectionReport([plane({ dap: 5, dapUnit: 'R.cm2' })], []), '113722', /Dose Area Product Total: the report gives 5 in R\.cm2, cannot be given in mGy\.cm2/],
    ['a spelling not in the table', ctReport(events, { totalUnit: 'mGy/cm', total: 618.25 }), '113813', /CT Dose Length Product Total: the report gives 618\.25 in mGy\/cm, cannot be given in mGy\.cm: the unit is not understood/],
    ['a unit of a DLP that is a dose (mGy)', ctReport(events, { totalUnit: 'mGy', total: 618.25 }), '113813', /gives 618\.25 in mGy, cannot be given in mGy\.cm/],
    ['a private coding scheme', ctReport(events, { unitScheme: '99GEMS' }), '113813', /in mGy\.cm \(coding scheme 99GEMS\), cannot be given in mGy\.cm: the unit is not understood/],
  ])('%s: no number, a note on the Observation with the raw value and unit, a log note without the value', (_quirk, content, code, annotation) => {
    const { group, notes } = mapOne(content);
    const summary = group.summary.resource;
    expect(componentValues(summary)).not.toHaveProperty(code);
    expect(summary.note?.map((note) => note.text)).toEqual([expect.stringMatching(annotation)]);
    expect(notes.length).toBeGreaterThan(0);
    expect(notes.join(' ')).not.toMatch(/618\.25|\b5 in/);
    expect(validateR4(summary).filter((issue) => !/urn:uuid:/.test(issue.details?.text ?? ''))).toEqual([]);
  });

  it('a report whose only value is in a unit not understood is still published, with the note', () => {
    const content = reportContent(X_RAY_DOSE_REPORT, '10011', [
      container(['113811', 'DCM', 'CT Accumulated Dose Data'], [num(['113813', 'DCM', 'CT Dose Length Product Total'], 42, 'mGy/cm')]),
    ]);
    const { group } = mapOne(content);
    expect(componentValues(group.summary.resource)).toEqual({});
    expect(group.members).toEqual([]);
    expect(group.summary.resource.note?.[0]?.text).toMatch(/gives 42 in mGy\/cm/);
  });

  it('the events of a report with private unit codes are not published as numbers either', () => {
    const { group } = mapOne(ctReport(events, { unitScheme: '99GEMS' }));
    for (const member of group.members) {
      expect(componentValues(member.resource)).not.toHaveProperty('113838');
      expect(member.resource.note?.[0]?.text).toMatch(/DLP: the report gives .* \(coding scheme 99GEMS\)/);
    }
  });
});

describe('mammography: the average glandular dose is per breast, never added across breasts', () => {
  const exposures = [
    { uid: '1.2.3.901.1', side: 'left' as const, agd: 0.61 },
    { uid: '1.2.3.901.2', side: 'left' as const, agd: 0.72 },
    { uid: '1.2.3.901.3', side: 'right' as const, agd: 0.83 },
  ];

  it.each([
    ['SNOMED CT codes', false],
    ['legacy SNOMED-RT codes (G-C171, T-04030, T-04020)', true],
  ])('one component per breast from the accumulated values (%s), with the laterality coded', (_codes, legacy) => {
    const summary = summaryOf(mammographyReport([{ side: 'left', agd: 1.33 }, { side: 'right', agd: 0.83 }], exposures, legacy));
    expect(componentValues(summary)).toEqual({
      '121058': '71651007',
      'Accumulated Average Glandular Dose, left breast': '1.33 mGy',
      'Accumulated Average Glandular Dose, right breast': '0.83 mGy',
    });
    const agd = summary.component!.filter((component) => component.code.coding?.[0]?.code === '111637');
    expect(agd.map((component) => component.extension)).toEqual([
      [{ url: LATERALITY_EXTENSION, valueCodeableConcept: { coding: [{ system: 'http://snomed.info/sct', code: '80248007', display: 'Left breast' }] } }],
      [{ url: LATERALITY_EXTENSION, valueCodeableConcept: { coding: [{ system: 'http://snomed.info/sct', code: '73056007', display: 'Right breast' }] } }],
    ]);
    expect(summary.valueString).toBe('AGD left breast = 1.33 mGy, AGD right breast = 0.83 mGy');
    expect(summary.note).toBeUndefined();
  });

  it('without accumulated values: per breast, the sum of that breast\'s exposures, said in a note', () => {
    const summary = summaryOf(mammographyReport([], exposures));
    expect(componentValues(summary)).toMatchObject({
      'Accumulated Average Glandular Dose, left breast': '1.33 mGy',
      'Accumulated Average Glandular Dose, right breast': '0.83 mGy',
    });
    expect(summary.note?.map((note) => note.text)).toEqual([
      'Accumulated Average Glandular Dose, left breast: the report has no accumulated value; the sum of the Average Glandular Dose of its 2 irradiation event(s).',
      'Accumulated Average Glandular Dose, right breast: the report has no accumulated value; the sum of the Average Glandular Dose of its 1 irradiation event(s).',
    ]);
  });

  it('a dose given for both breasts stays apart from the per-breast ones', () => {
    const summary = summaryOf(mammographyReport([{ side: 'left', agd: 1 }, { side: 'right', agd: 2 }, { side: 'both', agd: 3 }], []));
    expect(componentValues(summary)).toMatchObject({
      'Accumulated Average Glandular Dose, left breast': '1 mGy',
      'Accumulated Average Glandular Dose, right breast': '2 mGy',
      'Accumulated Average Glandular Dose, both breasts': '3 mGy',
    });
  });

  it('each exposure gives its breast and its average glandular dose', () => {
    const { group } = mapOne(mammographyReport([{ side: 'left', agd: 1.33 }], exposures));
    expect(group.members.map((member) => componentValues(member.resource))).toEqual([
      { '111631': '0.61 mGy', '272741003': '80248007', '113721': '113611' },
      { '111631': '0.72 mGy', '272741003': '80248007', '113721': '113611' },
      { '111631': '0.83 mGy', '272741003': '73056007', '113721': '113611' },
    ]);
  });
});

describe('accumulated values in several places, or none: counted once', () => {
  it('a biplane report with an "All Planes" container: that one only, not added to planes A and B', () => {
    const planes = [
      plane({ dap: 0.001, doseRp: 0.1, fluoroTime: 300, frames: 50, plane: ['113620', 'DCM', 'Plane A'] }),
      plane({ dap: 0.0005, doseRp: 0.05, fluoroTime: 280, frames: 40, plane: ['113621', 'DCM', 'Plane B'] }),
      plane({ dap: 0.0015, doseRp: 0.15, fluoroTime: 300, frames: 90, plane: ['113890', 'DCM', 'All Planes'] }),
    ];
    expect(componentValues(summaryOf(projectionReport(planes, [])))).toMatchObject({ '113722': '15000 mGy.cm2', '113725': '150 mGy', '113730': '300 s', '113731': '90 {frames}' });
  });

  it('a CT accumulated container written twice counts once', () => {
    const report = ctReport(events);
    const tree = report['0040A730']!.Value as DicomJson[];
    const accumulated = tree.find((item) => JSON.stringify(item).includes('113811'))!;
    const twice = { ...report, '0040A730': { vr: 'SQ', Value: [...tree, accumulated] } };
    expect(componentValues(summaryOf(twice))['113813']).toBe('618.25 mGy.cm');
  });

  it('the accumulated value wins over the events when both are present (no note)', () => {
    const summary = summaryOf(ctReport(events, { total: 700 }));
    expect(componentValues(summary)['113813']).toBe('700 mGy.cm');
    expect(summary.note).toBeUndefined();
  });

  it('a CT report without accumulated data: the DLP total is the sum of its events, said in a note', () => {
    const summary = summaryOf(ctReport(events, { accumulated: false }));
    expect(componentValues(summary)['113813']).toBe('618.25 mGy.cm');
    expect(summary.note?.[0]?.text).toBe('CT Dose Length Product Total: the report has no accumulated value; the sum of the DLP of its 2 irradiation event(s).');
  });

  it('a fluoroscopy report without accumulated data: DAP, Dose (RP) from every event, fluoro time from the fluoroscopy events only (min → s)', () => {
    const content = reportContent(X_RAY_DOSE_REPORT, '10001', [
      coded(['121058', 'DCM', 'Procedure reported'], ['113704', 'DCM', 'Projection X-Ray'], 'HAS CONCEPT MOD'),
      ...(projectionReport([], [
        { uid: '1.2.3.902.1', start: '20240105101600', dap: 0.0001, doseRp: 0.01, fluoro: true, duration: 2, durationUnit: 'min' },
        { uid: '1.2.3.902.2', start: '20240105101700', dap: 0.0002, doseRp: 0.02, fluoro: true, duration: 30, durationUnit: 'sec' },
        { uid: '1.2.3.902.3', start: '20240105101800', dap: 0.0003, doseRp: 0.03, fluoro: false, duration: 4 },
      ])['0040A730']!.Value as DicomJson[]).slice(2),
    ]);
    const summary = summaryOf(content);
    expect(componentValues(summary)).toMatchObject({ '113722': '6000 mGy.cm2', '113725': '60 mGy', '113730': '150 s' });
    expect(summary.note?.map((note) => note.text)).toContain(
      'Total Fluoro Time: the report has no accumulated value; the sum of the Irradiation Duration of its 2 fluoroscopy irradiation event(s).',
    );
  });

  it('a container of another template inside the report is not read as accumulated data', () => {
    const report = ctReport(events);
    const tree = report['0040A730']!.Value as DicomJson[];
    const extra = container(['113819', 'DCM', 'CT Acquisition'], [num(['113813', 'DCM', 'CT Dose Length Product Total'], 999, 'mGy.cm')]);
    expect(componentValues(summaryOf({ ...report, '0040A730': { vr: 'SQ', Value: [...tree, extra] } }))['113813']).toBe('618.25 mGy.cm');
  });
});
