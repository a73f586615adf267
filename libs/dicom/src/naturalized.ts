import { data } from 'dcmjs';
import { DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN } from './dataset-encoding';
import { silenceDcmjs } from './dcmjs-logs';

/**
 * A Part 10 file as dcmjs's "naturalized" dataset (values keyed by keyword), the input of dcmjs
 * based tools such as dcmjs-codecs' transcoder. A deflated dataset is inflated on reading, so its
 * elements are then in Explicit VR Little Endian, which `transferSyntaxUid` says.
 */
export interface NaturalizedPart10 {
  /** The syntax the elements are in now (the stored one, except deflated → explicit VR little endian). */
  transferSyntaxUid: string;
  elements: Record<string, unknown>;
}

export function readNaturalizedPart10(bytes: Uint8Array): NaturalizedPart10 {
  silenceDcmjs();
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const part10 = data.DicomMessage.readFile(buffer, { ignoreErrors: true });
  const stored = String(part10.meta['00020010']?.Value?.[0] ?? '');
  return {
    transferSyntaxUid: stored === DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN ? EXPLICIT_VR_LITTLE_ENDIAN : stored,
    elements: data.DicomMetaDictionary.naturalizeDataset(part10.dict),
  };
}
