/**
 * The head of a DICOM Part 10 file (PS3.10 7.1): a 128-byte preamble, "DICM", and the File Meta
 * Information (group 0002, always Explicit VR Little Endian). The dataset follows exactly as it was
 * received, in the transfer syntax named here.
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

export function writeFileMetaHeader(meta: FileMeta): Buffer {
  const elements = [
    element(0x0001, 'OB', Buffer.from([0x00, 0x01])), // FileMetaInformationVersion
    element(0x0002, 'UI', uid(meta.sopClassUid)), // MediaStorageSOPClassUID
    element(0x0003, 'UI', uid(meta.sopInstanceUid)), // MediaStorageSOPInstanceUID
    element(0x0010, 'UI', uid(meta.transferSyntaxUid)), // TransferSyntaxUID
    element(0x0012, 'UI', uid(IMPLEMENTATION_CLASS_UID)), // ImplementationClassUID
    element(0x0013, 'SH', text(IMPLEMENTATION_VERSION_NAME)), // ImplementationVersionName
    element(0x0016, 'AE', text(meta.sourceAeTitle.trim())), // SourceApplicationEntityTitle
  ];
  const groupLength = elements.reduce((sum, bytes) => sum + bytes.length, 0);
  const lengthValue = Buffer.alloc(4);
  lengthValue.writeUInt32LE(groupLength);
  const head = Buffer.alloc(PREAMBLE_LENGTH + 4);
  head.write('DICM', PREAMBLE_LENGTH, 'latin1');
  return Buffer.concat([head, element(0x0000, 'UL', lengthValue), ...elements]);
}

/** Explicit VR Little Endian element of group 0002. */
function element(elementNumber: number, vr: 'OB' | 'UI' | 'SH' | 'AE' | 'UL', value: Buffer): Buffer {
  const longForm = vr === 'OB';
  const header = Buffer.alloc(longForm ? 12 : 8);
  header.writeUInt16LE(0x0002, 0);
  header.writeUInt16LE(elementNumber, 2);
  header.write(vr, 4, 'latin1');
  if (longForm) {
    header.writeUInt32LE(value.length, 8);
  } else {
    if (value.length > 0xffff) {
      throw new Error(`file meta value of (0002,${elementNumber.toString(16)}) too long`);
    }
    header.writeUInt16LE(value.length, 6);
  }
  return Buffer.concat([header, value]);
}

/** UIDs are padded to an even length with NUL (PS3.5 9.1). */
function uid(value: string): Buffer {
  return pad(Buffer.from(value, 'latin1'), 0x00);
}

/** SH and AE are padded to an even length with a space. */
function text(value: string): Buffer {
  return pad(Buffer.from(value, 'latin1'), 0x20);
}

function pad(bytes: Buffer, filler: number): Buffer {
  return bytes.length % 2 === 0 ? bytes : Buffer.concat([bytes, Buffer.from([filler])]);
}
