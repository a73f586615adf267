import { constants, type data } from 'dcmjs';
import type { DicomAttribute, DicomJson } from '@imaging-facade/events';
import {
  bytesDecodedBy,
  characterSets,
  decodeText,
  encodingName,
  textKind,
  withoutEscapeSequences,
  type CharacterSets,
  type TextKind,
} from './character-sets';

/**
 * Turns elements decoded by dcmjs into the DICOM JSON model (PS3.18 F.2) the events carry. Binary
 * values are dropped (the events describe instances, they do not carry their bulk data), empty
 * values become `null` and an attribute without any value keeps only its VR.
 *
 * Text is decoded per Specific Character Set by ./character-sets. dcmjs 0.50 decodes a dataset's
 * text with the decoder of value 1 only, ignoring ISO 2022 escape sequences, and the items of a
 * sequence with Latin-1 whatever the dataset's character set. It keeps the text it decoded, before
 * trimming and splitting, in `_rawValue`; where its decoder differs from the right one, the bytes
 * are recovered from that text (the decoders involved map bytes to characters one-to-one) and
 * decoded again, correctly.
 */

declare module 'dcmjs' {
  /** dcmjs's own table: normalised Specific Character Set value 1 → the TextDecoder label it reads text with. */
  export const constants: { encodingMapping: Readonly<Record<string, string>> };
}

const BINARY_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);
const PN_GROUPS = ['Alphabetic', 'Ideographic', 'Phonetic'] as const;
const SPECIFIC_CHARACTER_SET = '00080005';
/** What dcmjs decodes text with before, or without, a Specific Character Set. */
const DCMJS_DEFAULT_DECODER = 'latin1';

/** How the text of one dataset (or sequence item) was encoded, and how dcmjs decoded it. */
interface TextContext {
  sets: CharacterSets;
  dcmjsDecoder: string;
  /** dcmjs decoded with the right decoder: its values stand. */
  dcmjsRight: boolean;
}

/** The attributes of `tags` that the dataset holds, in DICOM JSON. */
export function pickAttributes(dataset: data.DcmjsDataset, tags: readonly string[]): DicomJson {
  return pick(dataset, tags, textContext(dataset, undefined));
}

function pick(dataset: data.DcmjsDataset, tags: readonly string[], context: TextContext): DicomJson {
  const picked: DicomJson = {};
  for (const tag of tags) {
    const element = dataset[tag];
    const attribute = element === undefined ? undefined : toAttribute(element, context);
    if (attribute !== undefined) {
      picked[tag] = attribute;
    }
  }
  return picked;
}

/** Every non-binary attribute of a sequence item; it inherits the character set unless it has its own. */
function allAttributes(item: data.DcmjsDataset, parent: TextContext): DicomJson {
  const tags = Object.keys(item)
    .filter((tag) => /^[0-9A-F]{8}$/.test(tag))
    .sort();
  return pick(item, tags, textContext(item, parent));
}

function textContext(dataset: data.DcmjsDataset, parent: TextContext | undefined): TextContext {
  const own = specificCharacterSet(dataset);
  const sets = own ? characterSets(own) : (parent?.sets ?? characterSets([]));
  // dcmjs switches its decoder when it reads (0008,0005); items start with a fresh reader.
  const dcmjsDecoder = own?.[0] !== undefined ? dcmjsDecoderFor(own[0]) : DCMJS_DEFAULT_DECODER;
  const dcmjsRight =
    sets.initial === undefined &&
    sets.decoder !== undefined &&
    encodingName(sets.decoder) === encodingName(dcmjsDecoder);
  return { sets, dcmjsDecoder, dcmjsRight };
}

/** The values as sent: dcmjs replaces them by "ISO_IR 192" once it has decoded, but keeps the raw ones. */
function specificCharacterSet(dataset: data.DcmjsDataset): string[] | undefined {
  const element = dataset[SPECIFIC_CHARACTER_SET];
  if (element === undefined) {
    return undefined;
  }
  const raw = rawValue(element);
  const values = Array.isArray(raw) ? raw : (element.Value ?? []);
  const terms = values.filter((value): value is string => typeof value === 'string');
  return terms.length > 0 ? terms : undefined;
}

