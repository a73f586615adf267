import type { StudyCompletedV1Data } from '@imaging-facade/events';
import type { BundleEntry, Identifier, ImagingStudy } from '@medplum/fhirtypes';
import { DicomDataset } from './dicom-dataset';
import { findByIdentifier, type FhirPort } from './fhir-lookups';
import { imagingStudyFromSnapshot, studyIdentifier } from './imaging-study-mapping';
import { applyRows, type MappingContext } from './mapping-table';
import { mergeImagingStudy, sameContent } from './merge';
import { PATIENT_ROWS } from './patient-mapping';
import { imagingStudyEntry, patientCreateEntry, referenceTo, type StoredVersion } from './transaction';

/** What the steps read and decide, shared along the pipeline. */
export interface TransactionState {
  readonly data: StudyCompletedV1Data;
  readonly context: MappingContext;
  readonly patientIdentifier: Identifier;
  readonly existingStudy: ImagingStudy | undefined;
  subject?: ImagingStudy['subject'];
  patient?: 'existing' | 'created' | 'kept';
  study?: ImagingStudy;
  readonly entries: BundleEntry[];
}

/** One step of the transaction (DICOMcast's pipeline): reads what exists, contributes entries. */
export interface TransactionStep {
  run(state: TransactionState, fhir: FhirPort): Promise<void>;
}

const patientStep: TransactionStep = {
  async run(state, fhir) {
    // A stored study keeps its subject (the merge never replaces what the server holds).
    if (state.existingStudy?.subject) {
      state.subject = state.existingStudy.subject;
      state.patient = 'kept';
      return;
    }
    const existing = await findByIdentifier(fhir, 'Patient', state.patientIdentifier);
    if (existing?.id) {
      // Found: referenced, never overwritten (the hospital's master patient index owns it).
      state.subject = { reference: `Patient/${existing.id}` };
      state.patient = 'existing';
      return;
    }
    const patient = applyRows(
      PATIENT_ROWS,
      new DicomDataset(state.data.study),
      { resourceType: 'Patient' },
      state.context,
    );
    const entry = patientCreateEntry(patient, state.patientIdentifier);
    state.entries.push(entry);
    state.subject = referenceTo(entry);
    state.patient = 'created';
  },
};

const imagingStudyStep: TransactionStep = {
  async run(state) {
    const snapshot = imagingStudyFromSnapshot(state.data, state.subject ?? {}, state.context);
    const merged = mergeImagingStudy(state.existingStudy, snapshot);
    state.study = merged;
    // Nothing new: no write at all, so the version stays as it is.
    if (state.existingStudy && sameContent(merged, state.existingStudy)) {
      return;
    }
    state.entries.push(
      imagingStudyEntry(merged, studyIdentifier(state.data.studyInstanceUid), storedVersion(state.existingStudy)),
    );
  },
};

/** In order: the ImagingStudy references what the Patient step decided. */
export const STEPS: readonly TransactionStep[] = [patientStep, imagingStudyStep];

function storedVersion(study: ImagingStudy | undefined): StoredVersion | undefined {
  return study?.id ? { id: study.id, versionId: study.meta?.versionId } : undefined;
}
