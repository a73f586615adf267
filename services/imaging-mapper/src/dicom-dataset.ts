import { dicomText, type DicomJson } from '@imaging-facade/events';

/** The attributes the mapper reads, by keyword, with their DICOM JSON tags (PS3.6). */
export const TAGS = {
  // Patient
  PatientName: '00100010',
  PatientID: '00100020',
  IssuerOfPatientID: '00100021',
  TypeOfPatientID: '00100022',
  IssuerOfPatientIDQualifiersSequence: '00100024',
  OtherPatientIDsSequence: '00101002',
  PatientBirthDate: '00100030',
  PatientSex: '00100040',
  // HL7v2 Hierarchic Designator Macro and Issuer of Patient ID Qualifiers (PS3.3 10.14, C.7.1.1)
  LocalNamespaceEntityID: '00400031',
  UniversalEntityID: '00400032',
  UniversalEntityIDType: '00400033',
  IdentifierTypeCode: '00400035',
  // Study
  StudyInstanceUID: '0020000D',
  StudyDate: '00080020',
  StudyTime: '00080030',
  TimezoneOffsetFromUTC: '00080201',
  AccessionNumber: '00080050',
  IssuerOfAccessionNumberSequence: '00080051',
  ReferringPhysicianName: '00080090',
  NameOfPhysiciansReadingStudy: '00081060',
  StudyDescription: '00081030',
  ProcedureCodeSequence: '00081032',
  ReasonForTheRequestedProcedure: '00401002',
  ReasonForRequestedProcedureCodeSequence: '0040100A',
  InstitutionalDepartmentName: '00081040',
  // Series
  SeriesInstanceUID: '0020000E',
  SeriesNumber: '00200011',
  Modality: '00080060',
  SeriesDescription: '0008103E',
  BodyPartExamined: '00180015',
  Laterality: '00200060',
  SeriesDate: '00080021',
  SeriesTime: '00080031',
  PerformingPhysicianName: '00081050',
  OperatorsName: '00081070',
  InstitutionName: '00080080',
  StationName: '00081010',
  // Instance
  SOPInstanceUID: '00080018',
  SOPClassUID: '00080016',
  InstanceNumber: '00200013',
  ConceptNameCodeSequence: '0040A043',
  DocumentTitle: '00420010',
  // Code Sequence Macro (PS3.3 8.8)
  CodeValue: '00080100',
  CodingSchemeDesignator: '00080102',
  CodingSchemeVersion: '00080103',
  CodeMeaning: '00080104',
  LongCodeValue: '00080119',
  URNCodeValue: '00080120',
} as const;

export type Keyword = keyof typeof TAGS;

/**
 * Read access to a DICOM JSON dataset by keyword. Every reader is total: a missing attribute, an
 * empty value or a value of an unexpected JSON type reads as `undefined` (or an empty list), never
 * as an exception.
 */
export class DicomDataset {
  constructor(private readonly json: DicomJson) {}

  /** The DICOM JSON itself, for the shared rules that read it directly (the patient's identity). */
  get raw(): DicomJson {
    return this.json;
  }

  /** A dataset whose UIDs are overridden, e.g. by the UIDs the event already validated. */
  static withUids(json: DicomJson, uids: Partial<Record<Keyword, string>>): DicomDataset {
    const overrides = Object.fromEntries(
      Object.entries(uids).map(([keyword, uid]) => [TAGS[keyword as Keyword], { vr: 'UI', Value: [uid] }]),
    );
    return new DicomDataset({ ...json, ...overrides });
  }

  /** The first value, as it is in the JSON. */
  first(keyword: Keyword): unknown {
    return this.values(keyword)[0];
  }

  /** Every value, as they are in the JSON. */
  values(keyword: Keyword): unknown[] {
    const values = this.json[TAGS[keyword]]?.Value;
    return Array.isArray(values) ? values : [];
  }

  /** The first value as trimmed text (DICOM pads values with spaces); undefined when empty. */
  text(keyword: Keyword): string | undefined {
    return dicomText(this.first(keyword));
  }

  /** Every non-empty value as trimmed text. */
  texts(keyword: Keyword): string[] {
    return this.values(keyword)
      .map(dicomText)
      .filter((text): text is string => text !== undefined);
  }

  /** The items of a sequence, each a dataset of its own. */
  items(keyword: Keyword): DicomDataset[] {
    return this.values(keyword)
      .filter((item): item is DicomJson => typeof item === 'object' && item !== null && !Array.isArray(item))
      .map((item) => new DicomDataset(item));
  }
}
