import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { FRENCH_NATIONAL_LEVELS } from './french-national-levels';
import { referenceTableSchema, type ReferenceTable } from './reference-table';

/** The table a node uses: a site's JSON file (DOSE_REFERENCE_LEVELS_FILE), checked whole, else the French national one. The service does not start with a bad file. */
export function loadReferenceTable(file: string | undefined): ReferenceTable {
  if (file === undefined) return FRENCH_NATIONAL_LEVELS;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`DOSE_REFERENCE_LEVELS_FILE ${file} cannot be read as JSON: ${(error as Error).message}`);
  }
  const parsed = referenceTableSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`DOSE_REFERENCE_LEVELS_FILE ${file} is not a reference table: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}
