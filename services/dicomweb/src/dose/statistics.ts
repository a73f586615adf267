/**
 * Order statistics of dose values. Quantiles interpolate linearly between order statistics
 * (Hyndman & Fan type 7, as spreadsheets' PERCENTILE.INC and numpy's default), so a site can check
 * a median or a 75th percentile with the tool it already has. Pure.
 */
export interface Distribution {
  count: number;
  median: number;
  p75: number;
  min: number;
  max: number;
}

export function quantile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError('no values');
  const position = (sorted.length - 1) * p;
  const below = Math.floor(position);
  const above = Math.ceil(position);
  const low = sorted[below] as number;
  const high = sorted[above] as number;
  // Rounded to 12 significant digits: interpolation must not print 9.350000000000001 in a report.
  return Number((low + (high - low) * (position - below)).toPrecision(12));
}

export function distributionOf(values: readonly number[]): Distribution | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return { count: sorted.length, median: quantile(sorted, 0.5), p75: quantile(sorted, 0.75), min: sorted[0] as number, max: sorted[sorted.length - 1] as number };
}
