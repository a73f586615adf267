import {
  currentFormDate,
  currentFormTime,
  formatDateTime,
  parseDate,
  parseDateTime,
  parseDecimalString,
  parseIntegerString,
  parseTime,
  parseUtcOffset,
  personNameComponents,
  personNameGroups,
} from './values';

describe('DA', () => {
  it.each([
    ['20240229', { year: '2024', month: '02', day: '29' }],
    ['20230229', undefined], // not a leap year
    ['00000101', undefined],
    ['2024-01-05', undefined],
    ['1997.04.24', { year: '1997', month: '04', day: '24' }], // ACR-NEMA (pydicom's ExplVR_BigEnd)
    ['1997.04.31', undefined],
  ])('%j → %j', (da, expected) => {
    expect(parseDate(da)).toEqual(expected);
  });

  it.each([
    ['20240105', '20240105'],
    ['1997.04.24 ', '19970424'],
    ['1997-04-24', undefined],
  ])('written today: %j → %j', (da, expected) => {
    expect(currentFormDate(da)).toBe(expected);
  });
});

describe('TM', () => {
  it.each([
    ['101530.123', { hours: '10', minutes: '15', seconds: '30', fraction: '123' }],
    ['10', { hours: '10' }],
    ['10:15', { hours: '10', minutes: '15' }],
    ['240000', undefined],
    ['1015.5', undefined],
  ])('%j → %j', (tm, expected) => {
    expect(parseTime(tm)).toEqual(expected);
  });

  it.each([
    ['14:04:38', '140438'],
    ['10:15', '1015'],
    ['101530.123', '101530.123'],
    ['25:00', undefined],
  ])('written today: %j → %j', (tm, expected) => {
    expect(currentFormTime(tm)).toBe(expected);
  });
});

describe('UTC offsets and DT', () => {
  it.each([
    ['+0530', { sign: '+', hours: '05', minutes: '30' }],
    ['+1400', { sign: '+', hours: '14', minutes: '00' }],
    ['+1430', undefined],
    ['0100', undefined],
  ])('offset %j → %j', (offset, expected) => {
    expect(parseUtcOffset(offset)).toEqual(expected);
  });

  it.each([
    ['20240105101530.5+0100', { date: { year: '2024', month: '01', day: '05' }, time: { hours: '10', minutes: '15', seconds: '30', fraction: '5' }, offset: { sign: '+', hours: '01', minutes: '00' } }],
    ['20240105', { date: { year: '2024', month: '01', day: '05' } }],
    ['2024', {}],
    ['20240230', undefined],
    ['2024010510', { date: { year: '2024', month: '01', day: '05' }, time: { hours: '10' } }],
    ['2024011', undefined],
  ])('DT %j → %j', (dt, expected) => {
    expect(parseDateTime(dt)).toEqual(expected);
  });

  it('formats an instant in a given offset', () => {
    expect(formatDateTime(new Date('2024-01-05T23:30:00.042Z'), '+0100')).toEqual({ date: '20240106', time: '003000.042' });
  });
});

describe('PN', () => {
  it.each<[unknown, unknown]>([
    ['Yamada^Tarou=山田^太郎=やまだ^たろう', { Alphabetic: 'Yamada^Tarou', Ideographic: '山田^太郎', Phonetic: 'やまだ^たろう' }],
    ['Doe^Jane^^^', { Alphabetic: 'Doe^Jane' }],
    ['=山田', { Ideographic: '山田' }],
    ['', null],
    [{ Alphabetic: 'Doe' }, { Alphabetic: 'Doe' }],
  ])('%j → groups %j', (value, groups) => {
    expect(personNameGroups(value)).toEqual(groups);
  });

  it('splits a group into its five components', () => {
    expect(personNameComponents('Curie^ Marie ^^Mme')).toEqual({ family: 'Curie', given: 'Marie', middle: undefined, prefix: 'Mme', suffix: undefined });
  });
});

describe('IS and DS', () => {
  it.each<[unknown, number | undefined]>([
    [' 42 ', 42],
    [-3, -3],
    ['4.5', undefined],
    ['', undefined],
  ])('IS %j → %j', (value, expected) => {
    expect(parseIntegerString(value)).toBe(expected);
  });

  it.each<[unknown, number | undefined]>([
    ['1.5e2', 150],
    [' -0.25', -0.25],
    ['abc', undefined],
    [null, undefined],
  ])('DS %j → %j', (value, expected) => {
    expect(parseDecimalString(value)).toBe(expected);
  });
});
