import type { BundleEntry, Observation } from '@medplum/fhirtypes';
import type { DoseGroup } from './dose-mapping';
import type { FhirPort } from '../fhir/fhir-lookups';

/** References per `has-member` search: the query stays well under common URL limits. */
const PER_SEARCH = 40;

/**
 * The deletions that take rejected instances' dose out of the index (IHE IOCM: a report sent for
 * the wrong patient or procedure must not count in anyone's dose): the study's dose Observations
 * that this snapshot no longer plans (a rejected report's summary and events; the Mean CTDIvol of
 * rejected CT images, and their summary when no image is left). An Observation that a summary
 * outside the study's own still references is kept: the same irradiation event reported again,
 * under the right worklist entry, by another study (deleting it would be refused, 409). Written in
 * the study's transaction, where this study's own summaries are written anew.
 */
export async function rejectedDoseDeletions(fhir: FhirPort, study: string, planned: readonly DoseGroup[]): Promise<BundleEntry[]> {
  const plannedIds = new Set(planned.flatMap((group) => [group.summary, ...group.members]).map((item) => item.resource.identifier?.[0]?.value));
  const stored = await fhir.search('Observation', { 'part-of': study, _count: '1000' });
  const stale = stored.filter((observation) => observation.id && !plannedIds.has(observation.identifier?.[0]?.value));
  if (stale.length === 0) {
    return [];
  }
  const ownIds = new Set(stored.map((observation) => observation.id));
  const stillReferenced = new Set<string>();
  const refs = stale.map((observation) => `Observation/${observation.id}`);
  for (let start = 0; start < refs.length; start += PER_SEARCH) {
    const referencing: Observation[] = await fhir.search('Observation', { 'has-member': refs.slice(start, start + PER_SEARCH).join(','), _count: '1000' });
    for (const summary of referencing.filter((item) => !ownIds.has(item.id))) {
      for (const member of summary.hasMember ?? []) {
        if (member.reference) stillReferenced.add(member.reference);
      }
    }
  }
  return refs.filter((ref) => !stillReferenced.has(ref)).map((url) => ({ request: { method: 'DELETE' as const, url } }));
}
