import { tagOf } from './dictionary';
import { dicomText, type DicomJson } from './dicom-json';

/**
 * Read access to a DICOM JSON dataset by keyword (PS3.6), the tag taken from ./dictionary. `K`
 * narrows the keywords a caller may use (e.g. the attributes a mapping reads); an unknown keyword
 * throws, being a programming error. Every reader is total: a missing attribute, an empty value or
 * a value of an unexpected JSON type reads as `undefined` (or an empty list), never as an exception.
 */
export class DicomDataset<K extends string = string> {
  constructor(private readonly json: DicomJson) {}

  /** The DICOM JSON itself, for the shared rules that read it directly (the patient's identity). */
  get raw(): DicomJson {
    return this.json;
  }

  /** The first value, as it is in the JSON. */
  first(keyword: K): unknown {
    return this.values(keyword)[0];
  }

  /** Every value, as they are in the JSON. */
  values(keyword: K): unknown[] {
    const values = this.json[tagOf(keyword)]?.Value;
    return Array.isArray(values) ? values : [];
  }

  /** The first value as trimmed text (DICOM pads values with spaces); undefined when empty. */
  text(keyword: K): string | undefined {
    return dicomText(this.first(keyword));
  }

  /** Every non-empty value as trimmed text. */
  texts(keyword: K): string[] {
    return this.values(keyword)
      .map(dicomText)
      .filter((text): text is string => text !== undefined);
  }

  /** The items of a sequence, each a dataset of its own. */
  items(keyword: K): Array<DicomDataset<K>> {
    return this.values(keyword)
      .filter((item): item is DicomJson => typeof item === 'object' && item !== null && !Array.isArray(item))
      .map((item) => new DicomDataset<K>(item));
  }
}
