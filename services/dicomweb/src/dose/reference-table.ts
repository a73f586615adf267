import { z } from 'zod';
import { DOSE_QUANTITIES, QUANTITY_UNIT, type DoseQuantity } from './quantities';

/**
 * What a table of diagnostic reference levels (DRL, French NRD) is: per kind of exam, the level
 * each key quantity is compared with, and where the value comes from. Outside input (a site's
 * file) is checked against this schema; the default table is built with it too.
 */

const modality = z.string().regex(/^[A-Z]{2}$/, 'a DICOM modality code, e.g. CT, DX, MG');

const levelsSchema = z
  .object(
    Object.fromEntries(DOSE_QUANTITIES.map((quantity) => [quantity, z.number().positive(`${quantity} must be a positive number of ${QUANTITY_UNIT[quantity]}`).optional()])) as Record<
      DoseQuantity,
      z.ZodOptional<z.ZodNumber>
    >,
  )
  .strict()
  .refine((levels) => Object.values(levels).some((value) => value !== undefined), 'at least one level');

export const referenceLevelSchema = z
  .object({
    /** Stable id, shown in the CSV (`fr-2019-thorax-pa`). */
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/),
    /** What the page and the CSV call the exam. */
    label: z.string().min(1).max(120),
    /** The exam modalities it applies to. */
    modalities: z.array(modality).min(1),
    /**
     * Which exams it applies to (level-matching.ts): the exam's protocol text matches `protocol` (a
     * case-insensitive regular expression), or every target region of the exam is among
     * `targetRegions` (SNOMED CT codes). Neither given: every exam of the modalities. The first
     * level of the table that fits wins.
     */
    match: z
      .object({
        protocol: z
          .string()
          .min(1)
          .max(500)
          .refine((source) => {
            try {
              new RegExp(source, 'i');
              return true;
            } catch {
              return false;
            }
          }, 'not a valid regular expression')
          .optional(),
        targetRegions: z.array(z.string().regex(/^\d{6,18}$/, 'a SNOMED CT concept id')).default([]),
      })
      .strict()
      .default({ targetRegions: [] }),
    /** The levels, in the dashboard's units: ctdivol mGy, dlp mGy.cm, dap mGy.cm2, agd (per breast) mGy, agd_view (per view) mGy. */
    levels: levelsSchema,
    /** Where the values come from (text, annex, table). */
    source: z.string().min(1).max(500),
  })
  .strict();

export const referenceTableSchema = z
  .object({
    name: z.string().min(1).max(200),
    levels: z.array(referenceLevelSchema).min(1),
  })
  .strict()
  .refine((table) => new Set(table.levels.map((level) => level.id)).size === table.levels.length, 'level ids must be unique');

export type ReferenceLevel = z.infer<typeof referenceLevelSchema>;
export type ReferenceTable = z.infer<typeof referenceTableSchema>;
