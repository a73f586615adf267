import { DERIVED_ELEMENTS, IMAGING_STUDY_ROWS, INSTANCE_ROWS, SERIES_ROWS } from './imaging-study-mapping';
import { renderMappingTable } from './mapping-table';
import { PATIENT_ROWS } from './patient-mapping';

/** The whole mapping as the README shows it, rendered from the tables the code runs. */
export function mappingTableMarkdown(): string {
  return renderMappingTable([
    { rows: PATIENT_ROWS },
    { rows: IMAGING_STUDY_ROWS },
    { rows: SERIES_ROWS },
    { rows: INSTANCE_ROWS },
    { rows: DERIVED_ELEMENTS },
  ]);
}
