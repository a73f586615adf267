import { distributionOf, quantile } from './statistics';

describe('quantiles, interpolated between order statistics (type 7)', () => {
  test.each([
    ['one value', [7], 0.5, 7],
    ['odd count: the middle value', [3, 1, 2], 0.5, 2],
    ['even count: halfway between the middle two', [1, 2, 3, 4], 0.5, 2.5],
    ['75th percentile of 1..4', [1, 2, 3, 4], 0.75, 3.25],
    ['75th percentile of 5 values', [10, 20, 30, 40, 50], 0.75, 40],
    ['no floating-point noise', [9.3, 9.4], 0.5, 9.35],
  ])('%s', (_name, values, p, expected) => {
    expect(quantile([...values].sort((a, b) => a - b), p)).toBe(expected);
  });

  test('a distribution sorts its values and counts them; none is undefined', () => {
    expect(distributionOf([40, 10, 30, 20])).toEqual({ count: 4, median: 25, p75: 32.5, min: 10, max: 40 });
    expect(distributionOf([])).toBeUndefined();
  });
});
