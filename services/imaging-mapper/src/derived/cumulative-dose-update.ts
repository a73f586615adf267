import { isDoseReport } from '@imaging-facade/dicom';
import type { StudyCompletedV1Data } from '@imaging-facade/events';
import type { Identifier, Observation } from '@medplum/fhirtypes';
import { FhirError, identifierToken, weakEtag, type FhirClient } from '@imaging-facade/fhir';
import { UnprocessableStudyError } from '../errors';
import type { FhirPort } from '../fhir/fhir-lookups';
import { transactionBundle, versionedEntry } from '../fhir/transaction';
import { typedUidIdentifier } from './study-references';
import { sameDerivedContent } from './derived-lookups';
import { CUMULATIVE_DOSE_CODE, cumulativeDoseIdentifier, cumulativeDoseObservation, eventsNeeded } from './cumulative-dose';
import { DOSE_SUMMARY_CODE, IRRADIATION_EVENT_CODE } from './dose-mapping';

/** Whether a study snapshot carries a dose report (the only source of the cumulative dose types). */
export function hasDoseReport(data: StudyCompletedV1Data): boolean {
  return data.series.some((series) => series.instances.some((instance) => isDoseReport(instance.sopClassUid)));
}

export type CumulativeDoseOutcome = 'created' | 'updated' | 'unchanged' | 'deleted' | 'none';

/** What the cumulative dose asks of the FHIR server: every page of a patient's summaries. */
export type CumulativeDosePort = FhirPort & Pick<FhirClient, 'searchAll'>;

const EVENTS_PER_SEARCH = 50;

/**
 * Recomputes a patient's cumulative dose from what the server holds now (their dose summaries, which a
 * withdrawal removes with their study) and writes it when it changed: created by conditional create,
 * updated by id with If-Match on the version read, deleted when no study has a dose value any more.
 * Idempotent: the same summaries give the same Observation, and an equal one is not written. A
 * concurrent writer makes the write fail with 409/412 (retried by the caller), never lost.
 */
export async function updateCumulativeDose(fhir: CumulativeDosePort, patientId: string): Promise<CumulativeDoseOutcome> {
  const subject = `Patient/${patientId}`;
  const summaries: Observation[] = [];
  for await (const summary of fhir.searchAll('Observation', { subject, code: `${DOSE_SUMMARY_CODE.system}|${DOSE_SUMMARY_CODE.code}`, _count: '200' })) {
    summaries.push(summary);
  }
  const events = await eventObservations(fhir, subject, eventsNeeded(summaries));
  const fresh = cumulativeDoseObservation(patientId, summaries, events);
  const identifier = cumulativeDoseIdentifier(patientId);
  const stored = await storedCumulative(fhir, identifier);
  if (!fresh) {
    if (!stored?.id) {
      return 'none';
    }
    await fhir.transaction(transactionBundle([{ request: { method: 'DELETE', url: `Observation/${stored.id}`, ...(stored.meta?.versionId ? { ifMatch: weakEtag(stored.meta.versionId) } : {}) } }]));
    return 'deleted';
  }
  if (stored && sameDerivedContent(stored, fresh)) {
    return 'unchanged';
  }
  const entry = versionedEntry<Observation>(fresh, identifier, stored?.id ? { id: stored.id, versionId: stored.meta?.versionId } : undefined);
  const response = await fhir.transaction(transactionBundle([entry]));
  const status = response.entry?.[0]?.response?.status ?? '';
  if (!stored && !status.startsWith('201')) {
    // Another writer created it between our read and our write: read and compute again.
    throw new FhirError(`the cumulative dose Observation was created concurrently (${status || 'no status'})`, 409);
  }
  return stored ? 'updated' : 'created';
}

async function storedCumulative(fhir: FhirPort, identifier: Identifier): Promise<Observation | undefined> {
  const found = await fhir.search('Observation', {
    identifier: identifierToken(identifier),
    code: `${CUMULATIVE_DOSE_CODE.system}|${CUMULATIVE_DOSE_CODE.code}`,
    _count: '2',
  });
  if (found.length > 1) {
    throw new UnprocessableStudyError('more than one cumulative dose Observation for one patient');
  }
  return found[0];
}

/** The event Observations with these identifier values (`urn:oid:<uid>`), a few dozen per search. */
async function eventObservations(fhir: FhirPort, subject: string, values: readonly string[]): Promise<Observation[]> {
  const out: Observation[] = [];
  for (let start = 0; start < values.length; start += EVENTS_PER_SEARCH) {
    const chunk = values.slice(start, start + EVENTS_PER_SEARCH);
    out.push(
      ...(await fhir.search('Observation', {
        subject,
        code: `${IRRADIATION_EVENT_CODE.system}|${IRRADIATION_EVENT_CODE.code}`,
        identifier: chunk.map((value) => identifierToken(typedUidIdentifier(value.replace(/^urn:oid:/, ''), 'irradiation-event-uid'))).join(','),
        _count: String(chunk.length * 2 + 1),
      })),
    );
  }
  return out;
}
