import { DOSE_OBSERVATION_ROWS, EVENT_COMPONENTS, SUMMARY_COMPONENTS, type ComponentRule } from './dose-mapping';
import { ENDPOINT_ROWS } from './endpoint-mapping';
import { DOCUMENT_REFERENCE_ROWS } from './manifest-mapping';

/** The Endpoint, manifest and dose mappings as the README shows them, rendered from the tables the code runs. */
export function derivedMappingMarkdown(): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  const lines: string[] = [];
  lines.push('#### Endpoint', '', '| FHIR element | Value |', '| --- | --- |');
  for (const row of ENDPOINT_ROWS) {
    lines.push(`| \`${row.fhir}\` | ${cell(row.rule)} |`);
  }
  lines.push('', '#### DocumentReference of the manifest', '', '| Source | FHIR element | Rule |', '| --- | --- | --- |');
  for (const row of DOCUMENT_REFERENCE_ROWS) {
    lines.push(`| ${cell(row.source)} | \`${row.fhir}\` | ${cell(row.rule)} |`);
  }
  lines.push('', '#### Dose Observations', '', '| Source | FHIR element | Rule |', '| --- | --- | --- |');
  for (const row of DOSE_OBSERVATION_ROWS) {
    lines.push(`| ${cell(row.source)} | \`${row.fhir}\` | ${cell(row.rule)} |`);
  }
  lines.push('', '#### Dose Observations: components', '', '| Observation | Report | DICOM concept | FHIR component value |', '| --- | --- | --- | --- |');
  const rows = (observation: string, kind: string, rules: readonly ComponentRule[], planes: boolean) => {
    for (const rule of rules) {
      const [scheme, code] = rule.concept.split('|');
      const combine = planes && typeof rule.value === 'object' ? (rule.value.combine === 'max' ? ' (planes: the longest)' : ' (planes: added up)') : '';
      const value =
        rule.value === 'code'
          ? '`valueCodeableConcept` (the coded value)'
          : rule.value === 'text'
            ? '`valueString`'
            : `\`valueQuantity\` in UCUM \`${rule.value.unit}\`${combine}`;
      lines.push(`| ${observation} | ${kind} | (${code}, ${scheme}, "${rule.display}") | ${value} |`);
    }
  };
  rows('summary (LOINC 73569-6)', 'CT (TID 10011)', SUMMARY_COMPONENTS.ct, false);
  rows('summary (LOINC 73569-6)', 'projection X-ray (TID 10001)', SUMMARY_COMPONENTS.projection, true);
  rows('summary (LOINC 73569-6)', 'radiopharmaceutical (TID 10021)', SUMMARY_COMPONENTS.radiopharmaceutical, false);
  rows('irradiation event (DCM 113852)', 'CT (TID 10013)', EVENT_COMPONENTS.ct, false);
  rows('irradiation event (DCM 113852)', 'projection X-ray (TID 10003)', EVENT_COMPONENTS.projection, false);
  return lines.join('\n');
}
