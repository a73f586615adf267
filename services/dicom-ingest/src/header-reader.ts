import { data } from 'dcmjs';
import {
  INSTANCE_LEVEL_TAGS,
  isDoseReport,
  SERIES_LEVEL_TAGS,
  SR_CONTENT_TAGS,
  STUDY_LEVEL_TAGS,
  type DicomJson,
} from '@imaging-facade/events';
import { errorMessage } from '@imaging-facade/service-kit';
import { FileByteSource, InflatingByteSource, type ByteSource } from './byte-source';
import { datasetEncoding } from './dataset-encoding';
import { pickAttributes } from './dicom-json';
import { collectElements, tagNumber, type ExtraElements } from './element-walker';

/** What the service needs to know of an instance: its identity and the attributes of the three levels. */
export interface InstanceHeader {
  studyInstanceUid: string | undefined;
  seriesInstanceUid: string | undefined;
  sopInstanceUid: string | undefined;
  sopClassUid: string | undefined;
  study: DicomJson;
  series: DicomJson;
  instance: DicomJson;
  /**
   * The content tree of a radiation dose report (SR_CONTENT_TAGS), undefined for other SOP classes.
   * A tree larger than MAX_DOSE_CONTENT_BYTES is left out (see `contentOmitted`).
   */
  content?: DicomJson;
  /** Set when the content of a dose report was too large to be carried. */
  contentOmitted?: boolean;
  /**
   * Set when dcmjs could not decode the text strictly (e.g. ISO 2022 code extensions, which it does
   * not support) and the values were decoded with the first character set only.
   */
  decodeWarning: string | undefined;
}

const TAG = {
  studyInstanceUid: '0020000D',
  seriesInstanceUid: '0020000E',
  sopInstanceUid: '00080018',
  sopClassUid: '00080016',
  specificCharacterSet: '00080005',
} as const;

const WANTED_TAGS = new Set(
  [...STUDY_LEVEL_TAGS, ...SERIES_LEVEL_TAGS, ...INSTANCE_LEVEL_TAGS, ...Object.values(TAG)].map(tagNumber),
);

const DOSE_CONTENT_TAGS: ReadonlySet<number> = new Set(SR_CONTENT_TAGS.map(tagNumber));

/**
 * The largest dose report content tree carried in the events, as encoded. A CT report with 30
 * events measures about 120 KB; a long fluoroscopy with 500 events about 1 MB (30 KB gzipped: the
 * events are gzipped, and the broker takes 10 MB).
 */
export const MAX_DOSE_CONTENT_BYTES = 4 * 1024 * 1024;

/** Where a received dataset is: in a Part 10 file, from `datasetOffset` to `fileSize`. */
export interface DatasetLocation {
  path: string;
  datasetOffset: number;
  fileSize: number;
  /** The first bytes of the dataset, if still in memory: spares reading the file for most headers. */
  head?: Buffer;
  /** Resolves once the whole file is written, if it is still being written: the file is read only after it. */
  written?: Promise<void>;
}

/** Reads the header of a stored dataset, up to the last attribute we need. */
export async function readInstanceHeader(
  location: DatasetLocation,
  transferSyntaxUid: string,
): Promise<InstanceHeader> {
  const encoding = datasetEncoding(transferSyntaxUid);
  if (encoding.deflated) {
    await location.written;
  }
  const source: ByteSource = encoding.deflated
    ? new InflatingByteSource(location.path, location.datasetOffset)
    : new FileByteSource(location.path, location.datasetOffset, location.fileSize, location.head, location.written);
  let contentOmitted = false;
  const extra: ExtraElements = {
    forSopClass: (sopClassUid) => (isDoseReport(sopClassUid) ? DOSE_CONTENT_TAGS : undefined),
    maxBytes: MAX_DOSE_CONTENT_BYTES,
    omitted: () => {
      contentOmitted = true;
    },
  };
  try {
    const elements = await collectElements(source, encoding, WANTED_TAGS, extra);
    return { ...decode(elements, encoding.dcmjsSyntax, encoding.littleEndian), contentOmitted };
  } finally {
    await source.close();
  }
}

/** Decodes the collected elements with dcmjs (text per Specific Character Set, PN split in groups). */
export function decode(elements: Buffer, syntax: string, littleEndian: boolean): InstanceHeader {
  let dataset: data.DcmjsDataset;
  let decodeWarning: string | undefined;
  try {
    dataset = read(elements, syntax, littleEndian, false);
  } catch (error) {
    // Only the text can still fail here: the walker has checked the structure.
    decodeWarning = errorMessage(error);
    dataset = read(elements, syntax, littleEndian, true);
  }
  const sopClassUid = firstText(dataset, TAG.sopClassUid);
  return {
    studyInstanceUid: firstText(dataset, TAG.studyInstanceUid),
    seriesInstanceUid: firstText(dataset, TAG.seriesInstanceUid),
    sopInstanceUid: firstText(dataset, TAG.sopInstanceUid),
    sopClassUid,
    study: pickAttributes(dataset, STUDY_LEVEL_TAGS),
    series: pickAttributes(dataset, SERIES_LEVEL_TAGS),
    instance: pickAttributes(dataset, INSTANCE_LEVEL_TAGS),
    content: isDoseReport(sopClassUid) ? pickAttributes(dataset, SR_CONTENT_TAGS) : undefined,
    contentOmitted: false,
    decodeWarning,
  };
}

function read(elements: Buffer, syntax: string, littleEndian: boolean, ignoreErrors: boolean): data.DcmjsDataset {
  const copy = elements.buffer.slice(elements.byteOffset, elements.byteOffset + elements.length);
  const stream = new data.ReadBufferStream(copy as ArrayBuffer, littleEndian);
  return data.DicomMessage._read(stream, syntax, { ignoreErrors, untilTag: null, includeUntilTagValue: false });
}

function firstText(dataset: data.DcmjsDataset, tag: string): string | undefined {
  const value = dataset[tag]?.Value?.[0];
  return typeof value === 'string' ? value.replace(/[\0 ]+$/, '') : undefined;
}
