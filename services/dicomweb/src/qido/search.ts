import { tagOf, type DicomAttribute, type DicomJson } from '@imaging-facade/dicom';
import type { StudyAccess, StudyScope } from '@imaging-facade/access';
import { LISTED, StudyIndexDb, type Condition, type InstanceRow, type MatchKey, type SeriesRow, type StudyRow } from '../index/study-index-db';
import { BULK_BASE } from '../index/snapshot-rows';
import { where, type Level, type QidoQuery } from './query';

/**
 * QIDO-RS answers: the matches of a query in the index, restricted to what the token may see (its
 * patient's studies; none that consent withholds), paged after that restriction, each as DICOM JSON
 * with the level's required return keys (PS3.18 Table 10.6.3-3/4/5) and what `includefield` asks.
 * Only the page's rows are read whole (`pageOf`).
 */

const tags = (keywords: readonly string[]): string[] => keywords.map((keyword) => tagOf(keyword));

export const STUDY_RETURN_TAGS = tags([
  'SpecificCharacterSet', 'StudyDate', 'StudyTime', 'AccessionNumber', 'ReferringPhysicianName', 'TimezoneOffsetFromUTC',
  'PatientName', 'PatientID', 'PatientBirthDate', 'PatientSex', 'StudyInstanceUID', 'StudyID', 'StudyDescription', 'InstitutionName',
]);
export const SERIES_RETURN_TAGS = tags(['Modality', 'SeriesDescription', 'SeriesInstanceUID', 'SeriesNumber', 'SeriesDate', 'SeriesTime', 'BodyPartExamined']);
export const INSTANCE_RETURN_TAGS = tags(['SpecificCharacterSet', 'SOPClassUID', 'SOPInstanceUID', 'InstanceNumber', 'Rows', 'Columns', 'BitsAllocated', 'NumberOfFrames']);

const T = {
  StudyInstanceUID: tagOf('StudyInstanceUID'),
  SeriesInstanceUID: tagOf('SeriesInstanceUID'),
  ModalitiesInStudy: tagOf('ModalitiesInStudy'),
  NumberOfStudyRelatedSeries: tagOf('NumberOfStudyRelatedSeries'),
  NumberOfStudyRelatedInstances: tagOf('NumberOfStudyRelatedInstances'),
  NumberOfSeriesRelatedInstances: tagOf('NumberOfSeriesRelatedInstances'),
  RetrieveURL: tagOf('RetrieveURL'),
  InstanceAvailability: tagOf('InstanceAvailability'),
} as const;

export interface SearchContext {
  db: StudyIndexDb;
  access: Pick<StudyAccess, 'consentShares'>;
  scope: Exclude<StudyScope, { kind: 'denied' }>;
  publicBaseUrl: string;
}

export interface SearchResult {
  matches: DicomJson[];
  /** The studies whose data is in the answer (for the audit trail). */
  studies: StudyRow[];
}

function scopeCondition(scope: SearchContext['scope']): Condition[] {
  if (scope.kind === 'all') {
    return [];
  }
  if (scope.identifiers.length === 0) {
    return [{ sql: '0', params: [] }];
  }
  return [
    {
      sql: scope.identifiers.map(() => '(patient_system = ? AND patient_value = ?)').join(' OR '),
      params: scope.identifiers.flatMap((identifier) => [identifier.system, identifier.value]),
    },
  ];
}

function exists(table: 'series' | 'instances', alias: string, outer: string, conditions: readonly Condition[], joinSeries = false): Condition[] {
  if (conditions.length === 0) return [];
  const inner = where(conditions);
  const seriesJoin = joinSeries ? ` AND ${alias}.series_uid = ${outer}.series_uid` : '';
  return [{ sql: `EXISTS (SELECT 1 FROM ${table} ${alias} WHERE ${alias}.study_uid = ${outer}.study_uid${seriesJoin} AND ${alias}.${LISTED.sql} AND ${inner.sql})`, params: inner.params }];
}

function inStudies(study: readonly Condition[], owner: string): Condition[] {
  if (study.length === 0) return [];
  const inner = where(study);
  return [{ sql: `${owner}.study_uid IN (SELECT study_uid FROM studies WHERE ${inner.sql})`, params: inner.params }];
}

/** Picks the returned attributes: the level's defaults and the included ones (all held with `all`). */
function pick(held: DicomJson, defaults: readonly string[], include: QidoQuery['includeFields']): DicomJson {
  if (include === 'all') {
    return { ...held };
  }
  const wanted = new Set([...defaults, ...include]);
  return Object.fromEntries(Object.entries(held).filter(([tag]) => wanted.has(tag)));
}

