import type { StudyCompletedV1Data, StudySeries } from '@imaging-facade/events';
import type { IndexRecord } from './study-index';

/**
 * The study-completed snapshot: everything held for the study, built from its index. Each SOP
 * Instance UID counts once with its last record (an instance sent again replaces the earlier one, and
 * may even have moved to another series). Series and instances keep the order they first arrived in.
 * Study attributes come from the latest record, series attributes from the latest record of the series.
 * Returns undefined for an index without records.
 */
export function buildSnapshot(
  studyInstanceUid: string,
  records: readonly IndexRecord[],
): StudyCompletedV1Data | undefined {
  const last = records.at(-1);
  if (last === undefined) {
    return undefined;
  }

  // Map keeps the insertion order of a key even when its value is replaced: first arrival, last content.
  const latestBySop = new Map<string, IndexRecord>();
  for (const record of records) {
    latestBySop.set(record.sopInstanceUid, record);
  }

  const series = new Map<string, StudySeries>();
  const seriesAttributesAt = new Map<string, number>();
  records.forEach((record, position) => {
    if (latestBySop.get(record.sopInstanceUid) === record) {
      seriesAttributesAt.set(record.seriesInstanceUid, position);
    }
  });
  for (const record of latestBySop.values()) {
    let entry = series.get(record.seriesInstanceUid);
    if (entry === undefined) {
      const newest = records[seriesAttributesAt.get(record.seriesInstanceUid) ?? 0] ?? record;
      entry = { seriesInstanceUid: record.seriesInstanceUid, attributes: newest.series, instances: [] };
      series.set(record.seriesInstanceUid, entry);
    }
    entry.instances.push({
      sopInstanceUid: record.sopInstanceUid,
      sopClassUid: record.sopClassUid,
      transferSyntaxUid: record.transferSyntaxUid,
      attributes: record.instance,
      storagePath: record.storagePath,
      sizeBytes: record.sizeBytes,
      ...(record.content ? { content: record.content } : {}),
    });
  }

  const times = records.map((record) => record.receivedAt);
  return {
    studyInstanceUid,
    study: last.study,
    series: [...series.values()],
    // Concurrent associations may append slightly out of time order. ISO 8601 in UTC sorts as text.
    firstReceivedAt: times.reduce((min, time) => (time < min ? time : min)),
    lastReceivedAt: times.reduce((max, time) => (time > max ? time : max)),
  };
}
