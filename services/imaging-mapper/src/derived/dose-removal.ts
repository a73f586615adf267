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
  const stale = stored.filter((observation) => observation.id && leaving(observation));
  if (stale.length === 0) {
    return [];
  }
  const ownIds = new Set(stored.map((observation) => observation.id));
  const reportedElsewhere = new Map<string, Observation>();
  const refs = stale.map((observation) => `Observation/${observation.id}`);
  for (let start = 0; start < refs.length; start += PER_SEARCH) {
    const referencing = await searchEvery(fhir, 'Observation', { 'has-member': refs.slice(start, start + PER_SEARCH).join(','), _count: '200' });
    for (const summary of referencing.filter((item) => !ownIds.has(item.id))) {
      for (const member of summary.hasMember ?? []) {
        if (member.reference && !reportedElsewhere.has(member.reference)) reportedElsewhere.set(member.reference, summary);
      }
    }
  }
  return stale.map((observation) => {
    const url = `Observation/${observation.id}`;
    const summary = reportedElsewhere.get(url);
    return summary ? movedToSummaryStudy(observation, summary, url) : { request: { method: 'DELETE' as const, url } };
  });
}

/**
 * The deletions that take rejected instances' dose out of the index (IHE IOCM: a report sent for
 * the wrong patient or procedure must not count in anyone's dose): the study's dose Observations
 * that this snapshot no longer plans (a rejected report's summary and events; the Mean CTDIvol of
 * rejected CT images, and their summary when no image is left). Written in the study's
 * transaction, where this study's own summaries are written anew.
 */
export async function rejectedDoseDeletions(fhir: FhirPort, study: string, planned: readonly DoseGroup[]): Promise<BundleEntry[]> {
  const plannedIds = new Set(planned.flatMap((group) => [group.summary, ...group.members]).map((item) => item.resource.identifier?.[0]?.value));
  return doseRemovalEntries(fhir, [study], (observation) => !plannedIds.has(observation.identifier?.[0]?.value));
}

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
