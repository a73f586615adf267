import { data } from 'dcmjs';

/**
 * The DICOM data dictionary (PS3.6), as dcmjs ships it: keyword ↔ tag ↔ VR. Tags are written as
 * DICOM JSON keys, eight upper-case hex digits ("00100010"). No tag is typed by hand anywhere else:
 * code names attributes by keyword and asks here.
 */

interface Entry {
  tag: string;
  vr: string;
  name: string;
}

const byKeyword = new Map<string, Entry>();
const byTag = new Map<string, Entry>();
for (const entry of Object.values(data.DicomMetaDictionary.nameMap)) {
  const match = /^\(([0-9A-F]{4}),([0-9A-F]{4})\)$/i.exec(entry.tag);
  if (match) {
    const normalized = { tag: `${match[1]}${match[2]}`.toUpperCase(), vr: entry.vr, name: entry.name };
    byKeyword.set(entry.name, normalized);
    byTag.set(normalized.tag, normalized);
  }
}

/** The tag of a keyword; an unknown keyword is a programming error and throws. */
export function tagOf(keyword: string): string {
  const entry = byKeyword.get(keyword);
  if (!entry) {
    throw new Error(`no DICOM attribute has the keyword ${keyword}`);
  }
  return entry.tag;
}

/** `{keyword: tag}` for a list of keywords, e.g. the attributes a module reads. */
export function tagsOf<K extends string>(keywords: readonly K[]): Readonly<Record<K, string>> {
  return Object.fromEntries(keywords.map((keyword) => [keyword, tagOf(keyword)])) as Record<K, string>;
}

export function keywordOf(tag: string): string | undefined {
  return byTag.get(tag.toUpperCase())?.name;
}

/**
 * The VR of a standard attribute. Where the standard allows several (US or SS, OB or OW), the first:
 * US, OW. Group lengths (gggg,0000) are UL. Undefined for private and unknown attributes.
 */
export function vrOf(tag: string): string | undefined {
  const upper = tag.toUpperCase();
  if (upper.endsWith('0000')) {
    return 'UL';
  }
  const vr = byTag.get(upper)?.vr;
  switch (vr) {
    case undefined:
    case 'na': // items and delimiters
      return undefined;
    case 'xs':
    case 'lt':
      return 'US';
    case 'ox':
      return 'OW';
    case 'up':
      return 'UL';
    default:
      return vr;
  }
}

/** Which choice the standard leaves for an attribute's VR (PS3.6): US or SS, OB or OW, US or OW. */
export type AmbiguousVr = 'US or SS' | 'OB or OW' | 'US or OW';

/** The choice of VRs the standard allows a standard attribute, or undefined when it has one VR. */
export function ambiguousVrOf(tag: string): AmbiguousVr | undefined {
  switch (byTag.get(tag.toUpperCase())?.vr) {
    case 'xs':
      return 'US or SS';
    case 'ox':
      return 'OB or OW';
    case 'lt':
      return 'US or OW';
    default:
      return undefined;
  }
}
