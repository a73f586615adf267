import { ucumUnitOf } from './measurement-units';

const ucum = (code: string, scheme = 'UCUM') => ucumUnitOf({ scheme, code });

describe('ucumUnitOf: vendor spellings of SR measurement units, read through an explicit table', () => {
  it.each([
    // [designator, code as written, UCUM]
    ['UCUM', 'mGy.cm', 'mGy.cm'],
    ['UCUM 1.4', 'mGy.cm', 'mGy.cm'],
    ['UCUM1.4', 'Gy.m2', 'Gy.m2'],
    ['ucum', 'mGy', 'mGy'],
    ['UCUM', 'mGycm', 'mGy.cm'],
    ['UCUM', 'mGy*cm', 'mGy.cm'],
    ['UCUM', 'mGy.cm²', 'mGy.cm2'],
    ['UCUM', 'mGy·cm', 'mGy.cm'],
    ['UCUM', 'mGy cm', 'mGy.cm'],
    ['UCUM', 'dGy*cm2', 'dGy.cm2'],
    ['UCUM', 'dGycm2', 'dGy.cm2'],
    ['UCUM', 'Gy*m2', 'Gy.m2'],
    ['UCUM', 'Gy.m^2', 'Gy.m2'],
    ['UCUM', 'Gym2', 'Gy.m2'],
    ['UCUM', 'µGy.m2', 'uGy.m2'],
    ['UCUM', 'sec', 's'],
    ['UCUM', 'min', 'min'],
    ['UCUM', '1', '1'],
    ['UCUM', '{events}', '{events}'],
    ['UCUM', '{X-Ray sources}', '{X-Ray sources}'],
    // UCUM's case-insensitive form, and letters in the wrong case
    ['UCUM', 'MGY.CM', 'mGy.cm'],
    ['UCUM', 'GY.M2', 'Gy.m2'],
    ['UCUM', 'MGY', 'mGy'],
    ['UCUM', 'mgy', 'mGy'],
    ['UCUM', 'MABQ', 'MBq'],
    ['UCUM', 'S', 's'],
  ])('%s "%s" → %s', (scheme, code, expected) => {
    expect(ucum(code, scheme)?.code).toBe(expected);
  });

  it.each([
    ['a unit of another quantity (roentgen)', 'UCUM', 'R.cm2'],
    ['an unknown spelling', 'UCUM', 'mGy/cm'],
    ['a lower-case spelling that could be milli or mega', 'UCUM', 'mbq'],
    ['a designator that is not UCUM', '99PHI', 'mGy'],
    ['an empty code', 'UCUM', ''],
  ])('%s is not understood: %s "%s"', (_what, scheme, code) => {
    expect(ucum(code, scheme)).toBeUndefined();
  });

  it('says how the report wrote a unit it read through the table', () => {
    expect(ucum('mGycm')).toEqual({ code: 'mGy.cm', written: 'mGycm' });
    expect(ucum('mGy.cm')).toEqual({ code: 'mGy.cm' });
  });

  it('no unit at all is not understood', () => {
    expect(ucumUnitOf(undefined)).toBeUndefined();
  });
});
