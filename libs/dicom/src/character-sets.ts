import { TextDecoder, TextEncoder } from 'node:util';

/**
 * Decoding of DICOM text by its Specific Character Set (0008,0005), as PS3.5 section 6.1 and
 * Annexes H–K describe: single-byte sets, UTF-8, GB18030 and GBK without code extensions, and
 * ISO 2022 code extensions, where escape sequences switch the G0 and G1 code elements within a
 * value. The bytes are split into runs by escape sequence and each run is decoded with Node's own
 * decoders (WHATWG encodings, full ICU): no character table is written here.
 *
 * Pure: bytes in, text out. Bytes that cannot be decoded become U+FFFD; nothing throws.
 */

/** A coded character set that an escape sequence designates to G0 or G1 (PS3.3 Tables C.12-3, C.12-4). */
interface CodeElementSet {
  readonly term: string;
  readonly element: 'G0' | 'G1';
  /** The escape sequence without its ESC. */
  readonly escape: string;
  readonly bytesPerCharacter: 1 | 2;
  /** The TextDecoder label that reads the set's characters. */
  readonly decoder: string;
  /** Turns a character's bytes, as the set encodes it, into the bytes `decoder` reads. */
  readonly toDecoderBytes?: (bytes: readonly number[]) => number[];
}

const ASCII = 'windows-1252';
const REPLACEMENT = '\uFFFD';

/** EUC-JP carries JIS X 0208 as GR pairs and JIS X 0212 as SS3 (0x8F) + GR pair. */
const toGr = (bytes: readonly number[]) => bytes.map((byte) => byte | 0x80);

// prettier-ignore
const CODE_ELEMENT_SETS: readonly CodeElementSet[] = [
  { term: 'ISO 2022 IR 6', element: 'G0', escape: '(B', bytesPerCharacter: 1, decoder: ASCII },
  // JIS X 0201 Romaji differs from ASCII only at 05/12 (¥) and 07/14 (‾); read as ASCII, as
  // other readers do, so that 05/12 stays the value delimiter.
  { term: 'ISO 2022 IR 14', element: 'G0', escape: '(J', bytesPerCharacter: 1, decoder: ASCII },
  { term: 'ISO 2022 IR 13', element: 'G1', escape: ')I', bytesPerCharacter: 1, decoder: 'shift_jis' },
  { term: 'ISO 2022 IR 100', element: 'G1', escape: '-A', bytesPerCharacter: 1, decoder: 'iso-8859-1' },
  { term: 'ISO 2022 IR 101', element: 'G1', escape: '-B', bytesPerCharacter: 1, decoder: 'iso-8859-2' },
  { term: 'ISO 2022 IR 109', element: 'G1', escape: '-C', bytesPerCharacter: 1, decoder: 'iso-8859-3' },
  { term: 'ISO 2022 IR 110', element: 'G1', escape: '-D', bytesPerCharacter: 1, decoder: 'iso-8859-4' },
  { term: 'ISO 2022 IR 144', element: 'G1', escape: '-L', bytesPerCharacter: 1, decoder: 'iso-8859-5' },
  { term: 'ISO 2022 IR 127', element: 'G1', escape: '-G', bytesPerCharacter: 1, decoder: 'iso-8859-6' },
  { term: 'ISO 2022 IR 126', element: 'G1', escape: '-F', bytesPerCharacter: 1, decoder: 'iso-8859-7' },
  { term: 'ISO 2022 IR 138', element: 'G1', escape: '-H', bytesPerCharacter: 1, decoder: 'iso-8859-8' },
  { term: 'ISO 2022 IR 148', element: 'G1', escape: '-M', bytesPerCharacter: 1, decoder: 'iso-8859-9' },
  { term: 'ISO 2022 IR 203', element: 'G1', escape: '-b', bytesPerCharacter: 1, decoder: 'iso-8859-15' },
  { term: 'ISO 2022 IR 166', element: 'G1', escape: '-T', bytesPerCharacter: 1, decoder: 'tis-620' },
  { term: 'ISO 2022 IR 87', element: 'G0', escape: '$B', bytesPerCharacter: 2, decoder: 'euc-jp', toDecoderBytes: toGr },
  {
    term: 'ISO 2022 IR 159', element: 'G0', escape: '$(D', bytesPerCharacter: 2, decoder: 'euc-jp',
    toDecoderBytes: (bytes) => [0x8f, ...toGr(bytes)],
  },
  { term: 'ISO 2022 IR 149', element: 'G1', escape: '$)C', bytesPerCharacter: 2, decoder: 'euc-kr' },
  { term: 'ISO 2022 IR 58', element: 'G1', escape: '$)A', bytesPerCharacter: 2, decoder: 'gb18030' },
];