const ur = (url: string): DicomAttribute => ({ vr: 'UR', Value: [url] });
const is = (value: number): DicomAttribute => ({ vr: 'IS', Value: [value] });

export function studyAttributes(row: StudyRow, include: QidoQuery['includeFields'], base: string): DicomJson {
  return {
    ...pick(JSON.parse(row.attributes) as DicomJson, STUDY_RETURN_TAGS, include),
    [T.StudyInstanceUID]: { vr: 'UI', Value: [row.studyUid] },
    [T.ModalitiesInStudy]: row.modalities ? { vr: 'CS', Value: row.modalities.split('\\') } : { vr: 'CS' },
    [T.NumberOfStudyRelatedSeries]: is(row.numberOfSeries),
    [T.NumberOfStudyRelatedInstances]: is(row.numberOfInstances),
    [T.InstanceAvailability]: { vr: 'CS', Value: ['ONLINE'] },
    [T.RetrieveURL]: ur(`${base}/studies/${row.studyUid}`),
  };
}

export function seriesAttributes(row: SeriesRow, include: QidoQuery['includeFields'], base: string): DicomJson {
  return {
    ...pick(JSON.parse(row.attributes) as DicomJson, SERIES_RETURN_TAGS, include),
    [T.StudyInstanceUID]: { vr: 'UI', Value: [row.studyUid] },
    [T.SeriesInstanceUID]: { vr: 'UI', Value: [row.seriesUid] },
    [T.NumberOfSeriesRelatedInstances]: is(row.numberOfInstances),
    [T.RetrieveURL]: ur(`${base}/studies/${row.studyUid}/series/${row.seriesUid}`),
  };
}

/** An instance's full metadata as served: BulkDataURIs completed with the public base. */
/** An instance's DICOM JSON as text, its BulkDataURIs under `base`: what WADO-RS metadata sends. */
export function instanceMetadataText(row: InstanceRow, base: string): string {
  return row.metadata.split(BULK_BASE).join(base);
}

export function instanceMetadata(row: InstanceRow, base: string): DicomJson {
  return JSON.parse(instanceMetadataText(row, base)) as DicomJson;
}

export function instanceAttributes(row: InstanceRow, include: QidoQuery['includeFields'], base: string): DicomJson {
  return {
    ...pick(instanceMetadata(row, base), INSTANCE_RETURN_TAGS, include),
    [T.StudyInstanceUID]: { vr: 'UI', Value: [row.studyUid] },
    [T.SeriesInstanceUID]: { vr: 'UI', Value: [row.seriesUid] },
    [T.InstanceAvailability]: { vr: 'CS', Value: ['ONLINE'] },
    [T.RetrieveURL]: ur(`${base}/studies/${row.studyUid}/series/${row.seriesUid}/instances/${row.sopUid}`),
  };
}

/**
 * Whether the token may see a study (its scope is in the SQL already; consent; for a GP, a
 * validated report), decided once per study a search meets, from the study's identity only.
 */
function visibility(context: SearchContext): (studyUid: string) => boolean {
  const decided = new Map<string, boolean>();
  return (studyUid) => {
    let visible = decided.get(studyUid);
    if (visible === undefined) {
      const study = context.db.studyAccessRow(studyUid);
      visible = study !== undefined && (context.scope.reportedOnly !== true || context.db.holdsValidatedReport(studyUid)) && context.access.consentShares(StudyIndexDb.factsOf(study));
      decided.set(studyUid, visible);
    }
    return visible;
  };
}

/**
 * The page of the matches the token may see: matches read in order by key only, those of hidden
 * studies skipped, the first `offset` visible ones passed over, reading stopped once `limit` are
 * kept. So a page costs the matches before it (their keys and their studies' access), not the
 * index: no attributes or metadata are read but the page's (by the caller).
 */
function pageOf(context: SearchContext, query: QidoQuery, matches: () => IterableIterator<MatchKey>): MatchKey[] {
  const kept: MatchKey[] = [];
  if (query.limit === 0) return kept;
  const visible = visibility(context);
  let passed = 0;
  for (const match of matches()) {
    if (!visible(match.studyUid)) continue;
    if (passed < query.offset) {
      passed += 1;
      continue;
    }
    kept.push(match);
    if (kept.length === query.limit) break;
  }
  return kept;
}