function dcmjsDecoderFor(value1: string): string {
  const coding = value1.trim().replace(/[_ ]/g, '-').toLowerCase();
  return constants.encodingMapping[coding] ?? DCMJS_DEFAULT_DECODER;
}

function toAttribute(element: data.DcmjsElement, context: TextContext): DicomAttribute | undefined {
  const vr = element.vr;
  if (typeof vr !== 'string' || !/^[A-Z]{2}$/.test(vr) || BINARY_VRS.has(vr)) {
    return undefined;
  }
  const values =
    redecodedValues(element, vr, context) ?? (element.Value ?? []).map((value) => toValue(vr, value, context));
  return values.some((value) => value !== null) ? { vr, Value: values } : { vr };
}

/** The values of a text element decoded again from its bytes, or undefined when dcmjs's stand. */
function redecodedValues(element: data.DcmjsElement, vr: string, context: TextContext): unknown[] | undefined {
  const kind = textKind(vr);
  if (kind === undefined || context.dcmjsRight) {
    return undefined;
  }
  const raw = rawValue(element);
  // dcmjs splits most text VRs on the value delimiter; joined again, it is the text it decoded.
  const decodedByDcmjs =
    typeof raw === 'string'
      ? raw
      : Array.isArray(raw) && raw.every((value) => typeof value === 'string')
        ? raw.join('\\')
        : undefined;
  if (decodedByDcmjs === undefined) {
    return undefined;
  }
  const bytes = bytesDecodedBy(context.dcmjsDecoder, decodedByDcmjs);
  const text = bytes ? decodeText(bytes, context.sets, kind) : withoutEscapeSequences(decodedByDcmjs);
  return splitValues(text, kind);
}

function splitValues(text: string, kind: TextKind): unknown[] {
  switch (kind) {
    case 'person-name':
      return text.split('\\').map(personName);
    case 'multi-valued':
      // SH, LO and UC: leading and trailing spaces are not significant (PS3.5 6.2).
      return text.split('\\').map((value) => textOrNull(value.trim()));
    case 'text':
      // ST, LT, UT: trailing white space is not significant (dcmjs trims it too).
      return [textOrNull(text.replace(/\s+$/, ''))];
  }
}

function rawValue(element: data.DcmjsElement): unknown {
  return (element as { _rawValue?: unknown })._rawValue;
}

function toValue(vr: string, value: unknown, context: TextContext): unknown {
  switch (vr) {
    case 'SQ':
      return isDataset(value) ? allAttributes(value, context) : null;
    case 'PN':
      return personName(value);
    case 'AT':
      return typeof value === 'number' ? value.toString(16).toUpperCase().padStart(8, '0') : textOrNull(value);
    default:
      if (typeof value === 'number') {
        return Number.isFinite(value) ? value : null;
      }
      return textOrNull(value);
  }
}

function textOrNull(value: unknown): string | null {
  if (typeof value !== 'string') {
    return null;
  }
  const text = value.replace(/[\0 ]+$/, '');
  return text.length > 0 ? text : null;
}

/** `{Alphabetic, Ideographic, Phonetic}` without empty groups; trailing empty components are not significant. */
function personName(value: unknown): Record<string, string> | null {
  const groups: Record<string, string> = {};
  let source: Record<string, unknown> = {};
  if (typeof value === 'string') {
    source = splitPersonName(value);
  } else if (typeof value === 'object' && value !== null) {
    source = { ...value };
  }
  for (const group of PN_GROUPS) {
    const text = source[group];
    if (typeof text === 'string') {
      const trimmed = text.replace(/[\^ ]+$/, '');
      if (trimmed.length > 0) {
        groups[group] = trimmed;
      }
    }
  }
  return Object.keys(groups).length > 0 ? groups : null;
}

function splitPersonName(value: string): Record<string, string> {
  const [alphabetic, ideographic, phonetic] = value.split('=');
  return { Alphabetic: alphabetic ?? '', Ideographic: ideographic ?? '', Phonetic: phonetic ?? '' };
}

function isDataset(value: unknown): value is data.DcmjsDataset {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
