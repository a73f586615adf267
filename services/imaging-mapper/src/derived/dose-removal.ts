import type { BundleEntry, Observation } from '@medplum/fhirtypes';
import { searchEvery, weakEtag } from '@imaging-facade/fhir';
import type { DoseGroup } from './dose-mapping';
import type { FhirPort } from '../fhir/fhir-lookups';

/** References per `has-member` search: the query stays well under common URL limits. */
const PER_SEARCH = 40;

/**
 * The entries that take dose Observations of the given studies out of the index: those of their
 * Observations (found by `part-of`) that `leaving` picks are deleted, except an irradiation event
 * that a summary of another study still reports (the same report filed under two studies, or the
 * event reported again under the right worklist entry). That event stays, and now belongs to that
 * summary's study: it takes the summary's `partOf`, `focus`, `subject` and `basedOn`. Deleting it
 * would be refused (409, the summary references it), and left pointing at a study being removed,
 * the study's own deletion would be.
 */
export async function doseRemovalEntries(fhir: FhirPort, studies: readonly string[], leaving: (observation: Observation) => boolean): Promise<BundleEntry[]> {
  if (studies.length === 0) {
    return [];
  }
  const stored = await searchEvery(fhir, 'Observation', { 'part-of': studies.join(','), _count: '200' });
  return removalEntries(fhir, stored, stored.filter((observation) => observation.id && leaving(observation)));
}

/**
 * The entries for `stale`, some of the Observations `stored` for the studies (doseRemovalEntries).
 * An event that one of `keepers` lists (a summary of the study that stays as it is: another
 * node's report of the same events) is left as it is.
 */
async function removalEntries(fhir: FhirPort, stored: readonly Observation[], staleFound: readonly Observation[], keepers: readonly Observation[] = []): Promise<BundleEntry[]> {
  const kept = new Set(keepers.flatMap((summary) => (summary.hasMember ?? []).map((member) => member.reference)));
  const stale = staleFound.filter((observation) => !kept.has(referenceOf(observation)));
  if (stale.length === 0) {
    return [];
  }
  const ownIds = new Set(stored.map((observation) => observation.id));
  const reportedElsewhere = new Map<string, Observation>();
  const refs = stale.map(referenceOf);
  for (let start = 0; start < refs.length; start += PER_SEARCH) {
    const referencing = await searchEvery(fhir, 'Observation', { 'has-member': refs.slice(start, start + PER_SEARCH).join(','), _count: '200' });
    for (const summary of referencing.filter((item) => !ownIds.has(item.id))) {
      for (const member of summary.hasMember ?? []) {
        if (member.reference && !reportedElsewhere.has(member.reference)) reportedElsewhere.set(member.reference, summary);
      }
    }
  }
  return stale.map((observation) => {
    const url = referenceOf(observation);
    const summary = reportedElsewhere.get(url);
    return summary ? movedToSummaryStudy(observation, summary, url) : { request: { method: 'DELETE' as const, url } };
  });
}

/**
 * The deletions that take rejected instances' dose out of the index (IHE IOCM: a report sent for
 * the wrong patient or procedure must not count in anyone's dose), and only theirs: the summary of
 * a rejected dose report (its identifier is the report's SOP Instance UID) and its events; the
 * Mean CTDIvol of a series whose every image is rejected (`rejectedSeries`), and a summary left
 * without members (the CT header summary once no image is left). What the snapshot plans is written
 * anew instead. Another node's dose, which this snapshot does not plan because the node does not
 * hold it, is not touched (until 2026-12-07 evening it was deleted). Written in the study's
 * transaction.
 */
export async function rejectedDoseDeletions(
  fhir: FhirPort,
  study: string,
  planned: readonly DoseGroup[],
  rejected: ReadonlySet<string>,
  rejectedSeries: ReadonlySet<string>,
): Promise<BundleEntry[]> {
  const plannedIds = new Set(planned.flatMap((group) => [group.summary, ...group.members]).map((item) => item.resource.identifier?.[0]?.value));
  const stored = await searchEvery(fhir, 'Observation', { 'part-of': study, _count: '200' });
  const byReference = new Map(stored.filter((observation) => observation.id).map((observation) => [referenceOf(observation), observation]));
  const free = (observation: Observation | undefined): observation is Observation => !!observation?.id && !plannedIds.has(observation.identifier?.[0]?.value);
  const uidOf = (observation: Observation) => observation.identifier?.[0]?.value?.replace(/^urn:oid:/, '') ?? '';
  const reports = new Set(stored.filter((observation) => free(observation) && rejected.has(uidOf(observation))).map(referenceOf));
  const series = new Set(stored.filter((observation) => free(observation) && rejectedSeries.has(uidOf(observation))).map(referenceOf));
  const leaving = new Set([...reports, ...series]);
  for (const summary of stored.filter((observation) => reports.has(referenceOf(observation)))) {
    for (const member of summary.hasMember ?? []) {
      if (member.reference && free(byReference.get(member.reference))) leaving.add(member.reference);
    }
  }
  for (const summary of stored) {
    const members = summary.hasMember ?? [];
    if (free(summary) && members.length > 0 && members.every((member) => series.has(member.reference ?? ''))) leaving.add(referenceOf(summary));
  }
  const keepers = stored.filter((summary) => free(summary) && !leaving.has(referenceOf(summary)) && (summary.hasMember ?? []).length > 0);
  return removalEntries(fhir, stored, stored.filter((observation) => leaving.has(referenceOf(observation))), keepers);
}

const referenceOf = (observation: Observation): string => `Observation/${observation.id}`;

/** The event, updated (If-Match on the version read) to belong where the summary reporting it does. */
function movedToSummaryStudy(event: Observation, summary: Observation, url: string): BundleEntry<Observation> {
  const { partOf: _partOf, focus: _focus, basedOn: _basedOn, ...rest } = event;
  const resource: Observation = {
    ...rest,
    ...(summary.basedOn ? { basedOn: summary.basedOn } : {}),
    ...(summary.partOf ? { partOf: summary.partOf } : {}),
    ...(summary.focus ? { focus: summary.focus } : {}),
    ...(summary.subject ? { subject: summary.subject } : {}),
  };
  const versionId = event.meta?.versionId;
  return { resource, request: { method: 'PUT', url, ...(versionId ? { ifMatch: weakEtag(versionId) } : {}) } };
}
