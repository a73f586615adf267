import { tagOf } from '@imaging-facade/dicom';

/**
 * Which attributes of a stored instance travel in the study event, by the level of the DICOM
 * information model they describe. The ingest service copies exactly these; the mapper reads only
 * these. Named by keyword; the `_TAGS` lists hold their DICOM JSON tags, from the dictionary.
 */

const tags = (keywords: readonly string[]): readonly string[] => keywords.map(tagOf);

export const STUDY_LEVEL_KEYWORDS = [
  'SpecificCharacterSet',
  'PatientName',
  'PatientID',
  'IssuerOfPatientID',
  'IssuerOfPatientIDQualifiersSequence',
  'OtherPatientIDsSequence',
  'PatientBirthDate',
  'PatientSex',
  'StudyInstanceUID',
  'StudyID',
  'StudyDate',
  'StudyTime',
  'TimezoneOffsetFromUTC',
  'AccessionNumber',
  'IssuerOfAccessionNumberSequence',
  'ReferringPhysicianName',
  'NameOfPhysiciansReadingStudy',
  'StudyDescription',
  'ProcedureCodeSequence',
  'RequestedProcedureDescription',
  'ReasonForTheRequestedProcedure',
  'ReasonForRequestedProcedureCodeSequence',
  'InstitutionName',
  'InstitutionCodeSequence',
  'InstitutionalDepartmentName',
] as const;

export const SERIES_LEVEL_KEYWORDS = [
  'SeriesInstanceUID',
  'Modality',
  'SeriesNumber',
  'SeriesDescription',
  'BodyPartExamined',
  'Laterality',
  'SeriesDate',
  'SeriesTime',
  'StationName',
  'InstitutionName',
  'PerformingPhysicianName',
  'OperatorsName',
] as const;

export const INSTANCE_LEVEL_KEYWORDS = [
  'SOPClassUID',
  'SOPInstanceUID',
  'InstanceNumber',
  'NumberOfFrames',
  'ContentDate',
  'ContentTime',
  'ConceptNameCodeSequence', // the title of a structured report
  'DocumentTitle', // encapsulated documents
  'CTDIvol',
  'ImageLaterality', // mammography gives the side per image, not per series
  'CompletionFlag', // a report is validated when complete and verified (libs/dicom isValidatedReport)
  'VerificationFlag',
] as const;

export const STUDY_LEVEL_TAGS: readonly string[] = tags(STUDY_LEVEL_KEYWORDS);
export const SERIES_LEVEL_TAGS: readonly string[] = tags(SERIES_LEVEL_KEYWORDS);
export const INSTANCE_LEVEL_TAGS: readonly string[] = tags(INSTANCE_LEVEL_KEYWORDS);

/**
 * The SR document content (PS3.3 C.17.3) of a radiation dose report, in the instance's `content`:
 * the document title, the template it follows and the content tree.
 */
export const SR_CONTENT_TAGS: readonly string[] = tags([
  'ConceptNameCodeSequence',
  'ContentTemplateSequence',
  'ContentSequence',
]);

/**
 * What an IHE IOCM rejection note (a key object selection titled with a rejection reason, libs/dicom
 * `rejectionNoteOf`) carries in the instance's `content`: the instances it rejects. Its title is an
 * instance attribute (ConceptNameCodeSequence).
 */
export const REJECTION_NOTE_CONTENT_TAGS: readonly string[] = tags(['CurrentRequestedProcedureEvidenceSequence']);
