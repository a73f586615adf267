import { BINARY_NUMBER_VRS, BINARY_VRS, NUMBER_STRING_VRS } from '@imaging-facade/dicom';
import { SERIES_LEVEL_TAGS, STUDY_LEVEL_TAGS } from '@imaging-facade/events';
import type { Condition } from '../index/study-index-db';
import type { Level } from './query';

/**
 * Matching on an attribute the index has no column for (StudyID, StudyTime, ReferringPhysicianName,
 * StudyDescription, PatientBirthDate…), in the DICOM JSON each row keeps: the study's and the
 * series' `attributes`, an instance's `metadata`. PS3.4 C.2.2.2 by VR: single value, with `*` and
 * `?` on text; ranges on dates and times; PN on its alphabetic group, case-insensitively (as the
 * PatientName column); any value of a multi-valued attribute may match. A row without the
 * attribute does not match. Before, such keys were ignored with a warning, so `StudyID=X` answered
 * every study: a client taking the first match got another patient's. Pure.
 */

export class AttributeMatchError extends Error {
  override readonly name = 'AttributeMatchError';
}

/** Where a key is matched: the level whose rows hold the attribute; any other is an instance's. */
export function matchingLevel(tag: string): Level {
  if (STUDY_LEVEL_TAGS.includes(tag)) return 'study';
  return SERIES_LEVEL_TAGS.includes(tag) ? 'series' : 'instance';
}

const RANGE_FORMS: Readonly<Record<string, RegExp>> = {
  DA: /^\d{8}$/,
  TM: /^\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?$/,
  DT: /^\d{4}(\d{2}(\d{2}(\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?)?)?)?([+-]\d{4})?$/,
};

/** `*`/`?` wildcards → a GLOB pattern (case folded by the caller); GLOB's own specials escaped. */
export function globOf(value: string): string {
  return value.replace(/[[\]]/g, (c) => `[${c}]`);
}

/**
 * The condition matching `value` on the attribute `tag` (of VR `vr`) held in the JSON column
 * `column`; undefined when the VR cannot be matched on (sequences, binary values). Throws
 * AttributeMatchError for a value malformed for its VR (a 400).
 */
export function attributeCondition(column: 'attributes' | 'metadata', tag: string, vr: string, name: string, value: string): Condition | undefined {
  if (!/^[0-9A-F]{8}$/.test(tag)) throw new AttributeMatchError(`${name}: not a tag`);
  if (vr === 'SQ' || BINARY_VRS.has(vr)) return undefined;
  const values = `json_each(${column}, '$."${tag}".Value')`;
  const form = RANGE_FORMS[vr];
  if (form) {
    const [from, to, extra] = value.split('-');
    const valid = (part: string | undefined) => part === undefined || part === '' || form.test(part);
    if (extra !== undefined || !valid(from) || !valid(to) || (!from && !to)) {
      throw new AttributeMatchError(`${name}: expected a ${vr} value or a range of them (from-to, -to, from-)`);
    }
    if (to === undefined) return { sql: `EXISTS (SELECT 1 FROM ${values} WHERE value = ?)`, params: [from] };
    const bounds = [...(from ? ['value >= ?'] : []), ...(to ? ['value <= ?'] : [])];
    // A time range's upper bound is inclusive of every fraction of its last second or minute.
    const upper = to && vr !== 'DA' ? `${to}\uffff` : to;
    return { sql: `EXISTS (SELECT 1 FROM ${values} WHERE ${bounds.join(' AND ')})`, params: [...(from ? [from] : []), ...(to ? [upper] : [])] };
  }
  if (NUMBER_STRING_VRS.has(vr) || vr in BINARY_NUMBER_VRS) {
    const number = Number(value);
    if (value.trim() === '' || !Number.isFinite(number)) throw new AttributeMatchError(`${name}: expected a number`);
    return { sql: `EXISTS (SELECT 1 FROM ${values} WHERE value = ?)`, params: [number] };
  }
  const wildcard = /[*?]/.test(value);
  if (vr === 'PN') {
    const alphabetic = (value.split('=')[0] ?? value).toUpperCase();
    return { sql: `EXISTS (SELECT 1 FROM ${values} WHERE upper(json_extract(value, '$.Alphabetic')) ${wildcard ? 'GLOB' : '='} ?)`, params: [wildcard ? globOf(alphabetic) : alphabetic] };
  }
  return { sql: `EXISTS (SELECT 1 FROM ${values} WHERE value ${wildcard ? 'GLOB' : '='} ?)`, params: [wildcard ? globOf(value) : value] };
}
