import type { AssessedExam } from './aggregate';
import { DOSE_QUANTITIES, QUANTITY_LABEL, QUANTITY_UNIT } from './quantities';

/**
 * The exams of a period as CSV (RFC 4180, comma, decimal point, UTF-8), one row per exam, in the
 * shape reference-level reporting takes: date, modality, device, protocol, each dose quantity with
 * its unit in the column name, the level it is compared with, and whether it is above. No patient
 * data. Pure.
 */
export const CSV_COLUMNS: ReadonlyArray<{ name: string; value: (exam: AssessedExam) => string; doc: string }> = [
  { name: 'date', value: (exam) => exam.date, doc: 'the exam day (YYYY-MM-DD), as recorded by the modality' },
  { name: 'study_instance_uid', value: (exam) => exam.studyUid ?? '', doc: 'the study (Study Instance UID), to find it in the PACS' },
  { name: 'modality', value: (exam) => exam.modality, doc: 'CT, DX, CR, XA, RF, MG…; XR: projection X-ray whose study holds no image' },
  { name: 'device', value: (exam) => exam.device, doc: 'Observation.device, else the study\'s station (StationName)' },
  { name: 'protocol', value: (exam) => exam.protocol, doc: 'requested procedure, else study description, else the acquisition protocol, else the procedure reported' },
  { name: 'reference_level', value: (exam) => exam.reference?.label ?? '', doc: 'the reference level the exam is compared with (empty: none applies)' },
  { name: 'reference_level_id', value: (exam) => exam.reference?.id ?? '', doc: 'its id in the table' },
  ...DOSE_QUANTITIES.map((quantity) => ({
    name: `${quantity}_${QUANTITY_UNIT[quantity]}`,
    value: (exam: AssessedExam) => number(exam.quantities[quantity]),
    doc: `the exam's ${QUANTITY_LABEL[quantity]} in ${QUANTITY_UNIT[quantity]} (empty: not reported)`,
  })),
  ...DOSE_QUANTITIES.map((quantity) => ({
    name: `drl_${quantity}_${QUANTITY_UNIT[quantity]}`,
    value: (exam: AssessedExam) => number(exam.reference?.levels[quantity]),
    doc: `the reference level for ${QUANTITY_LABEL[quantity]} in ${QUANTITY_UNIT[quantity]}`,
  })),
  { name: 'compared_quantities', value: (exam) => exam.comparisons.map((comparison) => comparison.quantity).join(' '), doc: 'the quantities compared with a level, space-separated (CT: ctdivol dlp dlp_acquisition; mammography: agd_view agd; projection: dap), when the exam has the value and its level has one' },
  { name: 'above_drl', value: (exam) => (exam.comparisons.length === 0 ? '' : exam.above ? 'yes' : 'no'), doc: 'yes / no; empty when nothing could be compared' },
  { name: 'above_quantities', value: (exam) => exam.comparisons.filter((comparison) => comparison.above).map((comparison) => comparison.quantity).join(' '), doc: 'which quantities are above, space-separated' },
];

function number(value: number | undefined): string {
  return value === undefined ? '' : String(value);
}

/**
 * A field as RFC 4180 wants it; text a spreadsheet would run as a formula is prefixed with a quote,
 * also after leading spaces (a spreadsheet that trims them would run ` =…`).
 */
export function csvField(text: string): string {
  const safe = /^(?:[\t\r]|\s*[=+\-@])/.test(text) && !/^-?\d+(\.\d+)?$/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function examsCsv(exams: readonly AssessedExam[]): string {
  const lines = [CSV_COLUMNS.map((column) => column.name).join(',')];
  for (const exam of exams) {
    lines.push(CSV_COLUMNS.map((column) => csvField(column.value(exam))).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}