/** The studies of `rows`, each once, in the order of their first row: those whose data is in the answer. */
function studiesOf(context: SearchContext, rows: ReadonlyArray<{ studyUid: string }>): StudyRow[] {
  const uids = [...new Set(rows.map((row) => row.studyUid))];
  const studies = context.db.studies(uids);
  return uids.map((uid) => studies.get(uid) as StudyRow);
}

/**
 * Where a search looks: in a study or series its path names, and (`patientSystem`) among the
 * studies whose patient identifier has this system only.
 */
export interface SearchWithin {
  studyUid?: string | undefined;
  seriesUid?: string | undefined;
  patientSystem?: string | undefined;
}

export function search(context: SearchContext, level: Level, query: QidoQuery, within: SearchWithin = {}): SearchResult {
  const { conditions } = query;
  const { db } = context;
  const study = [
    ...conditions.study,
    ...scopeCondition(context.scope),
    ...(within.studyUid ? [{ sql: 'study_uid = ?', params: [within.studyUid] }] : []),
    ...(within.patientSystem ? [{ sql: 'patient_system = ?', params: [within.patientSystem] }] : []),
  ];
  const base = context.publicBaseUrl;

  if (level === 'study') {
    const matching = where([...study, ...exists('series', 's', 'studies', conditions.series), ...exists('instances', 'i', 'studies', conditions.instance)]);
    const kept = db.studiesAt(pageOf(context, query, () => db.matchKeys('studies', matching)));
    return { matches: kept.map((row) => studyAttributes(row, query.includeFields, base)), studies: kept };
  }
  if (level === 'series') {
    const series = [...conditions.series, ...(within.seriesUid ? [{ sql: 'series_uid = ?', params: [within.seriesUid] }] : [])];
    const matching = where([...series, LISTED, ...inStudies(study, 'series'), ...exists('instances', 'i', 'series', conditions.instance, true)]);
    const kept = db.seriesAt(pageOf(context, query, () => db.matchKeys('series', matching)));
    const studies = studiesOf(context, kept);
    const studyOf = new Map(studies.map((row) => [row.studyUid, row]));
    // All series (no study in the path): each with its study's required keys (PS3.18 10.6.3.3).
    const withStudy = (row: SeriesRow): DicomJson => (within.studyUid ? {} : studyKeysOf(studyOf.get(row.studyUid) as StudyRow));
    return {
      matches: kept.map((row) => ({ ...withStudy(row), ...seriesAttributes(row, query.includeFields, base) })),
      studies,
    };
  }
  const series = [...conditions.series, ...(within.seriesUid ? [{ sql: 'series_uid = ?', params: [within.seriesUid] }] : [])];
  const seriesExists: Condition[] =
    series.length === 0 ? [] : [{ sql: `EXISTS (SELECT 1 FROM series s WHERE s.study_uid = instances.study_uid AND s.series_uid = instances.series_uid AND ${where(series).sql})`, params: where(series).params }];
  const matching = where([...conditions.instance, LISTED, ...inStudies(study, 'instances'), ...seriesExists]);
  const kept = db.instancesAt(pageOf(context, query, () => db.matchKeys('instances', matching)));
  const studies = studiesOf(context, kept);
  const studyOf = new Map(studies.map((row) => [row.studyUid, row]));
  // Instances of more than one series: each with its series' required keys, and its study's when
  // no study is in the path (PS3.18 10.6.3.3).
  const seriesKeys = new Map<string, DicomJson>();
  const seriesKeysOf = (row: InstanceRow): DicomJson => {
    const key = `${row.studyUid}/${row.seriesUid}`;
    let keys = seriesKeys.get(key);
    if (!keys) {
      const [seriesRow] = db.findSeries({ sql: 'study_uid = ? AND series_uid = ?', params: [row.studyUid, row.seriesUid] });
      keys = seriesRow ? pick(JSON.parse(seriesRow.attributes) as DicomJson, SERIES_RETURN_TAGS, []) : {};
      seriesKeys.set(key, keys);
    }
    return keys;
  };
  const higher = (row: InstanceRow): DicomJson => ({
    ...(within.studyUid ? {} : studyKeysOf(studyOf.get(row.studyUid) as StudyRow)),
    ...(within.seriesUid ? {} : seriesKeysOf(row)),
  });
  return {
    matches: kept.map((row) => ({ ...higher(row), ...instanceAttributes(row, query.includeFields, base) })),
    studies,
  };
}

/** A study's required return keys, as they head the matches of a search across studies. */
function studyKeysOf(study: StudyRow): DicomJson {
  return pick(JSON.parse(study.attributes) as DicomJson, STUDY_RETURN_TAGS, []);
}
