import type { StudyCompletedV1Data } from '@imaging-facade/events';
import { FhirError } from '@imaging-facade/fhir';
import { DicomDataset, type Keyword } from './dicom-dataset';
import { UnprocessableStudyError } from './errors';
import { findByIdentifier, type FhirPort } from './fhir-lookups';
import { studyIdentifier } from './imaging-study-mapping';
import type { MappingContext } from './mapping-table';
import { patientIdentifier } from './patient-mapping';
import { transactionBundle } from './transaction';
import { STEPS, type TransactionState } from './transaction-steps';

export interface MapperSettings {
  defaultPatientIdSystem: string;
}

/** What happened to the study's ImagingStudy, and where its Patient came from. */
export interface MappingResult {
  outcome: 'created' | 'updated' | 'unchanged';
  patient: NonNullable<TransactionState['patient']>;
  numberOfSeries: number;
  numberOfInstances: number;
  /** Attributes left out or replaced, by keyword. */
  skipped: Keyword[];
}

/**
 * Writes one study snapshot to FHIR as a single transaction built by the steps: the Patient
 * (conditional create) and the ImagingStudy (the union of stored and snapshot, created or updated
 * with If-Match). A snapshot that adds nothing writes nothing.
 */
export async function mapStudySnapshot(
  data: StudyCompletedV1Data,
  fhir: FhirPort,
  settings: MapperSettings,
): Promise<MappingResult> {
  const skipped = new Set<Keyword>();
  const context: MappingContext = {
    defaultPatientIdSystem: settings.defaultPatientIdSystem,
    skip: (keyword) => skipped.add(keyword),
  };
  const identifier = patientIdentifier(new DicomDataset(data.study), settings.defaultPatientIdSystem);
  if (!identifier) {
    throw new UnprocessableStudyError(
      'no PatientID (0010,0020): ImagingStudy.subject is required and no Patient is invented',
    );
  }

  // Read first: the Patient step needs to know whether the study is already stored.
  const existingStudy = await findByIdentifier(fhir, 'ImagingStudy', studyIdentifier(data.studyInstanceUid));
  const state: TransactionState = { data, context, patientIdentifier: identifier, existingStudy, entries: [] };
  for (const step of STEPS) {
    await step.run(state, fhir);
  }

  const study = state.study!;
  const result = {
    patient: state.patient!,
    numberOfSeries: study.numberOfSeries ?? 0,
    numberOfInstances: study.numberOfInstances ?? 0,
    skipped: [...skipped].sort(),
  };
  const studyEntry = state.entries.findIndex((entry) => entry.resource?.resourceType === 'ImagingStudy');
  if (studyEntry === -1) {
    return { outcome: 'unchanged', ...result };
  }
  const response = await fhir.transaction(transactionBundle(state.entries));
  if (!existingStudy) {
    assertCreated(response.entry?.[studyEntry]?.response?.status);
  }
  return { outcome: existingStudy ? 'updated' : 'created', ...result };
}

/**
 * A conditional create that found a match (200, not 201) wrote nothing: another writer created
 * the study between our read and our write. Retrying reads that study and merges into it.
 */
function assertCreated(status: string | undefined): void {
  if (!status?.startsWith('201')) {
    throw new FhirError(`ImagingStudy was created concurrently (${status ?? 'no status'}); merging again`, 409);
  }
}
