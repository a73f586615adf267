import { hasWithheldLabel, identifiersOfPatient } from '@imaging-facade/consent';
import { parsePatientKey, patientKey } from '@imaging-facade/events';
import { identifierToken, patientRecordsHolding, type FhirClient } from '@imaging-facade/fhir';

/**
 * The identifiers a patient is known by in the index. A decision is kept under the identifier the
 * desk recorded it with (a regional one, say), while the node files the patient's studies under
 * its own (the hospital's); the Patient record that holds both (written by a master patient index)
 * links them, as it does for the gateway. So a study is decided over every identifier of the
 * records holding its patient's, and a decision about one identifier reaches the studies of all.
 */
export interface LinkedPatients {
  /** The patient's key first, then every other identifier of the Patient records holding it, as keys. */
  keysOf(patientKey: string): Promise<string[]>;
  /** Every Patient record holding any of these patients' identifiers: its identifiers (keys), and whether it has the withheld label. */
  recordsHolding(patientKeys: readonly string[]): Promise<Array<{ keys: string[]; labelled: boolean }>>;
}

/** Over the FHIR server: one search for the records holding the identifier (only their identifiers). */
export function linkedPatients(fhir: Pick<FhirClient, 'search' | 'searchAll'>): LinkedPatients {
  return {
    async keysOf(key) {
      const identifier = parsePatientKey(key);
      if (!identifier) {
        return [key];
      }
      const records = await fhir.search('Patient', { identifier: identifierToken(identifier), _elements: 'identifier', _count: '50' });
      return [...new Set([key, ...records.flatMap((record) => identifiersOfPatient(record).map(patientKey))])];
    },
    async recordsHolding(keys) {
      const records: Array<{ keys: string[]; labelled: boolean }> = [];
      for await (const record of patientRecordsHolding(fhir, keys.flatMap((key) => parsePatientKey(key) ?? []))) {
        records.push({ keys: identifiersOfPatient(record).map(patientKey), labelled: hasWithheldLabel(record.meta?.security) });
      }
      return records;
    },
  };
}
