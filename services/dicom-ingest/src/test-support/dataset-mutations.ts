import fc from 'fast-check';

/**
 * Malformed datasets for fuzzing, made from a real Explicit VR Little Endian dataset. Each mutation
 * says whether the SCP may still answer success: only a wrong (but in-range) length can leave a
 * dataset that is well formed as far as the node reads it; every other kind destroys something the
 * node must read (the UIDs, or the structure before them).
 */

export interface SeedElement {
  tag: number;
  /** Offset of the element's VR, and of its length field. */
  vrOffset: number;
  lengthOffset: number;
  /** 2 for the short VRs, 4 for the others (PS3.5 7.1.2). */
  lengthSize: 2 | 4;
  valueOffset: number;
  length: number;
}

export interface Mutation {
  /** The kind of damage, for a tally. */
  family: string;
  kind: string;
  bytes: Buffer;
  /** True when the dataset may still be well formed where the node reads it. */
  mayStillBeValid: boolean;
}

const SHORT_LENGTH_VRS = new Set(['AE', 'AS', 'AT', 'CS', 'DA', 'DS', 'DT', 'FD', 'FL', 'IS', 'LO', 'LT', 'PN', 'SH', 'SL', 'SS', 'ST', 'TM', 'UI', 'UL', 'US']);
const SERIES_INSTANCE_UID = 0x0020000e;
const NESTING_THE_NODE_REFUSES = 40;

/** The top-level elements of the dataset up to and including Series Instance UID, the last UID the node needs. */
export function elementsUpToSeriesUid(dataset: Buffer): SeedElement[] {
  const elements: SeedElement[] = [];
  for (let offset = 0; offset + 8 <= dataset.length; ) {
    const tag = ((dataset.readUInt16LE(offset) << 16) | dataset.readUInt16LE(offset + 2)) >>> 0;
    const vr = dataset.toString('latin1', offset + 4, offset + 6);
    const short = SHORT_LENGTH_VRS.has(vr);
    const lengthOffset = offset + (short ? 6 : 8);
    const length = short ? dataset.readUInt16LE(lengthOffset) : dataset.readUInt32LE(lengthOffset);
    if (length === 0xffffffff) {
      throw new Error('the seed must have no undefined-length element before Series Instance UID');
    }
    const valueOffset = lengthOffset + (short ? 2 : 4);
    elements.push({ tag, vrOffset: offset + 4, lengthOffset, lengthSize: short ? 2 : 4, valueOffset, length });
    if (tag === SERIES_INSTANCE_UID) {
      return elements;
    }
    offset = valueOffset + length;
  }
  throw new Error('the seed has no Series Instance UID');
}

function withLength(dataset: Buffer, element: SeedElement, length: number): Buffer {
  const bytes = Buffer.from(dataset);
  if (element.lengthSize === 2) {
    bytes.writeUInt16LE(length, element.lengthOffset);
  } else {
    bytes.writeUInt32LE(length, element.lengthOffset);
  }
  return bytes;
}

/** An explicit VR header of a sequence or item of undefined length. */
function undefinedLength(group: number, element: number, vr?: 'SQ'): Buffer {
  const header = Buffer.alloc(vr === undefined ? 8 : 12);
  header.writeUInt16LE(group, 0);
  header.writeUInt16LE(element, 2);
  if (vr === undefined) {
    header.writeUInt32LE(0xffffffff, 4);
  } else {
    header.write(vr, 4, 'latin1');
    header.writeUInt32LE(0xffffffff, 8);
  }
  return header;
}

function delimiter(element: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeUInt16LE(0xfffe, 0);
  bytes.writeUInt16LE(element, 2);
  return bytes;
}

/** Nested sequences of undefined length (a private tag before every real element), closed or not. */
function nestedSequences(depth: number, closed: boolean): Buffer {
  const open = undefinedLength(0x0007, 0x0010, 'SQ');
  const item = undefinedLength(0xfffe, 0xe000);
  const parts: Buffer[] = [];
  for (let level = 0; level < depth; level++) {
    parts.push(open, item);
  }
  if (closed) {
    for (let level = 0; level < depth; level++) {
      parts.push(delimiter(0xe00d), delimiter(0xe0dd));
    }
  }
  return Buffer.concat(parts);
}

/** Every kind of damage the issue lists, on the seed dataset. */
export function mutatedDataset(dataset: Buffer): fc.Arbitrary<Mutation> {
  const elements = elementsUpToSeriesUid(dataset);
  const last = elements.at(-1)!;
  const walkedEnd = last.valueOffset + last.length;
  const anElement = fc.constantFrom(...elements);
  const notAVr = fc
    .tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }))
    .map(([first, second]) => Buffer.from([first, second]))
    .filter((vr) => !/^[A-Z]{2}$/.test(vr.toString('latin1')));

  return fc.oneof(
    fc.integer({ min: 0, max: walkedEnd - 1 }).map((cut) => ({
      family: 'truncated',
      kind: `truncated at ${cut}`,
      bytes: dataset.subarray(0, cut),
      mayStillBeValid: false,
    })),
    anElement.chain((element) => {
      // Past the end of the dataset: what follows can never be read.
      const room = dataset.length - element.valueOffset;
      const max = element.lengthSize === 2 ? 0xffff : 0xfffffffe;
      return fc.integer({ min: Math.min(room + 1, max), max }).map((length) => ({
        family: 'huge length',
        kind: `huge length ${length} for (${element.tag.toString(16)})`,
        bytes: withLength(dataset, element, length),
        mayStillBeValid: room >= max,
      }));
    }),
    fc.tuple(anElement, fc.integer({ min: -64, max: 64 }).filter((delta) => delta !== 0)).map(([element, delta]) => {
      const length = Math.max(0, element.length + delta);
      return {
        family: 'wrong length',
        kind: `wrong length ${length} instead of ${element.length} for (${element.tag.toString(16)})`,
        bytes: withLength(dataset, element, length),
        mayStillBeValid: true,
      };
    }),
    fc.tuple(anElement, notAVr).map(([element, vr]) => {
      const bytes = Buffer.from(dataset);
      vr.copy(bytes, element.vrOffset);
      return { family: 'bad VR', kind: `bad VR ${vr.toString('hex')} for (${element.tag.toString(16)})`, bytes, mayStillBeValid: false };
    }),
    fc.integer({ min: 1, max: 200 }).map((depth) => ({
      family: 'unclosed sequences',
      kind: `unclosed undefined-length sequences ${depth} deep`,
      bytes: Buffer.concat([nestedSequences(depth, false), dataset]),
      mayStillBeValid: false,
    })),
    fc.integer({ min: NESTING_THE_NODE_REFUSES, max: 5000 }).map((depth) => ({
      family: 'deep closed sequences',
      kind: `closed sequences ${depth} deep`,
      bytes: Buffer.concat([nestedSequences(depth, true), dataset]),
      mayStillBeValid: false,
    })),
    fc.uint8Array({ maxLength: 4096 }).map((garbage) => ({
      family: 'garbage after the preamble',
      kind: `${garbage.length} bytes of garbage after a preamble`,
      bytes: Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), Buffer.from(garbage)]),
      mayStillBeValid: false,
    })),
  );
}
