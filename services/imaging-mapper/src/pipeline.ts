import { patientIdentityProblem, type StudyCompletedV1Data } from '@imaging-facade/events';
import type { Basic, Identifier, ImagingStudy } from '@medplum/fhirtypes';
import { dicomUidIdentifier, FhirError } from '@imaging-facade/fhir';
import type { CumulativeDoseOutcome } from './derived/cumulative-dose-update';
import { DicomDataset, type Keyword } from './mapping/mapped-attributes';
import { UnprocessableStudyError } from './errors';
import { findByIdentifier, subjectPatientId, type FhirPort } from './fhir/fhir-lookups';
import type { MappingContext } from './mapping/mapping-table';
import { DEFAULT_NODE_SETTINGS, type NodeSettings } from './node-settings';
import { patientIdentifier } from './mapping/patient-mapping';
import { transactionBundle } from './fhir/transaction';
import { withoutRememberedRejections } from './fhir/rejected-instances';
import { findRejectedStudyRecords, rememberedWith, settleRejectedStudyRecords } from './fhir/rejected-study-record';
import { STEPS, type DerivedOutcome, type TransactionState } from './fhir/transaction-steps';
import { pendingRecountsOf } from './fhir/subject-correction';

export interface MapperSettings {
  defaultPatientIdSystem: string;
  /** FACADE_ACCESSION_NUMBER_SYSTEM. */
  defaultAccessionNumberSystem?: string | undefined;
  /** The node's time zone: the zone of a DICOM time sent without TimezoneOffsetFromUTC. */
  timeZone?: string;
  /** The node the studies come from (Endpoint, manifests); DEFAULT_NODE_SETTINGS when absent. */
  node?: NodeSettings;
}

/** What happened to the study's ImagingStudy, and where its Patient came from. */
export interface MappingResult {
  /** `removed`: every instance the stored study listed is rejected (IHE IOCM); it was deleted. */
  outcome: 'created' | 'updated' | 'unchanged' | 'removed';
  patient: NonNullable<TransactionState['patient']>;
  /** The Patient (id) the study was filed under before its issuer corrected it (`patient: 'moved'`). */
  movedFrom?: string;
  /** The Patient (id) of a study removed (`outcome: 'removed'`), whose sums change. */
  removedFrom?: string;
  /**
   * Patients (ids) whose cumulative dose is still to be computed again for a study removed, named
   * on its record (rejected-study-record.ts) until done; `recordId`: the record to clear them from
   * (none when the record is gone).
   */
  recordRecounts?: { patientIds: string[]; recordId?: string };
  /**
   * Every instance the snapshot lists is rejected (its own notes, or what the study or its record
   * remembers): the study is not in the index, whether this handling removed it or an earlier one did.
   */
  everyInstanceRejected?: true;
  /**
   * Patients (ids) the study left whose cumulative dose is still to be computed again: named by a tag
   * on the stored study (PENDING_RECOUNT_SYSTEM) from the move on, so that a failure after the move
   * still leads to it. `studyId` is the study to clear them from.
   */
  pendingRecounts?: { patientIds: string[]; studyId: string };
  numberOfSeries: number;
  numberOfInstances: number;
  /** Attributes left out or replaced, by keyword. */
  skipped: Keyword[];
  /** The manifest's DocumentReference and the dose Observations. */
  derived: DerivedOutcome;
  /** The patient's cumulative dose Observation, computed again after a study with a dose report (index-writer.ts). */
  cumulativeDose?: CumulativeDoseOutcome;
}

/**
 * The study's patient identifier, if the study may be indexed under it: it has a PatientID
 * (ImagingStudy.subject is required and no Patient is invented) and passes `refusedPatient`.
 */
export function indexablePatient(data: StudyCompletedV1Data, defaultPatientIdSystem: string): Identifier {
  const identifier = patientIdentifier(new DicomDataset(data.study), defaultPatientIdSystem);
  if (!identifier) {
    throw new UnprocessableStudyError(
      'no PatientID (0010,0020): ImagingStudy.subject is required and no Patient is invented',
    );
  }
  const refused = refusedPatient(data, defaultPatientIdSystem);
  if (refused) {
    throw refused;
  }
  return identifier;
}

/**
 * Why the study may not be indexed under its patient, or undefined: its identity fails the node's
 * one rule (libs/events `patientIdentityProblem`), the one the consent desk records decisions
 * under, so that every patient in the index can refuse. A PatientID with a control character, or an
 * issuer too long to be a DICOM LO, is corrected at the source and the study sent again; the reason
 * names the rule, never the identifier. A snapshot whose every instance is rejected only takes the
 * study out of the index, so it passes whatever its identity.
 */
export function refusedPatient(data: StudyCompletedV1Data, defaultPatientIdSystem: string): UnprocessableStudyError | undefined {
  const identifier = patientIdentifier(new DicomDataset(data.study), defaultPatientIdSystem);
  const problem = identifier && data.series.length > 0 ? patientIdentityProblem({ system: identifier.system ?? '', value: identifier.value ?? '' }) : undefined;
  return problem
    ? new UnprocessableStudyError(`the patient cannot be named under the node's rule of patient identities (${problem}); correct it at the source and send the study again`)
    : undefined;
}

