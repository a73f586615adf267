/**
 * Which attributes of a stored instance travel in the study event, by the level of the DICOM
 * information model they describe. The ingest service copies exactly these; the mapper reads only
 * these. Tags are the DICOM JSON keys; the comment is the keyword.
 */

export const STUDY_LEVEL_TAGS: readonly string[] = [
  '00080005', // SpecificCharacterSet
  '00100010', // PatientName
  '00100020', // PatientID
  '00100021', // IssuerOfPatientID
  '00100024', // IssuerOfPatientIDQualifiersSequence
  '00101002', // OtherPatientIDsSequence
  '00100030', // PatientBirthDate
  '00100040', // PatientSex
  '0020000D', // StudyInstanceUID
  '00200010', // StudyID
  '00080020', // StudyDate
  '00080030', // StudyTime
  '00080201', // TimezoneOffsetFromUTC
  '00080050', // AccessionNumber
  '00080051', // IssuerOfAccessionNumberSequence
  '00080090', // ReferringPhysicianName
  '00081060', // NameOfPhysiciansReadingStudy
  '00081030', // StudyDescription
  '00081032', // ProcedureCodeSequence
  '00321060', // RequestedProcedureDescription
  '00401002', // ReasonForTheRequestedProcedure
  '0040100A', // ReasonForRequestedProcedureCodeSequence
  '00080080', // InstitutionName
  '00080082', // InstitutionCodeSequence
  '00081040', // InstitutionalDepartmentName
];

export const SERIES_LEVEL_TAGS: readonly string[] = [
  '0020000E', // SeriesInstanceUID
  '00080060', // Modality
  '00200011', // SeriesNumber
  '0008103E', // SeriesDescription
  '00180015', // BodyPartExamined
  '00200060', // Laterality
  '00080021', // SeriesDate
  '00080031', // SeriesTime
  '00081010', // StationName
  '00080080', // InstitutionName
  '00081050', // PerformingPhysicianName
  '00081070', // OperatorsName
];

export const INSTANCE_LEVEL_TAGS: readonly string[] = [
  '00080016', // SOPClassUID
  '00080018', // SOPInstanceUID
  '00200013', // InstanceNumber
  '00280008', // NumberOfFrames
  '00080023', // ContentDate
  '00080033', // ContentTime
  '0040A043', // ConceptNameCodeSequence (the title of a structured report)
  '00420010', // DocumentTitle (encapsulated documents)
  '00189345', // CTDIvol
];
