import { isUcumAnnotation } from '@imaging-facade/dicom';

/**
 * UCUM unit conversion for dose values. A value is converted to the unit the FHIR resource states
 * only when both units measure the same quantity and the factor is known; otherwise it is not
 * converted, and the caller leaves it out: a value is never given a unit it was not measured in.
 */

interface UnitDefinition {
  quantity: string;
  /** Value of one unit in the quantity's base unit. */
  factor: number;
}

// prettier-ignore
const UNITS: Readonly<Record<string, UnitDefinition>> = {
  // absorbed dose / air kerma (base: Gy)
  Gy: { quantity: 'dose', factor: 1 },
  dGy: { quantity: 'dose', factor: 1e-1 },
  cGy: { quantity: 'dose', factor: 1e-2 },
  mGy: { quantity: 'dose', factor: 1e-3 },
  uGy: { quantity: 'dose', factor: 1e-6 },
  // dose area product (base: Gy.m2)
  'Gy.m2': { quantity: 'dose-area', factor: 1 },
  'dGy.m2': { quantity: 'dose-area', factor: 1e-1 },
  'cGy.m2': { quantity: 'dose-area', factor: 1e-2 },
  'mGy.m2': { quantity: 'dose-area', factor: 1e-3 },
  'uGy.m2': { quantity: 'dose-area', factor: 1e-6 },
  'Gy.dm2': { quantity: 'dose-area', factor: 1e-2 },
  'Gy.cm2': { quantity: 'dose-area', factor: 1e-4 },
  'dGy.cm2': { quantity: 'dose-area', factor: 1e-5 },
  'cGy.cm2': { quantity: 'dose-area', factor: 1e-6 },
  'mGy.cm2': { quantity: 'dose-area', factor: 1e-7 },
  'uGy.cm2': { quantity: 'dose-area', factor: 1e-10 },
  // dose length product (base: mGy.cm)
  'mGy.cm': { quantity: 'dose-length', factor: 1 },
  'Gy.cm': { quantity: 'dose-length', factor: 1e3 },
  'mGy.mm': { quantity: 'dose-length', factor: 1e-1 },
  'mGy.m': { quantity: 'dose-length', factor: 1e2 },
  // time (base: s)
  s: { quantity: 'time', factor: 1 },
  ms: { quantity: 'time', factor: 1e-3 },
  min: { quantity: 'time', factor: 60 },
  h: { quantity: 'time', factor: 3600 },
  // activity (base: Bq)
  Bq: { quantity: 'activity', factor: 1 },
  kBq: { quantity: 'activity', factor: 1e3 },
  MBq: { quantity: 'activity', factor: 1e6 },
  GBq: { quantity: 'activity', factor: 1e9 },
  uCi: { quantity: 'activity', factor: 3.7e4 },
  mCi: { quantity: 'activity', factor: 3.7e7 },
  Ci: { quantity: 'activity', factor: 3.7e10 },
  // effective dose (base: Sv)
  Sv: { quantity: 'equivalent-dose', factor: 1 },
  mSv: { quantity: 'equivalent-dose', factor: 1e-3 },
  uSv: { quantity: 'equivalent-dose', factor: 1e-6 },
};

/**
 * `value` measured in `from`, expressed in `to`; undefined when the units are unknown or measure
 * different quantities. Units equal as text need no table ({frames}, {events}, kV, mm…). The result
 * is rounded to 12 significant digits, so that a decimal scaling (× 10^7) gives the decimal one
 * expects (0.0013639 Gy.m2 → 13639 mGy.cm2, not 13638.999999999998).
 */
export function convertUnit(value: number, from: string, to: string): number | undefined {
  if (!Number.isFinite(value)) {
    return undefined;
  }
  if (from === to || (isCount(from) && isCount(to))) {
    return value;
  }
  const source = UNITS[from];
  const target = UNITS[to];
  if (!source || !target || source.quantity !== target.quantity) {
    return undefined;
  }
  return Number(((value * source.factor) / target.factor).toPrecision(12));
}

/** UCUM's unity (`1`) and its annotations (`{frames}`, `{events}`): counts, the same whatever the label. */
function isCount(unit: string): boolean {
  return unit === '1' || isUcumAnnotation(unit);
}

/** Sums that should not show binary floating point noise either. */
export function roundSum(values: readonly number[]): number {
  return Number(values.reduce((sum, value) => sum + value, 0).toPrecision(12));
}
