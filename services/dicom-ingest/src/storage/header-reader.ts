import {
  collectElements,
  datasetEncoding,
  FileByteSource,
  InflatingByteSource,
  isDoseReport,
  KEY_OBJECT_SELECTION_SOP_CLASS,
  readDataset,
  rejectionNoteOf,
  tagNumber,
  tagsOf,
  textAt,
  type ByteSource,
  type DicomJson,
  type ExtraElements,
} from '@imaging-facade/dicom';
import { INSTANCE_LEVEL_TAGS, REJECTION_NOTE_CONTENT_TAGS, SERIES_LEVEL_TAGS, SR_CONTENT_TAGS, STUDY_LEVEL_TAGS } from '@imaging-facade/events';

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
   * The content tree of a radiation dose report (SR_CONTENT_TAGS), or the references of a rejection
   * note (REJECTION_NOTE_CONTENT_TAGS); undefined for other objects.
   * A tree larger than MAX_DOSE_CONTENT_BYTES is left out (see `contentOmitted`).
   */
  content?: DicomJson;
  /** Set when the content of a dose report was too large to be carried. */
  contentOmitted?: boolean;
  /**
   * Set when text could not be decoded strictly (a Specific Character Set we do not know) and was
   * read with the default repertoire.
   */
  decodeWarning: string | undefined;
}

const TAG = tagsOf(['StudyInstanceUID', 'SeriesInstanceUID', 'SOPInstanceUID', 'SOPClassUID', 'SpecificCharacterSet']);

const WANTED_TAGS = new Set(
  [...STUDY_LEVEL_TAGS, ...SERIES_LEVEL_TAGS, ...INSTANCE_LEVEL_TAGS, ...Object.values<string>(TAG)].map(tagNumber),
);

const DOSE_CONTENT_TAGS: ReadonlySet<number> = new Set(SR_CONTENT_TAGS.map(tagNumber));
const KOS_CONTENT_TAGS: ReadonlySet<number> = new Set(REJECTION_NOTE_CONTENT_TAGS.map(tagNumber));

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
    forSopClass: (sopClassUid) => (isDoseReport(sopClassUid) ? DOSE_CONTENT_TAGS : sopClassUid === KEY_OBJECT_SELECTION_SOP_CLASS ? KOS_CONTENT_TAGS : undefined),
    maxBytes: MAX_DOSE_CONTENT_BYTES,
    omitted: () => {
      contentOmitted = true;
    },
  };
  try {
    // To the end: success is answered only for a dataset that is whole, not just readable up to what we keep.
    const elements = await collectElements(source, encoding, WANTED_TAGS, extra, { toEnd: true });
    return { ...decode(elements, encoding.datasetSyntax, encoding.littleEndian), contentOmitted };
  } finally {
    await source.close();
  }
}

/** Decodes the collected elements, each once: text per Specific Character Set, PN split in groups. */
export function decode(elements: Buffer, syntax: string, littleEndian: boolean): InstanceHeader {
  const encoding = { ...datasetEncoding(syntax), littleEndian };
  const { dataset, warnings } = readDataset(elements, encoding);
  const sopClassUid = textAt(dataset, TAG.SOPClassUID);
  const instance = pick(dataset, INSTANCE_LEVEL_TAGS);
  return {
    studyInstanceUid: textAt(dataset, TAG.StudyInstanceUID),
    seriesInstanceUid: textAt(dataset, TAG.SeriesInstanceUID),
    sopInstanceUid: textAt(dataset, TAG.SOPInstanceUID),
    sopClassUid,
    study: pick(dataset, STUDY_LEVEL_TAGS),
    series: pick(dataset, SERIES_LEVEL_TAGS),
    instance,
    content: contentOf(dataset, sopClassUid, instance),
    contentOmitted: false,
    decodeWarning: warnings.length > 0 ? warnings.join('; ') : undefined,
  };
}

/**
 * What travels of a document's content: a dose report's tree, and a rejection note's references
 * (IHE IOCM); a key object selection of another kind (key images) carries none.
 */
function contentOf(dataset: DicomJson, sopClassUid: string | undefined, instance: DicomJson): DicomJson | undefined {
  if (isDoseReport(sopClassUid)) {
    return pick(dataset, SR_CONTENT_TAGS);
  }
  // Images, the common case, stop here: nothing more is read per instance.
  const studyUid = textAt(dataset, TAG.StudyInstanceUID);
  if (sopClassUid !== KEY_OBJECT_SELECTION_SOP_CLASS || studyUid === undefined) {
    return undefined;
  }
  const evidence = pick(dataset, REJECTION_NOTE_CONTENT_TAGS);
  return rejectionNoteOf(studyUid, sopClassUid, instance, evidence) ? evidence : undefined;
}

/** The attributes of `tags` that the dataset holds, in the order of `tags`. */
function pick(dataset: DicomJson, tags: readonly string[]): DicomJson {
  const picked: DicomJson = {};
  for (const tag of tags) {
    const attribute = dataset[tag];
    if (attribute) {
      picked[tag] = attribute;
    }
  }
  return picked;
}
