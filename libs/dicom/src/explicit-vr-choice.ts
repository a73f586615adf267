import { ambiguousVrOf, vrOf } from './dictionary';
import { BINARY_NUMBER_VRS, SHORT_LENGTH_VRS } from './value-representations';

/**
 * What changes in an element's bytes when it moves to Explicit VR Little Endian: the VR an implicit
 * VR element is written with, and how many bytes a big endian value is swapped by.
 */

/** The image pixel attributes in force where an element stands: its item's, else the enclosing ones'. */
export interface PixelContext {
  bitsAllocated?: number;
  pixelRepresentation?: number;
}

const PIXEL_DATA = 0x7fe00010;
const MAX_SHORT_LENGTH = 0xffff;
const UNDEFINED_LENGTH = 0xffffffff;

/**
 * The VR of an implicit VR element, as DCMTK chooses it: the dictionary's; for `US or SS` by Pixel
 * Representation (PS3.5 A.1, PS3.3 C.7.6.3.1.4), for Pixel Data OB up to 8 bits allocated, else OW
 * (PS3.5 A.2). Private creators are LO (PS3.5 7.8.1); other private or unknown elements are UN, their
 * value kept as the implicit little endian bytes it is (PS3.5 6.2.2), as is a value too long for its
 * VR's 2-byte length field.
 */
export function implicitElementVr(tag: number, length: number, context: PixelContext): string {
  const key = tag.toString(16).toUpperCase().padStart(8, '0');
  const vr = vrOf(key);
  if (vr === undefined) {
    return isPrivateCreator(tag) && length <= MAX_SHORT_LENGTH ? 'LO' : 'UN';
  }
  const chosen = resolveAmbiguous(tag, key, vr, context);
  return SHORT_LENGTH_VRS.has(chosen) && length > MAX_SHORT_LENGTH && length !== UNDEFINED_LENGTH ? 'UN' : chosen;
}

/** `vrOf` gives the first of several VRs the standard allows; the dictionary tells which choice it is. */
function resolveAmbiguous(tag: number, key: string, vr: string, context: PixelContext): string {
  switch (ambiguousVrOf(key)) {
    case 'US or SS':
      return context.pixelRepresentation === 1 ? 'SS' : 'US';
    case 'OB or OW':
      return tag === PIXEL_DATA && (context.bitsAllocated ?? 16) <= 8 ? 'OB' : 'OW';
    case 'US or OW':
      // LUT Data, US or OW: OW has no 2-byte length limit, and the same bytes.
      return 'OW';
    default:
      return vr;
  }
}

function isPrivateCreator(tag: number): boolean {
  const element = tag & 0xffff;
  return (tag >>> 16) % 2 === 1 && element >= 0x0010 && element <= 0x00ff;
}

/** Bytes per value that big endian reverses: numbers, AT as two 16-bit halves, the O* words. */
const SWAP_WIDTHS: Readonly<Record<string, number>> = { ...BINARY_NUMBER_VRS, AT: 2, OW: 2, OF: 4, OL: 4, OD: 8, OV: 8 };

/**
 * How many bytes each value of a big endian element spans, 1 for none (text, OB, UN). Pixel Data in
 * OW holds samples of Bits Allocated: 32-bit samples are swapped as such (PS3.5 A.3).
 */
export function swapWidth(tag: number, vr: string, context: PixelContext): number {
  const width = SWAP_WIDTHS[vr] ?? 1;
  const samples = (context.bitsAllocated ?? 0) / 8;
  return tag === PIXEL_DATA && vr === 'OW' && samples > width ? samples : width;
}

/** A little endian copy of a big endian value; a trailing partial value (malformed) is left as it is. */
export function swapped(value: Buffer, width: number): Buffer {
  const copy = Buffer.from(value);
  const whole = copy.subarray(0, copy.length - (copy.length % width));
  switch (width) {
    case 2:
      whole.swap16();
      break;
    case 4:
      whole.swap32();
      break;
    case 8:
      whole.swap64();
      break;
    default:
      break;
  }
  return copy;
}
