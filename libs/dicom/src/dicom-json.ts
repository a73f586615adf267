import { z } from 'zod';
import { parseDecimalString } from './values';

/**
 * A dataset in the DICOM JSON model (PS3.18 F.2): attributes keyed by their tag as eight upper-case
 * hex digits, e.g. `{"0020000D": {"vr": "UI", "Value": ["1.2.3"]}}`. Text values are already decoded
 * from the dataset's Specific Character Set into Unicode.
 */
export const dicomAttributeSchema = z.object({
  vr: z.string().regex(/^[A-Z]{2}$/),
  Value: z.array(z.unknown()).optional(),
  InlineBinary: z.string().optional(),
  BulkDataURI: z.string().optional(),
});

export const dicomJsonSchema = z.record(z.string().regex(/^[0-9A-F]{8}$/), dicomAttributeSchema);

export type DicomAttribute = z.infer<typeof dicomAttributeSchema>;
export type DicomJson = z.infer<typeof dicomJsonSchema>;

/** A DICOM UID: dot-separated numbers, at most 64 characters (PS3.5 9.1). */
export const dicomUidSchema = z
  .string()
  .max(64)
  .regex(/^[0-9]+(\.[0-9]+)*$/, 'not a DICOM UID');

/**
 * A DICOM JSON value as text: trimmed (DICOM pads values with spaces), numbers as decimal text,
 * undefined when empty or of another JSON type. Readers of DICOM JSON are total: odd data reads as
 * undefined (or no items), never as an exception.
 */
export function dicomText(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) {
    return String(value);
  }
  if (typeof value !== 'string') {
    return undefined;
  }
  const trimmed = value.trim();
  return trimmed.length > 0 ? trimmed : undefined;
}

/** The first value of an attribute as text (see `dicomText`). */
export function textAt(dataset: DicomJson | undefined, tag: string): string | undefined {
  return dicomText(dataset?.[tag]?.Value?.[0]);
}

/** A number (IS, DS, FD, FL…): a JSON number, or numeric text; see `parseDecimalString`. */
export function numberAt(dataset: DicomJson | undefined, tag: string): number | undefined {
  return parseDecimalString(dataset?.[tag]?.Value?.[0]);
}

/** The items of a sequence; values that are not items are skipped. */
export function itemsAt(dataset: DicomJson | undefined, tag: string): DicomJson[] {
  const values = dataset?.[tag]?.Value ?? [];
  return values.filter(isItem);
}

/** The first item of a sequence. */
export function firstItemAt(dataset: DicomJson | undefined, tag: string): DicomJson | undefined {
  const item = dataset?.[tag]?.Value?.[0];
  return isItem(item) ? item : undefined;
}

function isItem(value: unknown): value is DicomJson {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
