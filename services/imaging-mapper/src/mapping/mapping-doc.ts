import { BODY_PART_EXAMINED } from './anatomy';
import { CODING_SCHEME_SYSTEMS, LOCAL_CODING_SCHEME_BASE, SNOMED_CT_SYSTEM, SNOMED_RT_SYSTEM } from './dicom-codes';
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

/** Coding Scheme Designator → FHIR system, as codingSystem() applies it. */
export function codingSchemesMarkdown(): string {
  const rows: Array<[string, string]> = [
    ['SCT', `\`${SNOMED_CT_SYSTEM}\``],
    [
      'SRT, SNM3, 99SDM',
      `\`${SNOMED_CT_SYSTEM}\` for a SNOMED CT identifier (digits), else \`${SNOMED_RT_SYSTEM}\` (legacy SNOMED-RT style code)`,
    ],
    ...Object.entries(CODING_SCHEME_SYSTEMS).map(([designator, system]): [string, string] => [
      designator,
      `\`${system}\``,
    ]),
    ['an OID', '`urn:oid:<designator>`'],
    ['any other (private “99…”, “L”, local)', `\`${LOCAL_CODING_SCHEME_BASE}<designator, percent-encoded>\``],
  ];
  const lines = rows.map(([designator, system]) => `| ${designator} | ${system} |`);
  return ['| Coding Scheme Designator | FHIR `Coding.system` |', '| --- | --- |', ...lines].join('\n');
}

/** The Body Part Examined table (PS3.16 Annex L), as bodyPartCoding() applies it. */
export function bodyPartsMarkdown(): string {
  const rows = Object.entries(BODY_PART_EXAMINED).map(
    ([term, [code, meaning]]) => `| ${term} | ${code} | ${meaning} |`,
  );
  return ['| Body Part Examined | SNOMED CT | Code Meaning |', '| --- | --- | --- |', ...rows].join('\n');
}
