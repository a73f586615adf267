import type { BundleEntry } from '@medplum/fhirtypes';
import { findObservations } from './derived-lookups';
import { DOSE_SUMMARY_CODE, type DoseGroup } from './dose-mapping';
import { typedUidIdentifier } from './study-references';
import type { FhirPort } from '../fhir/fhir-lookups';

/** Identifiers per search: the query stays well under common URL limits. */
const PER_SEARCH = 40;

/**
 * The deletions that take a rejected dose report's values out of the index (IHE IOCM: a report sent
 * for the wrong patient or the wrong procedure must not count in anyone's dose): the summary of
 * each rejected instance that has one, and those of its events that no summary written now
 * references (two reports of a study may share an event). Written in the study's transaction.
 */
export async function rejectedDoseDeletions(fhir: FhirPort, rejectedSopUids: readonly string[], written: readonly DoseGroup[]): Promise<BundleEntry[]> {
  if (rejectedSopUids.length === 0) {
    return [];
  }
  const stillReferenced = new Set(written.flatMap((group) => group.members.map((member) => member.resource.identifier?.[0]?.value)));
  const urls = new Set<string>();
  for (let start = 0; start < rejectedSopUids.length; start += PER_SEARCH) {
    const identifiers = rejectedSopUids.slice(start, start + PER_SEARCH).map((uid) => typedUidIdentifier(uid, 'sop-instance-uid'));
    for (const summary of await findObservations(fhir, identifiers, DOSE_SUMMARY_CODE)) {
      if (summary.id) {
        urls.add(`Observation/${summary.id}`);
      }
      for (const member of summary.hasMember ?? []) {
        if (member.reference?.startsWith('Observation/') && !stillReferenced.has(member.identifier?.value)) {
          urls.add(member.reference);
        }
      }
    }
  }
  return [...urls].map((url) => ({ request: { method: 'DELETE' as const, url } }));
}