/**
 * Writes one study snapshot to FHIR as a single transaction built by the steps: the Patient
 * (conditional create), the node's Endpoint (conditional update), the ImagingStudy (the union of
 * stored and snapshot, created or updated with If-Match), the manifest's DocumentReference and the
 * dose Observations. A snapshot that changes nothing writes nothing.
 */
export async function mapStudySnapshot(
  data: StudyCompletedV1Data,
  fhir: FhirPort,
  settings: MapperSettings,
): Promise<MappingResult> {
  const skipped = new Set<Keyword>();
  const context: MappingContext = {
    defaultPatientIdSystem: settings.defaultPatientIdSystem,
    defaultAccessionNumberSystem: settings.defaultAccessionNumberSystem,
    timeZone: settings.timeZone,
    skip: (keyword) => skipped.add(keyword),
  };
  const identifier = indexablePatient(data, settings.defaultPatientIdSystem);

  // Read first: the Patient step needs to know whether the study is already stored.
  const existingStudy = await findByIdentifier(fhir, 'ImagingStudy', dicomUidIdentifier(data.studyInstanceUid));
  // A study that left the index with rejected instances is remembered by a record (normally none).
  const rejectedRecords = await findRejectedStudyRecords(fhir, data.studyInstanceUid);
  const state: TransactionState = {
    // What the study (or its record) remembers as rejected at the source stays out, whichever node's snapshot lists it.
    data: withoutRememberedRejections(data, rememberedWith(existingStudy, rejectedRecords)),
    rejectedRecords,
    context,
    patientIdentifier: identifier,
    existingStudy,
    node: settings.node ?? DEFAULT_NODE_SETTINGS,
    mustCreate: [],
    derived: { documentReference: 'none', observations: 0, notes: [] },
    entries: [],
  };
  for (const step of STEPS) {
    await step.run(state, fhir);
  }

  const study = state.study;
  const studyWritten = state.entries.some((entry) => entry.resource?.resourceType === 'ImagingStudy');
  const removedFrom = state.removed ? subjectPatientId(existingStudy) : undefined;
  const result: MappingResult = {
    outcome: state.removed && existingStudy ? 'removed' : studyWritten ? (existingStudy ? 'updated' : 'created') : 'unchanged',
    patient: state.patient!,
    ...(state.movedFrom ? { movedFrom: state.movedFrom } : {}),
    ...(removedFrom ? { removedFrom } : {}),
    ...(state.removed ? { everyInstanceRejected: true as const } : {}),
    ...pendingRecounts(existingStudy, state.movedFrom, state.removed),
    numberOfSeries: study?.numberOfSeries ?? 0,
    numberOfInstances: study?.numberOfInstances ?? 0,
    skipped: [...skipped].sort(),
    derived: state.derived,
  };
  if (state.entries.length === 0) {
    return withRecordRecounts(result, rejectedRecords, undefined);
  }
  const response = await fhir.transaction(transactionBundle(state.entries));
  for (const index of state.mustCreate) {
    const entry = state.entries[index];
    assertCreated(entry?.resource?.resourceType ?? 'resource', response.entry?.[index]?.response?.status);
  }
  if (!existingStudy && (await settleRejectedStudyRecords(fhir, data.studyInstanceUid, { studyCreated: studyWritten, recordWritten: state.derived.rejectedStudyRecord === 'written' }, rejectedRecords)) === 'deleted') {
    state.derived.rejectedStudyRecord = 'deleted';
  }
  const written = state.entries.findIndex((entry) => entry.resource?.resourceType === 'Basic');
  const writtenId = written >= 0 ? /^Basic\/([^/]+)/.exec(response.entry?.[written]?.response?.location ?? '')?.[1] : undefined;
  return withRecordRecounts(result, rejectedRecords, writtenId && removedFrom ? { id: writtenId, patientId: removedFrom } : undefined);
}

/**
 * The patients named on the record as still to be counted again (a removal whose recount did not
 * happen yet: rejected-study-record.ts), and the record to clear them from once done.
 */
function withRecordRecounts(result: MappingResult, read: readonly Basic[], written: { id: string; patientId: string } | undefined): MappingResult {
  const kept = read[0]?.id !== undefined && result.derived.rejectedStudyRecord !== 'deleted' ? read[0] : undefined;
  const patientIds = [...new Set([...read.flatMap((record) => pendingRecountsOf(record)), ...(written ? [written.patientId] : [])])];
  const recordId = written?.id ?? kept?.id;
  return patientIds.length > 0 ? { ...result, recordRecounts: { patientIds, ...(recordId ? { recordId } : {}) } } : result;
}

/**
 * A conditional create that found a match (200, not 201) wrote nothing: another writer created the
 * resource between our read and our write. Retrying reads it and merges into it.
 */
function assertCreated(resourceType: string, status: string | undefined): void {
  if (!status?.startsWith('201')) {
    throw new FhirError(`${resourceType} was created concurrently (${status ?? 'no status'}); merging again`, 409);
  }
}

function pendingRecounts(existing: ImagingStudy | undefined, movedFrom: string | undefined, removed: boolean | undefined): Pick<MappingResult, 'pendingRecounts'> {
  const patientIds = [...new Set([...pendingRecountsOf(existing), ...(movedFrom ? [movedFrom] : [])])];
  return existing?.id && !removed && patientIds.length > 0 ? { pendingRecounts: { patientIds, studyId: existing.id } } : {};
}
