import { keywordOf, tagOf, vrOf } from '@imaging-facade/dicom';
import type { Condition } from '../index/study-index-db';
import { AttributeMatchError, attributeCondition, globOf, matchingLevel } from './attribute-matching';

/**
 * QIDO-RS query parameters (PS3.18 8.3.4) → conditions on the index. Pure. Matching follows PS3.4
 * C.2.2.2: single value (with `*` and `?` wildcards on text), UID lists, date ranges; PatientName
 * matches case-insensitively on its alphabetic group. The keys with a column of their own are
 * matched on it; any other attribute on the JSON its level's rows keep (./attribute-matching). Only
 * a sequence or a binary attribute is not matched on: it is ignored with a Warning, as the
 * standard lets a server do.
 */

export type Level = 'study' | 'series' | 'instance';

export class QidoQueryError extends Error {
  override readonly name = 'QidoQueryError';
}

export interface QidoQuery {
  conditions: { study: Condition[]; series: Condition[]; instance: Condition[] };
  /** Tags to return besides the level's defaults; `all` for everything held. */
  includeFields: string[] | 'all';
  limit: number;
  offset: number;
  warnings: string[];
}

const UID = /^[0-9]+(\.[0-9]+)*$/;
const DATE = /^\d{8}$/;
const CONTROL = new Set(['limit', 'offset', 'includefield', 'fuzzymatching', 'orderby', 'emptyvaluematching', 'multiplevaluematching']);

export { globOf };

function textCondition(column: string, value: string, upper = false): Condition {
  const text = upper ? value.toUpperCase() : value;
  return /[*?]/.test(text) ? { sql: `${column} GLOB ?`, params: [globOf(text)] } : { sql: `${column} = ?`, params: [text] };
}

function uidList(name: string, value: string): string[] {
  const uids = value.split(/[\\,]/).map((uid) => uid.trim()).filter((uid) => uid.length > 0);
  if (uids.length === 0 || uids.some((uid) => !UID.test(uid) || uid.length > 64)) {
    throw new QidoQueryError(`${name}: expected one or more UIDs (digits and dots), separated by commas`);
  }
  return uids;
}

/** Any of the values, each with `*` and `?` wildcards (PS3.4 C.2.2.2.4 allows them on CS too). */
function anyOf(column: string, values: readonly string[]): Condition {
  if (!values.some((value) => /[*?]/.test(value))) return inList(column, values);
  const parts = values.map((value) => textCondition(column, value));
  return { sql: parts.map((part) => part.sql).join(' OR '), params: parts.flatMap((part) => part.params) };
}

function inList(column: string, values: readonly string[]): Condition {
  return { sql: `${column} IN (${values.map(() => '?').join(', ')})`, params: [...values] };
}

/** DA matching: a date, or a range `from-to`, `-to`, `from-` (PS3.4 C.2.2.2.5). */
function dateCondition(name: string, column: string, value: string): Condition {
  const [from, to, extra] = value.split('-');
  if (extra !== undefined || (from && !DATE.test(from)) || (to !== undefined && to !== '' && !DATE.test(to)) || (!from && !to)) {
    throw new QidoQueryError(`${name}: expected YYYYMMDD or a range YYYYMMDD-YYYYMMDD`);
  }
  if (to === undefined) {
    return { sql: `${column} = ?`, params: [from] };
  }
  const parts: Condition[] = [];
  if (from) parts.push({ sql: `${column} >= ?`, params: [from] });
  if (to) parts.push({ sql: `${column} <= ?`, params: [to] });
  return { sql: parts.map((part) => part.sql).join(' AND '), params: parts.flatMap((part) => part.params) };
}

function integer(name: string, value: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d{1,9}$/.test(value) || Number(value) > max) {
    throw new QidoQueryError(`${name}: expected a non-negative integer`);
  }
  return Number(value);
}

function knownTagOf(keyword: string): string | undefined {
  try {
    return tagOf(keyword);
  } catch {
    return undefined;
  }
}

/** A parameter's attribute as a keyword, whether given by keyword or by tag (`00100020`). */
function keywordOfParam(name: string): string | undefined {
  if (/^[0-9A-Fa-f]{8}$/.test(name)) {
    return keywordOf(name.toUpperCase());
  }
  return knownTagOf(name) ? name : undefined;
}

export function tagOfField(field: string): string {
  if (/^[0-9A-Fa-f]{8}$/.test(field)) {
    return field.toUpperCase();
  }
  const tag = knownTagOf(field);
  if (!tag) {
    throw new QidoQueryError(`includefield: ${field} is neither an attribute keyword nor a tag`);
  }
  return tag;
}

