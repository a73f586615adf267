import { z } from 'zod';

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
