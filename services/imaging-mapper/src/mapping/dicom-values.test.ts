import {
  dicomDateToFhir,
  dicomIntegerToUnsignedInt,
  dicomOffsetToFhir,
  dicomTimeToFhir,
  fhirDateTime,
  modalityCode,
  personNameDisplay,
  personNameToFhir,
} from './dicom-values';

describe('PN → display text', () => {
  it.each<[unknown, string | undefined]>([
    [{ Alphabetic: 'Doe^Jane' }, 'Jane Doe'],
    [{ Alphabetic: 'Curie^Marie^Salomea^Mme^PhD' }, 'Mme Marie Salomea Curie PhD'],
    [{ Alphabetic: 'Doe' }, 'Doe'],
    [{ Alphabetic: ' Doe ^ Jane ' }, 'Jane Doe'],
    [{ Ideographic: '山田^太郎', Phonetic: 'やまだ^たろう' }, '山田 太郎'],
    [{ Alphabetic: '^^^^', Phonetic: 'やまだ^たろう' }, 'やまだ たろう'],
    ['Doe^Jane', 'Jane Doe'],
    [{ Alphabetic: '' }, undefined],
    [{}, undefined],
    [null, undefined],
    [42, undefined],
    [{ Alphabetic: 7 }, undefined],
  ])('%j → %j', (value, display) => {
    expect(personNameDisplay(value)).toBe(display);
  });
});

describe('DA → FHIR date', () => {
  it.each([
    ['20240105', '2024-01-05'],
    ['19000101', '1900-01-01'],
    ['20240229', '2024-02-29'], // leap year
    ['20230229', undefined], // not a leap year
    ['20240431', undefined], // April has 30 days
    ['20241301', undefined],
    ['20240100', undefined],
    ['00000101', undefined], // FHIR has no year 0
    ['2024010', undefined], // wrong length
    ['202401051', undefined],
    ['2024-01-05', undefined],
    ['2024.01.05', '2024-01-05'], // ACR-NEMA, which PS3.5 6.2 recommends readers still accept
    ['', undefined],
    ['abcdefgh', undefined],
  ])('%j → %j', (da, expected) => {
    expect(dicomDateToFhir(da)).toBe(expected);
  });
});

describe('TM → FHIR time', () => {
  it.each([
    ['101500', '10:15:00'],
    ['1015', '10:15:00'],
    ['10', '10:00:00'],
    ['101530.123456', '10:15:30.123456'],
    ['101530.1', '10:15:30.1'],
    ['235960', '23:59:60'], // leap second, allowed by both
    ['10:15:30', '10:15:30'], // ACR-NEMA
    ['10:15', '10:15:00'],
    ['240000', undefined],
    ['106000', undefined],
    ['101561', undefined],
    ['1015.5', undefined], // a fraction needs seconds
    ['101530.1234567', undefined],
    ['1', undefined],
    ['10151', undefined],
    ['', undefined],
  ])('%j → %j', (tm, expected) => {
    expect(dicomTimeToFhir(tm)).toBe(expected);
  });
});

describe('TimezoneOffsetFromUTC → FHIR offset', () => {
  it.each([
    ['+0100', '+01:00'],
    ['-0500', '-05:00'],
    ['+0000', '+00:00'],
    ['+0530', '+05:30'],
    ['+1400', '+14:00'],
    ['-1200', '-12:00'],
    ['+1401', undefined], // beyond what a FHIR dateTime allows
    ['+0160', undefined],
    ['0100', undefined], // the sign is required
    ['+01:00', undefined],
    ['+1', undefined],
    ['', undefined],
  ])('%j → %j', (offset, expected) => {
    expect(dicomOffsetToFhir(offset)).toBe(expected);
  });
});

