import { open, readFile } from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';
import { data } from 'dcmjs';
import { datasetEncoding, EXPLICIT_VR_LITTLE_ENDIAN } from './dataset-encoding';
import { readDataset, type ReadDatasetOptions } from './dataset-reader';
import { textAt, type DicomJson } from './dicom-json';
import { MalformedDatasetError } from './element-walker';
import { SHORT_LENGTH_VRS } from './value-representations';

/**
 * DICOM Part 10 files (PS3.10 7.1): a 128-byte preamble, "DICM", the File Meta Information (group
 * 0002, always Explicit VR Little Endian), then the dataset in the transfer syntax the meta names.
 */

/**
 * Identifies this implementation in the file meta and in association negotiation: the 2.25 UID of
 * UUID 84d5de17-245a-4dcc-b993-980e83debcf7 (PS3.5 B.2).
 */
export const IMPLEMENTATION_CLASS_UID = '2.25.176568559202907193083154318622373887223';
export const IMPLEMENTATION_VERSION_NAME = 'FACADE_INGEST_1';

export interface FileMeta {
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  /** The calling AE title of the association the instance came in on. */
  sourceAeTitle: string;
}

const PREAMBLE_LENGTH = 128;

/** An element of group 0002: its element number, VR and value as Latin-1 text, padded to an even length. */
type MetaElement = readonly [element: number, vr: 'OB' | 'UI' | 'SH' | 'AE', value: string];

/**
 * The head of a file whose dataset follows exactly as it was received: preamble, "DICM" and our
 * File Meta Information, its group length computed. Written into one buffer: it is made per instance.
 */
export function writeFileMetaHeader(meta: FileMeta): Buffer {
  const elements: MetaElement[] = [
    [0x0001, 'OB', '\x00\x01'], // FileMetaInformationVersion
    [0x0002, 'UI', uid(meta.sopClassUid)], // MediaStorageSOPClassUID
    [0x0003, 'UI', uid(meta.sopInstanceUid)], // MediaStorageSOPInstanceUID
    [0x0010, 'UI', uid(meta.transferSyntaxUid)], // TransferSyntaxUID
    [0x0012, 'UI', uid(IMPLEMENTATION_CLASS_UID)], // ImplementationClassUID
    [0x0013, 'SH', text(IMPLEMENTATION_VERSION_NAME)], // ImplementationVersionName
    [0x0016, 'AE', text(meta.sourceAeTitle.trim())], // SourceApplicationEntityTitle
  ];
  const groupLength = elements.reduce((sum, [, vr, value]) => sum + headerSize(vr) + value.length, 0);
  const head = Buffer.alloc(PREAMBLE_LENGTH + 4 + 12 + groupLength);
  head.write('DICM', PREAMBLE_LENGTH, 'latin1');
  let offset = writeHeader(head, PREAMBLE_LENGTH + 4, 0x0000, 'UL', 4); // FileMetaInformationGroupLength
  offset = head.writeUInt32LE(groupLength, offset);
  for (const [element, vr, value] of elements) {
    offset = writeHeader(head, offset, element, vr, value.length);
    offset += head.write(value, offset, 'latin1');
  }
  return head;
}

function headerSize(vr: string): number {
  return vr === 'OB' ? 12 : 8;
}

/** The header of an Explicit VR Little Endian element of group 0002; returns where its value starts. */
function writeHeader(buffer: Buffer, offset: number, element: number, vr: string, length: number): number {
  buffer.writeUInt16LE(0x0002, offset);
  buffer.writeUInt16LE(element, offset + 2);
  buffer.write(vr, offset + 4, 'latin1');
  if (vr === 'OB') {
    buffer.writeUInt32LE(length, offset + 8);
  } else {
    if (length > 0xffff) {
      throw new Error(`file meta value of (0002,${element.toString(16)}) too long`);
    }
    buffer.writeUInt16LE(length, offset + 6);
  }
  return offset + headerSize(vr);
}

/** UIDs are padded to an even length with NUL (PS3.5 9.1). */
function uid(value: string): string {
  return value.length % 2 === 0 ? value : `${value}\0`;
}

/** SH and AE are padded to an even length with a space. */
function text(value: string): string {
  return value.length % 2 === 0 ? value : `${value} `;
}

export interface Part10 {
  /** The File Meta Information (group 0002), DICOM JSON. */
  meta: DicomJson;
  transferSyntaxUid: string;
  /** Where the dataset starts in the file. */
  datasetOffset: number;
  dataset: DicomJson;
  /** Text that could not be decoded strictly, see `readDataset`. */
  warnings: string[];
}

/** Reads a Part 10 file, from its bytes or its path: the meta, then the dataset (inflated if deflated). */
export async function readPart10(input: Uint8Array | string, options: ReadDatasetOptions = {}): Promise<Part10> {
  const bytes = typeof input === 'string' ? await readFile(input) : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const { meta, transferSyntaxUid, datasetOffset } = fileMetaOf(bytes);
  const encoding = datasetEncoding(transferSyntaxUid);
  const datasetBytes = encoding.deflated ? inflateRawSync(bytes.subarray(datasetOffset)) : bytes.subarray(datasetOffset);
  const { dataset, warnings } = readDataset(datasetBytes, encoding, options);
  return { meta, transferSyntaxUid, datasetOffset, dataset, warnings };
}