export function parseQidoQuery(params: ReadonlyArray<readonly [string, string]>, maxResults: number): QidoQuery {
  const query: QidoQuery = { conditions: { study: [], series: [], instance: [] }, includeFields: [], limit: maxResults, offset: 0, warnings: [] };
  for (const [name, value] of params) {
    if (CONTROL.has(name)) {
      switch (name) {
        case 'limit': {
          const limit = integer('limit', value);
          if (limit > maxResults) {
            query.warnings.push(`limit lowered to ${maxResults}, the most this server returns at once`);
          }
          query.limit = Math.min(limit, maxResults);
          break;
        }
        case 'offset':
          query.offset = integer('offset', value);
          break;
        case 'includefield':
          for (const field of value.split(',').map((item) => item.trim()).filter(Boolean)) {
            if (field === 'all') {
              query.includeFields = 'all';
            } else if (query.includeFields !== 'all') {
              query.includeFields.push(tagOfField(field));
            }
          }
          break;
        case 'fuzzymatching':
          if (value === 'true') query.warnings.push('fuzzymatching is not supported: the query was matched exactly');
          break;
        case 'emptyvaluematching':
          // PS3.18 8.3.4.1: an empty value is universal matching here; `true` would also match empty attributes.
          if (value === 'true') query.warnings.push('emptyvaluematching is not supported: an empty value matches everything');
          break;
        case 'multiplevaluematching':
          // A list is matched as any of its values for UIDs and Modality; `false` is not offered.
          if (value === 'false') query.warnings.push('multiplevaluematching=false is not supported: lists are matched as any of their values');
          break;
        default:
          query.warnings.push(`${name} is not supported and was ignored`);
      }
      continue;
    }
    const keyword = keywordOfParam(name);
    if (keyword === undefined) {
      throw new QidoQueryError(`${name} is neither a query parameter nor an attribute keyword or tag`);
    }
    if (value === '') {
      continue; // universal matching
    }
    switch (keyword) {
      case 'StudyInstanceUID':
        query.conditions.study.push(inList('study_uid', uidList(name, value)));
        break;
      case 'PatientID':
        query.conditions.study.push(textCondition('patient_id', value));
        break;
      case 'PatientName':
        query.conditions.study.push(textCondition('patient_name_key', value.split('=')[0] ?? value, true));
        break;
      case 'AccessionNumber':
        query.conditions.study.push(textCondition('accession', value));
        break;
      case 'StudyDate':
        query.conditions.study.push(dateCondition(name, 'study_date', value));
        break;
      case 'ModalitiesInStudy': {
        const modalities = anyOf('s.modality', value.split(/[\\,]/).filter(Boolean));
        query.conditions.study.push({ sql: `EXISTS (SELECT 1 FROM series s WHERE s.study_uid = studies.study_uid AND (${modalities.sql}))`, params: modalities.params });
        break;
      }
      case 'SeriesInstanceUID':
        query.conditions.series.push(inList('series_uid', uidList(name, value)));
        break;
      case 'Modality':
        query.conditions.series.push(anyOf('modality', value.split(/[\\,]/).filter(Boolean)));
        break;
      case 'SeriesNumber':
        query.conditions.series.push({ sql: 'series_number = ?', params: [integer(name, value)] });
        break;
      case 'SOPInstanceUID':
        query.conditions.instance.push(inList('sop_uid', uidList(name, value)));
        break;
      case 'SOPClassUID':
        query.conditions.instance.push(inList('sop_class_uid', uidList(name, value)));
        break;
      case 'InstanceNumber':
        query.conditions.instance.push({ sql: 'instance_number = ?', params: [integer(name, value)] });
        break;
      default: {
        const tag = tagOf(keyword);
        const level = matchingLevel(tag);
        let condition: Condition | undefined;
        try {
          condition = attributeCondition(level === 'instance' ? 'metadata' : 'attributes', tag, vrOf(tag) ?? 'UN', name, value);
        } catch (error) {
          if (error instanceof AttributeMatchError) throw new QidoQueryError(error.message);
          throw error;
        }
        if (condition) query.conditions[level].push(condition);
        else query.warnings.push(`${keyword} is not supported for matching and was ignored`);
      }
    }
  }
  return query;
}

/** Conditions joined with AND; `1` when there are none. */
export function where(conditions: readonly Condition[]): Condition {
  return conditions.length === 0 ? { sql: '1', params: [] } : { sql: conditions.map((c) => `(${c.sql})`).join(' AND '), params: conditions.flatMap((c) => c.params) };
}
