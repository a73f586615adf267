import { isMadeAboutImages, rejectionNoteOf, type DicomJson } from '@imaging-facade/dicom';
import type { StudyCompletedV1Data, StudySeries } from '@imaging-facade/events';
import type { IndexRecord } from './study-index';
import { maySharePatient, supplementedAttributes } from './level-attributes';

/**
 * The study-completed snapshot: everything held for the study, built from its index. Each SOP
 * Instance UID counts once with its last record (an instance sent again replaces the earlier one, and
 * may even have moved to another series). Series and instances keep the order they first arrived in.
 * Study attributes are those of the latest record of an acquired instance (an image, a waveform…),
 * series attributes the latest record's of the series, each with what it leaves empty taken from the
 * records before it (see `supplementedAttributes`). Objects made from or about the images (reports,
 * secondary captures, segmentations…: `isMadeAboutImages`) come after every acquired instance: a dose report sent last by
 * a dose management system, with its own patient module (no issuer, a name of its own), put the
 * study under another patient identity until 2026-12-07 (found by a FHIR review). Rejection notes
 * (IHE IOCM) hide the instances of the study they reference, and themselves: neither is listed nor
 * decides an attribute, and `rejected` names them for the consumers to hide. Returns undefined
 * for an index without records.
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

  const rejected = rejectionsOf(studyInstanceUid, latestBySop.values());
  const isShown = (record: IndexRecord) => !rejected.reasons.has(record.sopInstanceUid) && !rejected.notes.has(record.sopInstanceUid);

  // The records the study holds, newest first, by series; when every one is rejected, the study's
  // attributes still come from them (the consumers need its patient to hide it).
  const latest = records.filter((record) => latestBySop.get(record.sopInstanceUid) === record).reverse();
  const held = latest.some(isShown) ? latest.filter(isShown) : latest;
  const heldBySeries = new Map<string, DicomJson[]>();
  for (const record of held) {
    const attributes = heldBySeries.get(record.seriesInstanceUid) ?? [];
    attributes.push(record.series);
    heldBySeries.set(record.seriesInstanceUid, attributes);
  }
  const seriesAttributesOf = (seriesUid: string) => supplementedAttributes(heldBySeries.get(seriesUid) ?? []);
  const acquiredFirst = [
    ...held.filter((record) => !isMadeAboutImages(record.sopClassUid)),
    ...held.filter((record) => isMadeAboutImages(record.sopClassUid)),
  ].map((record) => record.study);
  const newest = acquiredFirst[0] ?? last.study;

  const series = new Map<string, StudySeries>();
  for (const record of [...latestBySop.values()].filter(isShown)) {
    let entry = series.get(record.seriesInstanceUid);
    if (entry === undefined) {
      entry = { seriesInstanceUid: record.seriesInstanceUid, attributes: seriesAttributesOf(record.seriesInstanceUid), instances: [] };
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
    study: supplementedAttributes(acquiredFirst.filter((study) => maySharePatient(study, newest))),
    series: [...series.values()],
    // Concurrent associations may append slightly out of time order. ISO 8601 in UTC sorts as text.
    firstReceivedAt: times.reduce((min, time) => (time < min ? time : min)),
    lastReceivedAt: times.reduce((max, time) => (time > max ? time : max)),
    ...(rejected.notes.size > 0 ? { rejected: rejectedList(rejected) } : {}),
  };
}

/**
 * What the consumers hide: the rejected instances, and the notes themselves with their own reason,
 * since a consumer may have listed a note before (one stored before this version read notes).
 */
function rejectedList(rejected: { reasons: Map<string, string>; notes: Map<string, string> }): Array<{ sopInstanceUid: string; reason: string }> {
  const all = new Map([...rejected.reasons, ...[...rejected.notes].filter(([uid]) => !rejected.reasons.has(uid))]);
  return [...all].map(([sopInstanceUid, reason]) => ({ sopInstanceUid, reason }));
}

/** The study's instances rejected by the rejection notes it holds (the first note's reason wins), and those notes with theirs. */
function rejectionsOf(studyInstanceUid: string, records: Iterable<IndexRecord>): { reasons: Map<string, string>; notes: Map<string, string> } {
  const reasons = new Map<string, string>();
  const notes = new Map<string, string>();
  for (const record of records) {
    const note = rejectionNoteOf(studyInstanceUid, record.sopClassUid, record.instance, record.content);
    // A note that rejects nothing of its study (its references are another study's, too large to be
    // carried, or it came before this version read them) is an ordinary document: listed.
    if (note === undefined || note.rejected.length === 0) {
      continue;
    }
    notes.set(record.sopInstanceUid, note.reason);
    for (const uid of note.rejected) {
      if (!reasons.has(uid)) {
        reasons.set(uid, note.reason);
      }
    }
  }
  return { reasons, notes };
}
