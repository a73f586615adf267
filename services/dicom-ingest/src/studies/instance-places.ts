import type { IndexRecord } from './study-index';

/**
 * One place per instance. A SOP Instance UID names one instance wherever it comes from (PS3.5 9):
 * sent again, it is that instance corrected at the source, and its newest line wins. Sent again
 * with another series (a series split or renumbered), it also gets another place
 * (`<study>/<series>/<sop>.dcm`): its earlier place then holds an older copy that nothing may list
 * or serve any more.
 *
 * `held`: the line that stands for each instance, by SOP Instance UID. Returns the places (relative
 * to the storage root) that `lines` name for an instance held in another place. An instance without
 * a held line keeps its places, and the place of a held line is never among them.
 */
export function supersededPlaces(lines: Iterable<IndexRecord>, held: ReadonlyMap<string, IndexRecord>): string[] {
  const heldPlaces = new Set([...held.values()].map((line) => line.storagePath));
  const superseded = new Set<string>();
  for (const line of lines) {
    if (held.has(line.sopInstanceUid) && !heldPlaces.has(line.storagePath)) {
      superseded.add(line.storagePath);
    }
  }
  return [...superseded];
}
