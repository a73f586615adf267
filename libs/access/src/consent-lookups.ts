import type { PatientIdentifier } from '@imaging-facade/events';
import { badGateway, OutcomeError } from '@imaging-facade/fhir-outcomes';
import type { AnyResource } from './compartment';
import { identifiersOfPatient } from '@imaging-facade/consent';
import { studyKeyOf, type ConsentLookups, type StudyKey } from './consent';
import type { Upstream } from '@imaging-facade/fhir';

/** A small time-bounded cache of promises, so that concurrent requests share one look-up. */
class TtlCache<V> {
  private readonly entries = new Map<string, { at: number; value: Promise<V> }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {}

  get(key: string, load: () => Promise<V>): Promise<V> {
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && now - hit.at < this.ttlMs) {
      return hit.value;
    }
    const value = load();
    value.catch(() => this.entries.delete(key));
    if (this.entries.size >= this.maxEntries) {
      // Maps iterate in insertion order: drop the oldest.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) {
        this.entries.delete(oldest);
      }
    }
    this.entries.set(key, { at: now, value });
    return value;
  }
}

/**
 * Patient identifiers and study UIDs for consent decisions, read from the FHIR server (only the
 * elements needed) and remembered for a while: identifiers of a patient and the UID of a study do
 * not change.
 */
export function upstreamConsentLookups(upstream: Upstream, ttlMs: number, maxEntries = 50_000): ConsentLookups {
  const patients = new TtlCache<PatientIdentifier[]>(ttlMs, maxEntries);
  const studies = new TtlCache<StudyKey | undefined>(ttlMs, maxEntries);

  const read = async (path: string): Promise<AnyResource | undefined> => {
    const response = await upstream.request('GET', path);
    if (response.status === 404 || response.status === 410) {
      return undefined;
    }
    if (response.status !== 200) {
      throw new OutcomeError(badGateway(`The FHIR server answered HTTP ${response.status} to a consent look-up`));
    }
    return response.body as AnyResource;
  };

  return {
    patientIdentifiers: (id) =>
      patients.get(id, async () => {
        const patient = await read(`Patient/${encodeURIComponent(id)}?_elements=identifier`);
        return patient ? identifiersOfPatient(patient) : [];
      }),
    study: (id) =>
      studies.get(id, async () => {
        const study = await read(`ImagingStudy/${encodeURIComponent(id)}?_elements=identifier`);
        return study ? studyKeyOf(study) : undefined;
      }),
  };
}
