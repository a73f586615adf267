import { assess, distributions, flagged, periodOf, trends, type AssessedExam } from './aggregate';
import type { DoseExam } from './exam-records';
import type { ReferenceTable } from './reference-table';

const TABLE: ReferenceTable = {
  name: 'test',
  levels: [
    { id: 'ct-chest', label: 'CT thorax', modalities: ['CT'], match: { targetRegions: ['51185008'] }, levels: { ctdivol: 10, dlp: 400 }, source: 'test' },
    { id: 'ct-tap', label: 'CT TAP', modalities: ['CT'], match: { targetRegions: ['416775004'] }, levels: { ctdivol: 12, dlp_acquisition: 500 }, source: 'test' },
    { id: 'thorax-pa', label: 'Thorax de face', modalities: ['DX'], match: { protocol: 'thorax', targetRegions: [] }, levels: { dap: 200 }, source: 'test' },
    { id: 'mg', label: 'Mammographie', modalities: ['MG'], match: { targetRegions: [] }, levels: { agd_view: 2, agd: 4 }, source: 'test' },
  ],
};

let serial = 0;
function exam(modality: string, quantities: DoseExam['quantities'], extra: Partial<DoseExam> = {}): DoseExam {
  serial += 1;
  const date = extra.date ?? '2024-01-05';
  return { observation: `Observation/${serial}`, studyUid: `2.25.${serial}`, dateTime: `${date}T10:00:00Z`, date, modality, device: 'CT01', protocol: 'Chest routine 1', targetRegions: modality === 'CT' ? ['51185008'] : [], quantities, ...extra };
}

describe('an exam compared with its reference level', () => {
  test.each([
    ['CT below both levels', exam('CT', { ctdivol: 9.9, dlp: 399 }), 'CT thorax', [false, false], false],
    ['CT above on CTDIvol only: flagged', exam('CT', { ctdivol: 12, dlp: 300 }), 'CT thorax', [true, false], true],
    ['CT exactly at the level: not above', exam('CT', { ctdivol: 10, dlp: 400 }), 'CT thorax', [false, false], false],
    ['CT with DLP only: one comparison', exam('CT', { dlp: 500 }), 'CT thorax', [true], true],
    ['CT against a level per acquisition: two acquisitions below, their total above a level the table does not have', exam('CT', { ctdivol: 9, dlp: 700, dlp_acquisition: 350 }, { targetRegions: ['416775004'] }), 'CT TAP', [false, false], false],
    ['CT with one acquisition above its level per acquisition', exam('CT', { ctdivol: 9, dlp: 700, dlp_acquisition: 520 }, { targetRegions: ['416775004'] }), 'CT TAP', [false, true], true],
    ['radiograph above on DAP', exam('DX', { dap: 250 }, { protocol: 'Thorax de face' }), 'Thorax de face', [true], true],
    ['mammography below both: AGD per view, then per breast', exam('MG', { agd_view: 1.6, agd: 3.1 }), 'Mammographie', [false, false], false],
    ['mammography with one view above: flagged, though each breast is below', exam('MG', { agd_view: 2.3, agd: 3.9 }), 'Mammographie', [true, false], true],
    ['mammography with a breast above and every view below', exam('MG', { agd_view: 1.9, agd: 4.5 }), 'Mammographie', [false, true], true],
    ['mammography with no per-view value (the report has no events): per breast only', exam('MG', { agd: 1.5 }), 'Mammographie', [false], false],
    ['no level for the exam: grouped by its protocol, never flagged', exam('CT', { ctdivol: 80, dlp: 5000 }, { targetRegions: [], protocol: 'Knee' }), 'Knee', [], false],
    ['a DAP on a CT is not a key quantity of CT', exam('CT', { dap: 9999 }), 'CT thorax', [], false],
  ])('%s', (_name, input, group, aboves, above) => {
    const assessed = assess(input, TABLE);
    expect(assessed.group).toBe(group);
    expect(assessed.comparisons.map((comparison) => comparison.above)).toEqual(aboves);
    expect(assessed.above).toBe(above);
  });
});

describe('distributions per modality, device and protocol', () => {
  const exams: AssessedExam[] = [
    exam('CT', { ctdivol: 8, dlp: 300 }),
    exam('CT', { ctdivol: 9, dlp: 350 }),
    exam('CT', { ctdivol: 12, dlp: 450 }),
    exam('CT', { ctdivol: 14, dlp: 500 }),
    exam('CT', { ctdivol: 20, dlp: 900 }, { device: 'CT02' }),
    exam('DX', { dap: 150 }, { protocol: 'Thorax de face', device: 'DR1' }),
  ].map((item) => assess(item, TABLE));

  test('one group per (modality, device, protocol), with median, 75th percentile, level and exams above', () => {
    const groups = distributions(exams);
    expect(groups.map((group) => [group.modality, group.device, group.protocol, group.count])).toEqual([
      ['CT', 'CT01', 'CT thorax', 4],
      ['CT', 'CT02', 'CT thorax', 1],
      ['DX', 'DR1', 'Thorax de face', 1],
    ]);
    expect(groups[0]?.quantities).toEqual([
      { quantity: 'ctdivol', unit: 'mGy', count: 4, median: 10.5, p75: 12.5, level: 10, medianAbove: true, examsAbove: 2 },
      { quantity: 'dlp', unit: 'mGy.cm', count: 4, median: 400, p75: 462.5, level: 400, medianAbove: false, examsAbove: 2 },
    ]);
    expect(groups[2]?.quantities).toEqual([{ quantity: 'dap', unit: 'mGy.cm2', count: 1, median: 150, p75: 150, level: 200, medianAbove: false, examsAbove: 0 }]);
  });

  test('flagged exams: those above a level, latest first', () => {
    const later = assess(exam('CT', { dlp: 999 }, { date: '2024-03-01' }), TABLE);
    expect(flagged([...exams, later]).map((item) => item.quantities.dlp)).toEqual([999, 450, 500, 900]);
  });
});

describe('trends', () => {
  test.each([
    ['2024-01-05', 'month', '2024-01'],
    ['2024-01-05', 'week', '2024-01-01'],
    ['2024-01-07', 'week', '2024-01-01'],
    ['2024-01-08', 'week', '2024-01-08'],
    ['2023-01-01', 'week', '2022-12-26'],
  ] as const)('%s falls in the %s of %s', (date, bucket, period) => {
    expect(periodOf(date, bucket)).toBe(period);
  });

  test('per modality and protocol, the median of the trend quantity per period, in time order', () => {
    const exams = [
      exam('CT', { dlp: 300 }, { date: '2024-02-10' }),
      exam('CT', { dlp: 100 }, { date: '2024-01-10' }),
      exam('CT', { dlp: 200 }, { date: '2024-01-20' }),
      exam('CT', { ctdivol: 5 }, { date: '2024-03-01' }),
      exam('DX', { dap: 120 }, { date: '2024-01-03', protocol: 'Thorax de face' }),
    ].map((item) => assess(item, TABLE));
    expect(trends(exams, 'month')).toEqual([
      { modality: 'CT', protocol: 'CT thorax', quantity: 'dlp', unit: 'mGy.cm', level: 400, points: [{ period: '2024-01', median: 150, count: 2 }, { period: '2024-02', median: 300, count: 1 }] },
      { modality: 'DX', protocol: 'Thorax de face', quantity: 'dap', unit: 'mGy.cm2', level: 200, points: [{ period: '2024-01', median: 120, count: 1 }] },
    ]);
  });
});
