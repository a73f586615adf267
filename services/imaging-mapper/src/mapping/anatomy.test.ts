import { BODY_PART_EXAMINED, bodyPartCoding, LATERALITY } from './anatomy';

/** The Verhoeff check digit every SNOMED CT identifier ends with: a typo in a code fails it. */
function verhoeffValid(digits: string): boolean {
  const d = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5], [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7], [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3], [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
  ];
  const p = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4], [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7], [9, 4, 5, 3, 1, 2, 6, 8, 7, 0], [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5], [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
  ];
  let check = 0;
  [...digits].reverse().forEach((digit, index) => {
    check = d[check]![p[index % 8]![Number(digit)]!]!;
  });
  return check === 0;
}

describe('the Body Part Examined table (PS3.16 Annex L)', () => {
  it.each(Object.entries(BODY_PART_EXAMINED))('%s → %j is a well-formed SNOMED CT concept', (term, [code, meaning]) => {
    // A Code String defined term: upper case, digits, underscore, at most 16 characters.
    expect(term).toMatch(/^[A-Z0-9_]{1,16}$/);
    expect(code).toMatch(/^\d{6,18}$/);
    // Partition identifier 00 (concept) or 10 (concept in an extension).
    expect(['00', '10']).toContain(code.slice(-3, -1));
    expect(verhoeffValid(code)).toBe(true);
    expect(meaning.length).toBeGreaterThan(0);
  });

  it('finds a term whatever its case, and keeps an unknown term as display', () => {
    expect(bodyPartCoding('Knee')).toEqual({ coding: { system: 'http://snomed.info/sct', code: '72696002', display: 'Knee' }, known: true });
    expect(bodyPartCoding('GENOU')).toEqual({ coding: { display: 'GENOU' }, known: false });
  });
});

describe('Laterality (PS3.16 CID 244)', () => {
  it('codes R, L and B in SNOMED CT and U as nothing', () => {
    expect(LATERALITY).toEqual({
      R: { system: 'http://snomed.info/sct', code: '24028007', display: 'Right' },
      L: { system: 'http://snomed.info/sct', code: '7771000', display: 'Left' },
      B: { system: 'http://snomed.info/sct', code: '51440002', display: 'Right and left' },
      U: null,
    });
    for (const coding of Object.values(LATERALITY)) {
      expect(coding === null || verhoeffValid(coding.code!)).toBe(true);
    }
  });
});