describe('FHIR dateTime from date, time and offset', () => {
  it.each([
    ['2024-01-05', '10:15:00', '+01:00', '2024-01-05T10:15:00+01:00'],
    ['2024-01-05', '10:15:00', undefined, '2024-01-05'], // no zone: the date alone
    ['2024-01-05', undefined, '+01:00', '2024-01-05'],
    ['2024-01-05', undefined, undefined, '2024-01-05'],
  ])('%s %s %s → %s', (date, time, offset, expected) => {
    expect(fhirDateTime(date, time, offset)).toBe(expected);
  });

  it.each([
    // The node's zone gives a time without TimezoneOffsetFromUTC its offset, winter and summer.
    ['2024-01-05', '10:15:00', undefined, 'Europe/Paris', '2024-01-05T10:15:00+01:00'],
    ['2024-07-05', '10:15:00', undefined, 'Europe/Paris', '2024-07-05T10:15:00+02:00'],
    ['2024-07-05', '23:30:00.25', undefined, 'America/New_York', '2024-07-05T23:30:00.25-04:00'],
    ['2024-01-05', '00:10:00', undefined, 'Asia/Kolkata', '2024-01-05T00:10:00+05:30'],
    ['2024-01-05', '10:15:00', undefined, 'UTC', '2024-01-05T10:15:00+00:00'],
    // The dataset's own offset wins over the node's zone.
    ['2024-01-05', '10:15:00', '-05:00', 'Europe/Paris', '2024-01-05T10:15:00-05:00'],
    ['2024-01-05', undefined, undefined, 'Europe/Paris', '2024-01-05'],
  ])('%s %s %s in %s → %s', (date, time, offset, timeZone, expected) => {
    expect(fhirDateTime(date, time, offset, timeZone)).toBe(expected);
  });
});

describe('PN → HumanName', () => {
  const ide = { url: 'http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation', valueCode: 'IDE' };
  const syl = { url: 'http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation', valueCode: 'SYL' };
  it.each<[string, unknown, unknown[]]>([
    ['family and given', { Alphabetic: 'Doe^Jane' }, [{ family: 'Doe', given: ['Jane'] }]],
    [
      'all five components',
      { Alphabetic: 'Doe^Jane^Mary^Dr.^PhD' },
      [{ family: 'Doe', given: ['Jane', 'Mary'], prefix: ['Dr.'], suffix: ['PhD'] }],
    ],
    ['family only', { Alphabetic: 'Doe' }, [{ family: 'Doe' }]],
    ['given only', { Alphabetic: '^Jane' }, [{ given: ['Jane'] }]],
    ['padded components', { Alphabetic: ' Doe ^ Jane ' }, [{ family: 'Doe', given: ['Jane'] }]],
    ['empty object', {}, []],
    ['empty string', { Alphabetic: '' }, []],
    ['only separators', { Alphabetic: '^^^^' }, []],
    ['a bare string (not PS3.18, tolerated)', 'Doe^Jane', [{ family: 'Doe', given: ['Jane'] }]],
    [
      'Japanese: alphabetic, ideographic, phonetic',
      { Alphabetic: 'Yamada^Tarou', Ideographic: '山田^太郎', Phonetic: 'やまだ^たろう' },
      [
        { family: 'Yamada', given: ['Tarou'] },
        { extension: [ide], family: '山田', given: ['太郎'] },
        { extension: [syl], family: 'やまだ', given: ['たろう'] },
      ],
    ],
    ['ideographic only', { Ideographic: '山田^太郎' }, [{ extension: [ide], family: '山田', given: ['太郎'] }]],
    ['a number', 42, []],
    ['null', null, []],
    ['an array', ['Doe^Jane'], []],
    ['a group that is not text', { Alphabetic: 7 }, []],
  ])('%s', (_situation, value, expected) => {
    expect(personNameToFhir(value)).toEqual(expected);
  });
});

describe('IS → unsignedInt', () => {
  it.each<[unknown, number | undefined]>([
    [3, 3],
    [0, 0],
    ['12', 12],
    [' 7 ', 7],
    ['+5', 5],
    [-1, undefined],
    ['-1', undefined],
    [1.5, undefined],
    ['1.5', undefined],
    ['x', undefined],
    [2 ** 31, undefined],
    [null, undefined],
    [{}, undefined],
  ])('%j → %j', (value, expected) => {
    expect(dicomIntegerToUnsignedInt(value)).toBe(expected);
  });
});

describe('Modality → DCM code', () => {
  it.each([
    ['CT', 'CT'],
    ['mr', 'MR'],
    ['OPT', 'OPT'],
    ['C T', undefined],
    ['CT\\MR', undefined],
    ['ABCDEFGHIJKLMNOPQ', undefined],
  ])('%j → %j', (value, expected) => {
    expect(modalityCode(value)).toBe(expected);
  });
});
