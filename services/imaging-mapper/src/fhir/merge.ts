import type { Identifier, ImagingStudy, ImagingStudySeries } from '@medplum/fhirtypes';
import { accessionNumberOf } from '@imaging-facade/fhir';
import { canonical } from './canonical';
import { byNumberThenUid, canonicalImagingStudy, compareText } from './study-order';

/**
 * The ImagingStudy to publish: the union of what the FHIR server holds (`existing`) and what the
 * snapshot describes. Snapshots can be replayed or arrive after a newer one, so the merge only
 * ever adds: series and instances are matched by UID, and for an element both have, the stored
 * one wins. A replay or an older snapshot therefore yields exactly the stored content, and a late
 * series is added. Counts and the modality list are recomputed from the result, and the result is
 * ordered deterministically so that equal content is byte-identical. Two removals: instances
 * a rejection note rejected (IHE IOCM, the snapshot's `rejected`) leave the study, and an instance
 * the snapshot lists under another series leaves the series the server lists it under (a SOP
 * Instance UID is one instance: sent again with another series, a series split or renumbered at
 * the source, it is listed once, where the study's newest snapshot places it: the consent gate
 * hands the mapper no older one). A series left without instances goes with them; a study
 * left without series has none (the caller deletes it).
 */
export function mergeImagingStudy(existing: ImagingStudy | undefined, snapshot: ImagingStudy, rejected: ReadonlySet<string> = new Set()): ImagingStudy {
  const stored = existing ? withoutServerMeta(existing) : undefined;
  const merged: ImagingStudy = { ...snapshot, ...dropUndefined(stored ?? {}) };
  merged.identifier = withoutUnqualifiedTwins(unionBy([...(stored?.identifier ?? []), ...(snapshot.identifier ?? [])], identifierKey));
  const placed = new Map((snapshot.series ?? []).flatMap((series) => (series.instance ?? []).map((instance) => [instance.uid, series.uid] as const)));
  merged.series = mergeByUid(stored?.series ?? [], snapshot.series ?? [], mergeSeries)
    .map(withSortedInstances)
    .flatMap((series) => keeping(series, (uid) => !rejected.has(uid) && (placed.get(uid) ?? series.uid) === series.uid));
  return canonicalImagingStudy(withDerivedElements(merged));
}

/** The series with only the instances `kept`; none when it listed some and keeps none. */
function keeping(series: ImagingStudySeries, kept: (instanceUid: string) => boolean): ImagingStudySeries[] {
  if (!series.instance) {
    return [series];
  }
  const instance = series.instance.filter((item) => kept(item.uid));
  if (instance.length === series.instance.length) {
    return [series];
  }
  return instance.length === 0 ? [] : [{ ...series, instance }];
}

/** True when both have the same content, whatever their key order and server metadata. */
export function sameContent(a: ImagingStudy, b: ImagingStudy): boolean {
  return canonical(withoutServerMeta(a)) === canonical(withoutServerMeta(b));
}

function mergeSeries(stored: ImagingStudySeries, incoming: ImagingStudySeries): ImagingStudySeries {
  const merged: ImagingStudySeries = { ...incoming, ...dropUndefined(stored) };
  merged.instance = mergeByUid(stored.instance ?? [], incoming.instance ?? [], (a, b) => ({
    ...b,
    ...dropUndefined(a),
  }));
  return merged;
}

/** A series found on one side only still gets its instances de-duplicated and ordered. */
function withSortedInstances(series: ImagingStudySeries): ImagingStudySeries {
  return series.instance ? { ...series, instance: mergeByUid(series.instance, [], (stored) => stored) } : series;
}

/** Union by UID; `merge(stored, incoming)` combines the two versions of the same item. */
function mergeByUid<T extends { uid: string; number?: number }>(
  stored: readonly T[],
  incoming: readonly T[],
  merge: (stored: T, incoming: T) => T,
): T[] {
  const byUid = new Map<string, T>();
  for (const item of stored) {
    if (!byUid.has(item.uid)) {
      byUid.set(item.uid, item);
    }
  }
  for (const item of incoming) {
    const current = byUid.get(item.uid);
    byUid.set(item.uid, current ? merge(current, item) : item);
  }
  return [...byUid.values()].sort(byNumberThenUid);
}

/** Counts and modalities follow from the series and instances actually listed. */
function withDerivedElements(study: ImagingStudy): ImagingStudy {
  const series = (study.series ?? []).map((item) =>
    item.instance ? { ...item, numberOfInstances: item.instance.length } : item,
  );
  const modality = unionBy(
    series.map((item) => item.modality),
    (coding) => `${coding.system ?? ''}|${coding.code ?? ''}`,
  ).sort((a, b) => compareText(a.code ?? '', b.code ?? '') || compareText(a.system ?? '', b.system ?? ''));
  return {
    ...study,
    modality: modality.length > 0 ? modality : undefined,
    numberOfSeries: series.length,
    numberOfInstances: series.reduce((sum, item) => sum + (item.numberOfInstances ?? 0), 0),
    series,
  };
}

/** versionId, lastUpdated and source belong to the server: they are never sent nor compared. */
function withoutServerMeta(study: ImagingStudy): ImagingStudy {
  if (!study.meta) {
    return study;
  }
  const { versionId: _versionId, lastUpdated: _lastUpdated, source: _source, ...meta } = study.meta;
  const copy = { ...study };
  if (Object.keys(meta).length > 0) {
    copy.meta = meta;
  } else {
    delete copy.meta;
  }
  return copy;
}

function unionBy<T>(items: readonly T[], key: (item: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const item of items) {
    if (!seen.has(key(item))) {
      seen.set(key(item), item);
    }
  }
  return [...seen.values()];
}

/**
 * An accession number without a system, when the same number is also there with one: the study got
 * its issuer later (an instance that named it, a corrected order), and one accession must be one
 * ACSN identifier, not two (found by a FHIR review).
 */
function withoutUnqualifiedTwins(identifiers: readonly Identifier[]): Identifier[] {
  const qualified = new Set(identifiers.filter((identifier) => identifier.system).map(accessionNumberOf).filter((value) => value !== undefined));
  return identifiers.filter((identifier) => identifier.system || !qualified.has(accessionNumberOf(identifier) ?? '\u0000'));
}

function identifierKey(identifier: Identifier): string {
  return `${identifier.system ?? ''}|${identifier.value ?? ''}`;
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as Partial<T>;
}
