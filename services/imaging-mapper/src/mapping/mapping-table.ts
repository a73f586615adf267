import type { DicomDataset, Keyword } from './mapped-attributes';

/** What a mapping needs besides the dataset. */
export interface MappingContext {
  /** The Patient.identifier system for a PatientID without IssuerOfPatientID. */
  defaultPatientIdSystem: string;
  /** The identifier system of an AccessionNumber without an issuer (FACADE_ACCESSION_NUMBER_SYSTEM); absent: none. */
  defaultAccessionNumberSystem?: string | undefined;
  /**
   * The node's IANA time zone (FACADE_TIME_ZONE): a DICOM time without TimezoneOffsetFromUTC is
   * local time there. Absent, such a time cannot be given a zone and only the date is kept.
   */
  timeZone?: string | undefined;
  /**
   * Records an attribute that was present but could not be mapped, or that was missing where FHIR
   * needs a value. Keywords only: values may identify the patient.
   */
  skip(keyword: Keyword): void;
}

/**
 * One row of the mapping: which DICOM attributes give which FHIR element, and how. The tables are
 * data so that adding an element is adding a row, and so that the README renders them as they are.
 */
export interface MappingRow<Target> {
  dicom: readonly Keyword[];
  fhir: string;
  /** The rule in a few words, for the README. */
  rule: string;
  map(source: DicomDataset, target: Target, context: MappingContext): void;
}

/** An element computed from the whole study rather than read from one dataset (documentation only). */
export interface DerivedElement {
  fhir: string;
  rule: string;
}

export function applyRows<Target>(
  rows: readonly MappingRow<Target>[],
  source: DicomDataset,
  target: Target,
  context: MappingContext,
): Target {
  for (const row of rows) {
    row.map(source, target, context);
  }
  return target;
}

/** The tables as one Markdown table, for the README. */
export function renderMappingTable(
  sections: ReadonlyArray<{
    rows: ReadonlyArray<Pick<MappingRow<unknown>, 'dicom' | 'fhir' | 'rule'> | DerivedElement>;
  }>,
): string {
  const lines = ['| DICOM attribute | FHIR element | Rule |', '| --- | --- | --- |'];
  for (const { rows } of sections) {
    for (const row of rows) {
      const dicom = !('dicom' in row) ? '(derived)' : row.dicom.length > 0 ? row.dicom.join(' + ') : '—';
      lines.push(`| ${dicom} | \`${row.fhir}\` | ${row.rule.replace(/\|/g, '\\|')} |`);
    }
  }
  return lines.join('\n');
}