const BY_TERM = new Map(CODE_ELEMENT_SETS.map((set) => [set.term, set]));
const BY_ESCAPE = new Map(CODE_ELEMENT_SETS.map((set) => [set.escape, set]));
// ESC $ @ designates the 1978 edition of JIS X 0208, which some Japanese encoders still send.
BY_ESCAPE.set('$@', BY_TERM.get('ISO 2022 IR 87')!);

/** Defined terms without code extensions (PS3.3 Tables C.12-2, C.12-5) → the decoder of the whole value. */
const WITHOUT_EXTENSIONS: Readonly<Record<string, string>> = {
  '': ASCII,
  'ISO_IR 6': ASCII,
  'ISO_IR 100': 'iso-8859-1',
  'ISO_IR 101': 'iso-8859-2',
  'ISO_IR 109': 'iso-8859-3',
  'ISO_IR 110': 'iso-8859-4',
  'ISO_IR 144': 'iso-8859-5',
  'ISO_IR 127': 'iso-8859-6',
  'ISO_IR 126': 'iso-8859-7',
  'ISO_IR 138': 'iso-8859-8',
  'ISO_IR 148': 'iso-8859-9',
  'ISO_IR 203': 'iso-8859-15',
  'ISO_IR 166': 'tis-620',
  'ISO_IR 13': 'shift_jis',
  'ISO_IR 192': 'utf-8',
  GB18030: 'gb18030',
  GBK: 'gbk',
};

/** What a Specific Character Set value means for decoding. */
export interface CharacterSets {
  /** The defined terms as given (trimmed). */
  readonly terms: readonly string[];
  /** Terms this module does not know; their text is read with the default repertoire. */
  readonly unknown: readonly string[];
  /** With ISO 2022 code extensions: the code elements active at the start of a value and after a delimiter. */
  readonly initial?: { readonly g0: CodeElementSet; readonly g1: CodeElementSet | undefined };
  /** Without code extensions: the decoder of the whole value. */
  readonly decoder?: string;
}

/**
 * Interprets the values of Specific Character Set. Misspellings seen in the field ("ISO-IR 100",
 * "ISO_IR100", lower case) are accepted. Code extensions are in use when a value is "ISO 2022 …";
 * then an empty value 1 means ISO 2022 IR 6 (PS3.3 C.12.1.1.2). Without them only value 1 counts.
 */
export function characterSets(values: readonly string[]): CharacterSets {
  const terms = values.map((value) => value.trim());
  const normalized = terms.map(normalizeTerm);
  const unknown = terms.filter((_term, index) => normalized[index] === undefined);
  const extensions = normalized.some((term) => term?.startsWith('ISO 2022') ?? false);
  if (!extensions) {
    return { terms, unknown, decoder: WITHOUT_EXTENSIONS[normalized[0] ?? ''] ?? ASCII };
  }
  // Value 1 sets the code elements active at the start of every value; an empty one is ASCII.
  const first = BY_TERM.get(toExtensionTerm(normalized[0] || 'ISO 2022 IR 6'));
  const romaji = BY_TERM.get('ISO 2022 IR 14')!;
  const ascii = BY_TERM.get('ISO 2022 IR 6')!;
  const g1 = first?.element === 'G1' ? first : undefined;
  // ISO 2022 IR 13 puts JIS X 0201 in both: Romaji in G0, Katakana in G1.
  const g0 =
    first?.term === 'ISO 2022 IR 13' ? romaji : first?.element === 'G0' && first.bytesPerCharacter === 1 ? first : ascii;
  return { terms, unknown, initial: { g0, g1 } };
}

