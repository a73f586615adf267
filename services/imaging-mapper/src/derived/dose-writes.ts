import type { BundleEntry, Observation } from '@medplum/fhirtypes';
import { identifierToken } from '@imaging-facade/fhir';
import { UnprocessableStudyError } from '../errors';
import type { FhirPort } from '../fhir/fhir-lookups';
import { guardedEntry, type StoredVersion } from '../fhir/transaction';
import { findObservations, findObservationsByIdentifier, sameDerivedContent } from './derived-lookups';
import { DOSE_SUMMARY_CODE, type DoseGroup, type PlannedObservation } from './dose-mapping';

/** The entries that write a study's dose Observations, in the order of the groups. */
export interface DoseWrites {
  entries: Array<BundleEntry<Observation>>;
  /** Indexes in `entries` of the conditional creates, whose answer must be 201 (pipeline.ts, `mustCreate`). */
  creates: number[];
}

/**
 * The writes of a study's dose Observations, guarded as the ImagingStudy's are, so that a
 * transaction built on an older read never overwrites what a newer one wrote (one that reached the
 * server late, after a client timeout and a retry, or an older snapshot's still in flight; when
 * only the dose changed, the ImagingStudy is not in the transaction to guard it).
 *
 * Per group (a dose report, or the CT image headers) the stored summary is read, in one search for
 * all; a group whose summary says the same is not written (its events come from the same report),
 * so a snapshot that changes nothing writes nothing. Every Observation of the other groups, summary
 * and members, is then looked up by identifier (40 per search; by identifier, not `part-of`: an
 * event may belong to another study whose report lists it too) and written: a stored one by id,
 * with `If-Match` on the version read (the server refuses it, 409/412, once another writer wrote a
 * version since), a new one by conditional create on its identifier and code (one created
 * meanwhile is matched, 200, and the event is handled again, reading it). Either refusal fails the
 * whole transaction or makes the pipeline throw, retryably. An event that two reports of the study
 * share is written once, and both summaries reference its entry.
 */
export async function doseWrites(fhir: FhirPort, groups: readonly DoseGroup[]): Promise<DoseWrites> {
  if (groups.length === 0) {
    return { entries: [], creates: [] };
  }
  const summaries = await findObservations(fhir, groups.map((group) => group.summary.resource.identifier![0]!), DOSE_SUMMARY_CODE);
  const changed = groups.filter((group) => {
    const current = summaries.find((observation) => storedAs(observation, group.summary));
    return !current || !sameDerivedContent(current, group.summary.resource);
  });
  if (changed.length === 0) {
    return { entries: [], creates: [] };
  }
  const planned = [...new Map(changed.flatMap((group) => [...group.members, group.summary]).map((item) => [item.fullUrl, item])).values()];
  const unread = planned.filter((item) => !summaries.some((observation) => storedAs(observation, item)));
  const stored = [...summaries, ...(await findObservationsByIdentifier(fhir, unread.map((item) => item.resource.identifier![0]!)))];
  const writes: DoseWrites = { entries: [], creates: [] };
  for (const item of planned) {
    const version = storedVersionOf(stored, item);
    if (!version) {
      writes.creates.push(writes.entries.length);
    }
    writes.entries.push(guardedEntry(item.resource, item.search, item.fullUrl, version));
  }
  return writes;
}

/** The stored Observation the planned one is (the search of its conditional create: identifier and code), if any. */
function storedVersionOf(stored: readonly Observation[], item: PlannedObservation): StoredVersion | undefined {
  const matches = new Map(stored.filter((observation) => observation.id && storedAs(observation, item)).map((observation) => [observation.id!, observation]));
  if (matches.size > 1) {
    // A state no retry fixes; a conditional create or update against it would fail every time.
    throw new UnprocessableStudyError('more than one Observation has the identifier and code of a dose Observation of the study');
  }
  const [match] = matches.values();
  return match ? { id: match.id!, versionId: match.meta?.versionId } : undefined;
}

function storedAs(observation: Observation, item: PlannedObservation): boolean {
  return (
    (observation.identifier ?? []).some((identifier) => identifier.value !== undefined && identifierToken(identifier) === item.search.identifier) &&
    (observation.code?.coding ?? []).some((coding) => `${coding.system ?? ''}|${coding.code ?? ''}` === item.search.code)
  );
}
