import type { DicomJson } from '@imaging-facade/events';

/** The attributes the mapper reads, by keyword, with their DICOM JSON tags (PS3.6). */
export const TAGS = {
  PatientName: '00100010',
  PatientID: '00100020',
  IssuerOfPatientID: '00100021',
  PatientBirthDate: '00100030',
  PatientSex: '00100040',
  StudyInstanceUID: '0020000D',
  StudyDate: '00080020',
  StudyTime: '00080030',
  TimezoneOffsetFromUTC: '00080201',
  SeriesInstanceUID: '0020000E',
  SeriesNumber: '00200011',
  Modality: '00080060',
  SOPInstanceUID: '00080018',
  SOPClassUID: '00080016',
  InstanceNumber: '00200013',
} as const;

export type Keyword = keyof typeof TAGS;

/**
 * Read access to a DICOM JSON dataset by keyword. Every reader is total: a missing attribute, an
 * empty value or a value of an unexpected JSON type reads as `undefined`, never as an exception.
 */
export class DicomDataset {
  constructor(private readonly json: DicomJson) {}

  /** A dataset whose UIDs are overridden, e.g. by the UIDs the event already validated. */
  static withUids(json: DicomJson, uids: Partial<Record<Keyword, string>>): DicomDataset {
    const overrides = Object.fromEntries(
      Object.entries(uids).map(([keyword, uid]) => [TAGS[keyword as Keyword], { vr: 'UI', Value: [uid] }]),
    );
    return new DicomDataset({ ...json, ...overrides });
  }

  /** The first value, as it is in the JSON. */
  first(keyword: Keyword): unknown {
    return this.json[TAGS[keyword]]?.Value?.[0];
  }

  /** The first value as trimmed text (DICOM pads values with spaces); undefined when empty. */
  text(keyword: Keyword): string | undefined {
    const value = this.first(keyword);
    if (typeof value === 'number' && Number.isFinite(value)) {
      return String(value);
    }
    if (typeof value !== 'string') {
      return undefined;
    }
    const trimmed = value.trim();
    return trimmed.length > 0 ? trimmed : undefined;
  }
}
