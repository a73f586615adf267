import type { DicomCode } from './codes';

/**
 * Measurement units of SR numeric content items (Measured Value Sequence, PS3.3 C.18.1) as UCUM
 * codes. PS3.16 wants UCUM (designator "UCUM"), but modalities spell units their own way: a
 * designator with a version ("UCUM 1.4"), `*`, `·` or a space instead of UCUM's `.`, `²` for `2`,
 * no separator at all ("mGycm"), "sec" for seconds, UCUM's case-insensitive form ("MGY.CM"), or
 * letters in the wrong case. Each spelling read is in an explicit table: a unit that is not there
 * is not understood (undefined), never guessed from its look.
 */

export interface UcumUnit {
  /** The UCUM (case-sensitive) code. */
  code: string;
  /** The code as the report wrote it, when it differs (a vendor spelling read through the alias table). */
  written?: string;
}

/** Designators taken to mean UCUM: the standard's, and the versioned spellings seen in the wild. */
const UCUM_DESIGNATORS = new Set(['UCUM', 'UCUM1.4', 'UCUM 1.4', 'UCUM:1.4', 'UCUM-1.4']);

export function isUcumDesignator(scheme: string): boolean {
  return UCUM_DESIGNATORS.has(scheme.trim().toUpperCase());
}

/**
 * The UCUM codes of dose SRs' units, with UCUM's own case-insensitive form of each (UCUM §4.2: prefixes
 * m→M, u→U, k→K, d→D, c→C, M→MA, G→GA; Gy→GY, Bq→BQ, Ci→CI, Sv→SV, h→HR). Lower-case spellings are read
 * only for units whose prefix, written in lower case, cannot be read as another prefix (not MBq, GBq).
 */
// prettier-ignore
const KNOWN: ReadonlyArray<[ucum: string, caseInsensitive: string, lowerCaseAllowed: boolean]> = [
  ['Gy', 'GY', true], ['dGy', 'DGY', true], ['cGy', 'CGY', true], ['mGy', 'MGY', true], ['uGy', 'UGY', true],
  ['Gy.m2', 'GY.M2', true], ['dGy.m2', 'DGY.M2', true], ['cGy.m2', 'CGY.M2', true], ['mGy.m2', 'MGY.M2', true], ['uGy.m2', 'UGY.M2', true],
  ['Gy.dm2', 'GY.DM2', true], ['Gy.cm2', 'GY.CM2', true], ['dGy.cm2', 'DGY.CM2', true], ['cGy.cm2', 'CGY.CM2', true],
  ['mGy.cm2', 'MGY.CM2', true], ['uGy.cm2', 'UGY.CM2', true],
  ['mGy.cm', 'MGY.CM', true], ['Gy.cm', 'GY.CM', true], ['mGy.mm', 'MGY.MM', true], ['mGy.m', 'MGY.M', true],
  ['s', 'S', true], ['ms', 'MS', true], ['min', 'MIN', true], ['h', 'HR', true],
  ['Bq', 'BQ', true], ['kBq', 'KBQ', true], ['MBq', 'MABQ', false], ['GBq', 'GABQ', false],
  ['uCi', 'UCI', true], ['mCi', 'MCI', true], ['Ci', 'CI', true],
  ['Sv', 'SV', true], ['mSv', 'MSV', true], ['uSv', 'USV', true],
  ['mm', 'MM', true], ['cm', 'CM', true], ['kV', 'KV', true], ['mA', 'MA', false], ['mAs', 'MAS', false], ['1', '1', true],
];

/**
 * Vendor spellings, after separators are normalised (`*`, `·`, `×`, space → `.`; `²` → `2`; `^2` → `2`).
 * Each one is a spelling of exactly one unit.
 */
// prettier-ignore
const ALIASES: Readonly<Record<string, string>> = {
  'mGycm': 'mGy.cm', 'mGy-cm': 'mGy.cm', 'mGy.cm1': 'mGy.cm',
  'Gycm': 'Gy.cm',
  'Gym2': 'Gy.m2', 'dGym2': 'dGy.m2', 'mGym2': 'mGy.m2', 'uGym2': 'uGy.m2',
  'Gycm2': 'Gy.cm2', 'dGycm2': 'dGy.cm2', 'cGycm2': 'cGy.cm2', 'mGycm2': 'mGy.cm2', 'uGycm2': 'uGy.cm2',
  'µGy': 'uGy', 'μGy': 'uGy', 'µGy.m2': 'uGy.m2', 'μGy.m2': 'uGy.m2', 'µGy.cm2': 'uGy.cm2', 'μGy.cm2': 'uGy.cm2',
  'µSv': 'uSv', 'μSv': 'uSv', 'µCi': 'uCi', 'μCi': 'uCi',
  'sec': 's', 'secs': 's', 'second': 's', 'seconds': 's', 'Sec': 's',
  'mins': 'min', 'minute': 'min', 'minutes': 'min', 'Min': 'min',
  'msec': 'ms',
  // Counts: UCUM's unity, and its annotations ({events}, {frames}) read as unity.
  'no units': '1', 'No units': '1', '{count}': '1',
};

const CANONICAL = new Map<string, string>();
for (const [ucum, upper, lower] of KNOWN) {
  CANONICAL.set(ucum, ucum);
  CANONICAL.set(upper, ucum);
  if (lower) {
    CANONICAL.set(ucum.toLowerCase(), ucum);
  }
}
for (const [alias, ucum] of Object.entries(ALIASES)) {
  CANONICAL.set(alias, ucum);
}

/** `*`, `·`, `×`, spaces between symbols → `.`; `²` and `^2` → `2`. */
function normaliseSeparators(code: string): string {
  return code
    .trim()
    .replace(/\^2|²/g, '2')
    .replace(/\s*[*·×⋅]\s*|\s+/g, '.');
}

/** A UCUM annotation (`{frames}`, `{X-Ray sources}`): a count, unity with a label. */
export function isUcumAnnotation(code: string): boolean {
  return /^\{[^{}]*\}$/.test(code);
}

/**
 * The UCUM unit of a Measurement Units Code Sequence item, or undefined when it is not understood: a
 * designator other than UCUM's, or a code neither in the table nor a UCUM annotation.
 */
export function ucumUnitOf(unit: DicomCode | undefined): UcumUnit | undefined {
  if (!unit || !isUcumDesignator(unit.scheme)) {
    return undefined;
  }
  const written = unit.code;
  if (isUcumAnnotation(written.trim())) {
    return { code: written.trim(), ...(written.trim() === written ? {} : { written }) };
  }
  const code = CANONICAL.get(written) ?? CANONICAL.get(normaliseSeparators(written));
  if (!code) {
    return undefined;
  }
  return code === written ? { code } : { code, written };
}
