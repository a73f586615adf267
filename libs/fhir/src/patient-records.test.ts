import { identifierBatches } from './patient-records';

describe('identifierBatches: OR lists that fit one search', () => {
  const identifier = (n: number, system = 'urn:oid:1.2.250.1.999.1') => ({ system, value: `P${n}` });
  test.each<[string, Array<{ system: string; value: string }>, number[]]>([
    ['none: no search', [], []],
    ['a few: one list', [1, 2, 3].map((n) => identifier(n)), [3]],
    ['120 short ones: lists of 50 at most', Array.from({ length: 120 }, (_unused, n) => identifier(n)), [50, 50, 20]],
    ['long systems: fewer per list, so that the query stays short', Array.from({ length: 50 }, (_unused, n) => identifier(n, `https://imagingfacade.org/fhir/sid/patient-id/${'x'.repeat(120)}`)), [15, 15, 15, 5]],
  ])('%s', (_situation, identifiers, sizes) => {
    const batches = identifierBatches(identifiers);
    expect(batches.map((batch) => batch.split(/(?<!\\),/).length)).toEqual(sizes);
    for (const batch of batches) expect(encodeURIComponent(batch).length).toBeLessThan(3_200);
  });

  test('a comma in a value stays escaped inside its list', () => {
    expect(identifierBatches([{ system: 's', value: 'a,b' }, { system: 's', value: 'c' }])).toEqual(['s|a\\,b,s|c']);
  });
});