const TRANSFER_SYNTAX_UID = '00020010';

/** The File Meta Information at the head of a Part 10 file, and where the dataset starts. */
function fileMetaOf(bytes: Buffer): Pick<Part10, 'meta' | 'transferSyntaxUid' | 'datasetOffset'> {
  if (bytes.length < PREAMBLE_LENGTH + 4 || bytes.toString('latin1', PREAMBLE_LENGTH, PREAMBLE_LENGTH + 4) !== 'DICM') {
    throw new MalformedDatasetError('not a DICOM Part 10 file: no "DICM" after the preamble');
  }
  const metaStart = PREAMBLE_LENGTH + 4;
  const datasetOffset = fileMetaEnd(bytes, metaStart);
  const meta = readDataset(bytes.subarray(metaStart, datasetOffset), datasetEncoding(EXPLICIT_VR_LITTLE_ENDIAN)).dataset;
  const transferSyntaxUid = textAt(meta, TRANSFER_SYNTAX_UID);
  if (transferSyntaxUid === undefined) {
    throw new MalformedDatasetError('the file meta information has no Transfer Syntax UID');
  }
  return { meta, transferSyntaxUid, datasetOffset };
}

/** The first bytes of a Part 10 file read for its File Meta Information: they hold it whole, unless the file is shorter. */
const HEAD_BYTES = 64 * 1024;

export interface Part10Head {
  transferSyntaxUid: string;
  datasetOffset: number;
  fileSize: number;
  /** The file's first bytes, at least its File Meta Information (and from there the start of the dataset, for a ByteSource's `prefix`). */
  head: Buffer;
}

/** The File Meta Information of a Part 10 file on disk, from its first bytes only (64 KiB, more if the meta is longer). */
export async function readPart10Head(file: string): Promise<Part10Head> {
  const handle = await open(file, 'r');
  try {
    const fileSize = (await handle.stat()).size;
    for (let wanted = Math.min(HEAD_BYTES, fileSize); ; wanted = Math.min(wanted * 4, fileSize)) {
      const head = Buffer.alloc(wanted);
      const { bytesRead } = await handle.read(head, 0, wanted, 0);
      const whole = bytesRead >= fileSize;
      let meta: ReturnType<typeof fileMetaOf>;
      try {
        meta = fileMetaOf(head.subarray(0, bytesRead));
      } catch (error) {
        // A meta element cut by the end of the head: a longer head.
        if (whole) throw error;
        continue;
      }
      // The meta ends where an element of another group starts: 8 bytes of it must be in the head, unless the file ends.
      if (meta.datasetOffset + 8 <= bytesRead || whole) {
        return { transferSyntaxUid: meta.transferSyntaxUid, datasetOffset: meta.datasetOffset, fileSize, head: head.subarray(0, bytesRead) };
      }
    }
  } finally {
    await handle.close();
  }
}

/** The end of group 0002, element by element (a group length may be missing or wrong). */
function fileMetaEnd(bytes: Buffer, start: number): number {
  let offset = start;
  while (offset + 8 <= bytes.length && bytes.readUInt16LE(offset) === 0x0002) {
    const vr = bytes.toString('latin1', offset + 4, offset + 6);
    const long = !SHORT_LENGTH_VRS.has(vr);
    offset += long ? 12 + bytes.readUInt32LE(offset + 8) : 8 + bytes.readUInt16LE(offset + 6);
  }
  if (offset > bytes.length) {
    throw new MalformedDatasetError('the file meta information is truncated');
  }
  return offset;
}

/** The File Meta Information of a file written by us: only what changes from one file to another. */
export interface Part10Meta {
  sopClassUid: string;
  sopInstanceUid: string;
  /** The calling AE title of the association, or the node's own. */
  sourceAeTitle: string;
}

/**
 * A Part 10 file of a dataset given in DICOM JSON with the VR of every element (values as dcmjs
 * writes them: numbers for IS/DS, `{Alphabetic…}` for PN, items for SQ), in Explicit VR Little
 * Endian; text is written as UTF-8, so the dataset should say "ISO_IR 192". Written by dcmjs.
 * `valuesAsReceived`: values copied from received instances are written as they came, also when
 * longer than their VR allows (a sender's 70-character LO): dcmjs otherwise refuses the whole file.
 */
export function writePart10(meta: Part10Meta, dataset: DicomJson, options: { valuesAsReceived?: boolean } = {}): Buffer {
  const dict = new data.DicomDict({
    '00020001': { vr: 'OB', Value: [new Uint8Array([0, 1]).buffer] },
    '00020002': { vr: 'UI', Value: [meta.sopClassUid] },
    '00020003': { vr: 'UI', Value: [meta.sopInstanceUid] },
    '00020010': { vr: 'UI', Value: [EXPLICIT_VR_LITTLE_ENDIAN] },
    '00020012': { vr: 'UI', Value: [IMPLEMENTATION_CLASS_UID] },
    '00020013': { vr: 'SH', Value: [IMPLEMENTATION_VERSION_NAME] },
    '00020016': { vr: 'AE', Value: [meta.sourceAeTitle] },
  });
  dict.dict = dataset as data.DcmjsDataset;
  return Buffer.from(dict.write({ allowInvalidVRLength: options.valuesAsReceived === true }));
}
