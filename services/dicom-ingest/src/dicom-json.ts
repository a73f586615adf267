import type { data } from 'dcmjs';
import type { DicomAttribute, DicomJson } from '@imaging-facade/events';

/**
 * Turns elements decoded by dcmjs into the DICOM JSON model (PS3.18 F.2) the events carry. Binary
 * values are dropped (the events describe instances, they do not carry their bulk data), empty
 * values become `null` and an attribute without any value keeps only its VR.
 */

const BINARY_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);
const PN_GROUPS = ['Alphabetic', 'Ideographic', 'Phonetic'] as const;

/** The attributes of `tags` that the dataset holds, in DICOM JSON. */
export function pickAttributes(dataset: data.DcmjsDataset, tags: readonly string[]): DicomJson {
  const picked: DicomJson = {};
  for (const tag of tags) {
    const element = dataset[tag];
    const attribute = element === undefined ? undefined : toAttribute(element);
    if (attribute !== undefined) {
      picked[tag] = attribute;
    }
  }
  return picked;
}

/** Every non-binary attribute of a dataset (used for sequence items). */
function allAttributes(dataset: data.DcmjsDataset): DicomJson {
  return pickAttributes(dataset, Object.keys(dataset).filter((tag) => /^[0-9A-F]{8}$/.test(tag)).sort());
}

function toAttribute(element: data.DcmjsElement): DicomAttribute | undefined {
  const vr = element.vr;
  if (typeof vr !== 'string' || !/^[A-Z]{2}$/.test(vr) || BINARY_VRS.has(vr)) {
    return undefined;
  }
  const raw = element.Value ?? [];
  const values = raw.map((value) => toValue(vr, value));
  return values.some((value) => value !== null) ? { vr, Value: values } : { vr };
}

function toValue(vr: string, value: unknown): unknown {
  switch (vr) {
    case 'SQ':
      return isDataset(value) ? allAttributes(value) : null;
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
