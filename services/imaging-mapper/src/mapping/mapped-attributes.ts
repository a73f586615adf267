import { DicomDataset as KeywordDataset, tagsOf, type DicomJson } from '@imaging-facade/dicom';

/** The attributes the mapper reads, by keyword (PS3.6); their tags come from the DICOM dictionary. */
export const TAGS = tagsOf([
  // Patient
  'PatientName',
  'PatientID',
  'IssuerOfPatientID',
  'TypeOfPatientID',
  'IssuerOfPatientIDQualifiersSequence',
  'OtherPatientIDsSequence',
  'PatientBirthDate',
  'PatientSex',
  // HL7v2 Hierarchic Designator Macro and Issuer of Patient ID Qualifiers (PS3.3 10.14, C.7.1.1)
  'LocalNamespaceEntityID',
  'UniversalEntityID',
  'UniversalEntityIDType',
  'IdentifierTypeCode',
  // Study
  'StudyInstanceUID',
  'StudyDate',
  'StudyTime',
  'TimezoneOffsetFromUTC',
  'AccessionNumber',
  'IssuerOfAccessionNumberSequence',
  'ReferringPhysicianName',
  'NameOfPhysiciansReadingStudy',
  'StudyDescription',
  'ProcedureCodeSequence',
  'ReasonForTheRequestedProcedure',
  'ReasonForRequestedProcedureCodeSequence',
  'InstitutionalDepartmentName',
  // Series
  'SeriesInstanceUID',
  'SeriesNumber',
  'Modality',
  'SeriesDescription',
  'BodyPartExamined',
  'Laterality',
  'SeriesDate',
  'SeriesTime',
  'PerformingPhysicianName',
  'OperatorsName',
  'InstitutionName',
  'StationName',
  // Instance
  'SOPInstanceUID',
  'SOPClassUID',
  'InstanceNumber',
  'ConceptNameCodeSequence',
  'DocumentTitle',
  // Code Sequence Macro (PS3.3 8.8)
  'CodeValue',
  'CodingSchemeDesignator',
  'CodingSchemeVersion',
  'CodeMeaning',
  'LongCodeValue',
  'URNCodeValue',
]);

export type Keyword = keyof typeof TAGS;

/** A DICOM JSON dataset read by the mapper's keywords only. */
export class DicomDataset extends KeywordDataset<Keyword> {
  /** A dataset whose UIDs are overridden, e.g. by the UIDs the event already validated. */
  static withUids(json: DicomJson, uids: Partial<Record<Keyword, string>>): DicomDataset {
    const overrides = Object.fromEntries(
      Object.entries(uids).map(([keyword, uid]) => [TAGS[keyword as Keyword], { vr: 'UI', Value: [uid] }]),
    );
    return new DicomDataset({ ...json, ...overrides });
  }
}
