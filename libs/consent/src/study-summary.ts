import { tagsOf, textAt as text, type DicomJson } from '@imaging-facade/dicom';
import type { PatientIdentifier, StudyCompletedV1Data } from '@imaging-facade/events';
import { patientIdentifierOfStudy } from './patient-key';

const TAG = tagsOf([
  'Modality',
  'AccessionNumber',
  'StudyDate',
  'StudyDescription',
  'PatientName',
  'PatientBirthDate',
  'PatientSex',
]);

/** What the desk shows of a study, and what consent decisions need to name it. */
export interface StudySummary {
  studyInstanceUid: string;
  accessionNumber?: string;
  /** YYYY-MM-DD. */
  date?: string;
  description?: string;
  modalities: string[];
  seriesCount: number;
  instanceCount: number;
  lastReceivedAt: string;
}

/** Who the study belongs to, as its attributes say. */
export interface StudyPatient {
  identifier: PatientIdentifier;
  /** The name as written in DICOM (`FAMILY^GIVEN`), or undefined. */
  name?: string;
  /** YYYY-MM-DD. */
  birthDate?: string;
  sex?: string;
}

export function summarizeStudy(snapshot: StudyCompletedV1Data): StudySummary {
  const study = snapshot.study;
  const modalities = new Set<string>();
  let instanceCount = 0;
  for (const series of snapshot.series) {
    const modality = text(series.attributes, TAG.Modality);
    if (modality) modalities.add(modality);
    instanceCount += series.instances.length;
  }
  return withoutUndefined({
    studyInstanceUid: snapshot.studyInstanceUid,
    accessionNumber: text(study, TAG.AccessionNumber),
    date: dicomDate(text(study, TAG.StudyDate)),
    description: text(study, TAG.StudyDescription),
    modalities: [...modalities].sort(),
    seriesCount: snapshot.series.length,
    instanceCount,
    lastReceivedAt: snapshot.lastReceivedAt,
  });
}

export function patientOfStudy(snapshot: Pick<StudyCompletedV1Data, 'study'>, defaultSystem: string): StudyPatient | undefined {
  const identifier = patientIdentifierOfStudy(snapshot.study, defaultSystem);
  if (!identifier) {
    return undefined;
  }
  return withoutUndefined({
    identifier,
    name: personName(snapshot.study, TAG.PatientName),
    birthDate: dicomDate(text(snapshot.study, TAG.PatientBirthDate)),
    sex: text(snapshot.study, TAG.PatientSex),
  });
}

function personName(dataset: DicomJson, tag: string): string | undefined {
  const value = dataset[tag]?.Value?.[0];
  if (typeof value === 'string') {
    return value.trim() || undefined;
  }
  const alphabetic = (value as { Alphabetic?: unknown } | undefined)?.Alphabetic;
  return typeof alphabetic === 'string' && alphabetic.trim().length > 0 ? alphabetic.trim() : undefined;
}

/** DICOM DA (YYYYMMDD) → YYYY-MM-DD; anything else → undefined. */
export function dicomDate(value: string | undefined): string | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})$/.exec(value ?? '');
  return match ? `${match[1]}-${match[2]}-${match[3]}` : undefined;
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;
}
