import { DicomDataset as KeywordDataset, tagsOf, type DicomJson } from '@imaging-facade/dicom';
import { INSTANCE_LEVEL_KEYWORDS, SERIES_LEVEL_KEYWORDS, STUDY_LEVEL_KEYWORDS } from '@imaging-facade/events';

/**
 * The attributes the mapper reads, by keyword (PS3.6): those the study event carries at each level,
 * and those of the sequence items it reads. Their tags come from the DICOM dictionary.
 */
export const TAGS = tagsOf([
  ...STUDY_LEVEL_KEYWORDS,
  ...SERIES_LEVEL_KEYWORDS,
  ...INSTANCE_LEVEL_KEYWORDS,
  // Other Patient IDs Sequence items
  'TypeOfPatientID',
  // HL7v2 Hierarchic Designator Macro and Issuer of Patient ID Qualifiers (PS3.3 10.14, C.7.1.1)
  'LocalNamespaceEntityID',
  'UniversalEntityID',
  'UniversalEntityIDType',
  'IdentifierTypeCode',
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
