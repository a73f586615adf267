import { randomUUID } from 'node:crypto';
import type { BundleEntry, Consent, Patient } from '@medplum/fhirtypes';
import type { PatientIdentifier } from '@imaging-facade/events';
import { CUMULATIVE_DOSE_CODE, cumulativeDoseLines, escapeSearchValue, FhirError, identifierToken, patientCreateEntry, searchEvery, weakEtag, type CumulativeDoseLine, type FhirClient } from '@imaging-facade/fhir';
import { DESK_CONSENT_TAG, inactivated } from './consent-resource';

const TAG_TOKEN = `${DESK_CONSENT_TAG.system}|${DESK_CONSENT_TAG.code}`;
const PAGE_SIZE = 200;

/** A change of a patient's decisions, written in one FHIR transaction. */
export interface ConsentChange {
  patient: PatientIdentifier;
  /** The new decision's Consent (its `patient` is set here); absent for a revocation. */
  create?: (patientReference: string) => Consent;
  /** The Patient records carrying the identifier, as `patientRecords` found them; looked up when absent. */
  patientRecords?: string[];
  /** Stored Consents that stop being in force (status → inactive, guarded by their version). */
  inactivate: Consent[];
}

/**
 * The desk's Consents in the FHIR server, the source of truth for decisions. Reads are searches
 * that bypass the server's cache; every write is one transaction.
 */
export class ConsentStore {
  constructor(private readonly fhir: FhirClient) {}

  /**
   * The patient's desk Consents currently in force, every page of them: one per study decided on,
   * and HAPI's pages hold 50 (until 2026-12-07 evening only the first page was read: a patient with
   * more decisions had the others left out of their state, refusals included).
   */
  activeConsents(patient: PatientIdentifier): Promise<Consent[]> {
    return searchEvery(this.fhir, 'Consent', {
      'patient.identifier': identifierToken(patient),
      status: 'active',
      _tag: TAG_TOKEN,
      _count: String(PAGE_SIZE),
    });
  }

  /** Whether the FHIR server holds a Patient with this identifier. */
  async patientExists(patient: PatientIdentifier): Promise<boolean> {
    return (await this.patientRecords(patient)).length > 0;
  }

  /**
   * The ids of the Patient records carrying the identifier, in the order of their ids, the first two
   * at most: none, one, or several (another writer made one before a conditional create, an EHR
   * import made another; until they are merged, the patient's decisions can only withhold, see
   * DecisionService).
   */
  async patientRecords(patient: PatientIdentifier): Promise<string[]> {
    const found = await this.fhir.search('Patient', { identifier: identifierToken(patient), _elements: 'identifier', _sort: '_id', _count: '2' });
    return found.map((resource) => resource.id).filter((id): id is string => id !== undefined);
  }

  /**
   * The patient's cumulative radiation dose, per dose type, as the mapper sums it over their studies
   * (none when no study of theirs has a dose report).
   */
  async cumulativeDose(patient: PatientIdentifier): Promise<CumulativeDoseLine[]> {
    const [observation] = await this.fhir.search('Observation', {
      code: `${CUMULATIVE_DOSE_CODE.system}|${CUMULATIVE_DOSE_CODE.code}`,
      'subject:Patient.identifier': identifierToken(patient),
      _count: '1',
    });
    return observation ? cumulativeDoseLines(observation) : [];
  }

  /** Patients by identifier (a bare value matches it in any system) or by name and birth date. */
  findPatients(query: { identifier: PatientIdentifier | { value: string } } | { name: string; birthdate: string }): Promise<Patient[]> {
    const params: Record<string, string> =
      // Escaped: a `,` in a name would be an OR of names (FHIR search), and a birth date alone would list a day's patients.
      'identifier' in query ? { identifier: identifierToken(query.identifier) } : { name: escapeSearchValue(query.name), birthdate: query.birthdate };
    return this.fhir.search('Patient', { ...params, _count: '20' });
  }

  /**
   * Writes the change in one transaction: the new Consent, naming the Patient record that carries the
   * identifier (the first when several do: the patient's Consents are found by identifier, whichever
   * record they name), or, when none does, a Patient conditionally created on the identifier (so
   * that a decision can be recorded before the first study arrives; libs/fhir `patientCreateEntry`,
   * as the mapper creates it); and the superseded ones made inactive with If-Match, so that a
   * concurrent change fails with 412 instead of being overwritten. (A conditional create matching two
   * records is refused by HAPI, 412 HAPI-0958, for ever: hence the look-up.) Resolves with the new
   * Consent's id.
   */
  async commit(change: ConsentChange): Promise<{ consentId: string | undefined }> {
    const entries: BundleEntry[] = [];
    if (change.create) {
      const [existing] = change.patientRecords ?? (await this.patientRecords(change.patient));
      const patientReference = existing ? `Patient/${existing}` : `urn:uuid:${randomUUID()}`;
      if (!existing) {
        entries.push(patientCreateEntry({ resourceType: 'Patient', identifier: [{ ...change.patient }] }, change.patient, patientReference));
      }
      entries.push({
        fullUrl: `urn:uuid:${randomUUID()}`,
        resource: change.create(patientReference),
        request: { method: 'POST', url: 'Consent' },
      });
    }
    for (const consent of change.inactivate) {
      entries.push({
        fullUrl: `Consent/${consent.id}`,
        resource: inactivated(consent),
        request: { method: 'PUT', url: `Consent/${consent.id}`, ifMatch: weakEtag(consent.meta?.versionId ?? '1') },
      });
    }
    if (entries.length === 0) {
      return { consentId: undefined };
    }
    const response = await this.fhir.transaction({ resourceType: 'Bundle', type: 'transaction', entry: entries });
    if (!change.create) {
      return { consentId: undefined };
    }
    const consentEntry = entries.findIndex((entry) => entry.resource?.resourceType === 'Consent' && entry.request?.method === 'POST');
    const location = response.entry?.[consentEntry]?.response?.location ?? '';
    const consentId = /^(?:.*\/)?Consent\/([^/]+)/.exec(location)?.[1];
    if (!consentId) {
      throw new FhirError('FHIR POST / (transaction): the response does not say where the Consent was created', 500);
    }
    return { consentId };
  }

  /** Every desk Consent in force, page after page (start-up reconciliation). */
  allActive(): AsyncGenerator<Consent> {
    return this.fhir.searchAll('Consent', { status: 'active', _tag: TAG_TOKEN, _count: String(PAGE_SIZE) });
  }

  /**
   * Every desk Consent, active or inactive, whose last change the FHIR server dates at or after
   * `since` (its `meta.lastUpdated`, the server's clock), page after page; every one without `since`
   * (the periodic reconciliation's sweeps, reconciliation.ts).
   */
  changedSince(since: string | undefined): AsyncGenerator<Consent> {
    return this.fhir.searchAll('Consent', { _tag: TAG_TOKEN, ...(since === undefined ? {} : { _lastUpdated: `ge${since}` }), _count: String(PAGE_SIZE) });
  }

  /**
   * Every desk Consent of the patient, those made inactive too, every page, in one search: those in
   * force are the patient's state, and all of them together say where that state stands in the FHIR
   * server's order of changes (libs/consent `stateOrderOf`).
   */
  patientConsents(patient: PatientIdentifier): Promise<Consent[]> {
    return searchEvery(this.fhir, 'Consent', { 'patient.identifier': identifierToken(patient), _tag: TAG_TOKEN, _count: String(PAGE_SIZE) });
  }
}