function normalizeTerm(term: string): string | undefined {
  const upper = term.toUpperCase();
  if (upper === '' || upper === 'GB18030' || upper === 'GBK') {
    return upper;
  }
  const match = /^ISO[ _-]?(2022[ _-]?)?IR[ _-]?(\d+)$/.exec(upper);
  if (!match) {
    return undefined;
  }
  const candidate = match[1] ? `ISO 2022 IR ${match[2]}` : `ISO_IR ${match[2]}`;
  return BY_TERM.has(candidate) || candidate in WITHOUT_EXTENSIONS ? candidate : undefined;
}

/** "ISO_IR 100" given among code extensions is read as its ISO 2022 form. */
function toExtensionTerm(term: string): string {
  return term.replace(/^ISO_IR /, 'ISO 2022 IR ');
}

/** Which byte values end a component or value, after which value 1's code elements are active again. */
export type TextKind = 'person-name' | 'multi-valued' | 'text';

const LINE_CONTROLS = [0x09, 0x0a, 0x0c, 0x0d];
const DELIMITERS: Readonly<Record<TextKind, ReadonlySet<number>>> = {
  // PN: component (^), group (=) and value (\) delimiters (PS3.5 6.2, H.3).
  'person-name': new Set([0x5c, 0x5e, 0x3d, ...LINE_CONTROLS]),
  // SH, LO, UC: the value delimiter.
  'multi-valued': new Set([0x5c, ...LINE_CONTROLS]),
  // ST, LT, UT: single-valued; line ends, TAB and FF (PS3.5 6.1.2.5.3).
  text: new Set(LINE_CONTROLS),
};

/** The text kind of a VR; undefined for VRs that use the default repertoire only. */
export function textKind(vr: string): TextKind | undefined {
  switch (vr) {
    case 'PN':
      return 'person-name';
    case 'SH':
    case 'LO':
    case 'UC':
      return 'multi-valued';
    case 'ST':
    case 'LT':
    case 'UT':
      return 'text';
    default:
      return undefined;
  }
}

/** Decodes the bytes of a text value (all its values, delimiters included). */
export function decodeText(bytes: Uint8Array, sets: CharacterSets, kind: TextKind): string {
  if (!sets.initial) {
    return decoder(sets.decoder ?? ASCII).decode(bytes);
  }
  return decodeWithExtensions(bytes, sets.initial, DELIMITERS[kind]);
}

const ESC = 0x1b;

function decodeWithExtensions(
  bytes: Uint8Array,
  initial: NonNullable<CharacterSets['initial']>,
  delimiters: ReadonlySet<number>,
): string {
  const text: string[] = [];
  let run: number[] = [];
  let runDecoder = ASCII;
  const emit = (decoderName: string, decoderBytes: readonly number[]) => {
    if (decoderName !== runDecoder) {
      flush();
      runDecoder = decoderName;
    }
    run.push(...decoderBytes);
  };
  const flush = () => {
    if (run.length > 0) {
      text.push(decoder(runDecoder).decode(Uint8Array.from(run)));
      run = [];
    }
  };
  const replacement = () => {
    flush();
    text.push(REPLACEMENT);
  };

  let { g0, g1 } = initial;
  let index = 0;
  while (index < bytes.length) {
    const byte = bytes[index]!;
    if (byte === ESC) {
      const end = escapeSequenceEnd(bytes, index);
      const designated = BY_ESCAPE.get(String.fromCharCode(...bytes.subarray(index + 1, end)));
      if (designated?.element === 'G0') {
        g0 = designated;
      } else if (designated) {
        g1 = designated;
      }
      // An unknown escape sequence is a control function, never text: it is dropped.
      index = end;
      continue;
    }
    if (byte < 0x80) {
      if (g0.bytesPerCharacter === 2 && byte >= 0x21 && byte <= 0x7e) {
        const second = bytes[index + 1];
        if (second !== undefined && second >= 0x21 && second <= 0x7e) {
          emit(g0.decoder, g0.toDecoderBytes?.([byte, second]) ?? [byte, second]);
          index += 2;
        } else {
          replacement();
          index += 1;
        }
        continue;
      }
      // Space, controls and single-byte G0 characters.
      emit(ASCII, [byte]);
      if (delimiters.has(byte)) {
        ({ g0, g1 } = initial);
      }
      index += 1;
      continue;
    }
    if (!g1) {
      replacement();
      index += 1;
    } else if (g1.bytesPerCharacter === 1) {
      emit(g1.decoder, [byte]);
      index += 1;
    } else {
      const second = bytes[index + 1];
      if (second !== undefined && second >= 0xa1 && second <= 0xfe && byte >= 0xa1 && byte <= 0xfe) {
        emit(g1.decoder, [byte, second]);
        index += 2;
      } else {
        replacement();
        index += 1;
      }
    }
  }
  flush();
  return text.join('');
}

/** ESC, intermediate bytes 02/00–02/15, one final byte 03/00–07/14 (ISO 2022 section 13). */
function escapeSequenceEnd(bytes: Uint8Array, escIndex: number): number {
  let index = escIndex + 1;
  while (index < bytes.length && bytes[index]! >= 0x20 && bytes[index]! <= 0x2f) {
    index += 1;
  }
  return index < bytes.length && bytes[index]! >= 0x30 && bytes[index]! <= 0x7e ? index + 1 : index;
}

/** Removes ISO 2022 escape sequences from text that was decoded without honouring them. */
export function withoutEscapeSequences(text: string): string {
  return text.replace(/\x1b[\x20-\x2f]*[\x30-\x7e]?/g, '');
}

const decoders = new Map<string, TextDecoder>();

function decoder(label: string): TextDecoder {
  let cached = decoders.get(label);
  if (!cached) {
    cached = new TextDecoder(label);
    decoders.set(label, cached);
  }
  return cached;
}

/** The canonical name of an encoding label ("latin1" → "windows-1252"), or undefined for an unknown label. */
export function encodingName(label: string): string | undefined {
  try {
    return decoder(label).encoding;
  } catch {
    return undefined;
  }
}

const inverses = new Map<string, ReadonlyMap<string, number> | null>();

/**
 * The bytes that `label`'s decoder turned into `text`, when that decoder maps single bytes to
 * single characters one-to-one for every character of `text` (the single-byte decoders, and
 * Shift_JIS for ASCII and half-width Katakana), or is UTF-8. Otherwise undefined. The table is
 * derived from the decoder itself.
 */
export function bytesDecodedBy(label: string, text: string): Uint8Array | undefined {
  if (encodingName(label) === 'utf-8') {
    return new TextEncoder().encode(text);
  }
  const inverse = singleByteInverse(label);
  if (!inverse) {
    return undefined;
  }
  const bytes = new Uint8Array(text.length);
  for (let index = 0; index < text.length; index++) {
    const byte = inverse.get(text[index]!);
    if (byte === undefined) {
      return undefined;
    }
    bytes[index] = byte;
  }
  return bytes;
}

function singleByteInverse(label: string): ReadonlyMap<string, number> | undefined {
  const cached = inverses.get(label);
  if (cached !== undefined) {
    return cached ?? undefined;
  }
  let inverse: Map<string, number> | null = null;
  if (encodingName(label) !== undefined) {
    inverse = new Map();
    for (let byte = 0; byte < 0x100; byte++) {
      const character = decoder(label).decode(Uint8Array.of(byte));
      if (character.length === 1 && character !== REPLACEMENT && !inverse.has(character)) {
        inverse.set(character, byte);
      }
    }
  }
  inverses.set(label, inverse);
  return inverse ?? undefined;
}
