import { CUMULATIVE_DOSE_ROWS, CUMULATIVE_RULES } from './cumulative-dose';
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
      let combine = planes && typeof rule.value === 'object' ? (rule.value.combine === 'max' ? ' (planes: the longest)' : ' (planes: added up)') : '';
      if (typeof rule.value === 'object' && rule.value.perLaterality) {
        combine += ', one component per laterality (code.text and extension `laterality`), never added across';
      }
      if (typeof rule.value === 'object' && rule.value.fromEvents) {
        const from = rule.value.fromEvents;
        combine += `; no accumulated value: the sum of the events' (${from.concept.split('|')[1]}, ${from.concept.split('|')[0]}, "${from.display}")${from.when ? ` (${from.when.display} events only)` : ''}, in a note`;
      }
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
  lines.push('', '#### Cumulative patient dose', '', '| FHIR element | Value |', '| --- | --- |');
  for (const row of CUMULATIVE_DOSE_ROWS) {
    lines.push(`| \`${row.fhir}\` | ${cell(row.rule)} |`);
  }
  lines.push('', '| Dose type | Component code | Unit | Summed from the study summaries\' | else, when reports of a study share events, from the events\' |', '| --- | --- | --- | --- | --- |');
  for (const rule of CUMULATIVE_RULES) {
    const side = rule.perLaterality ? ', one component per laterality, never added across' : '';
    const only = rule.eventType ? ' (fluoroscopy events only)' : '';
    lines.push(`| ${rule.label}${side} | (${rule.concept}, DCM, "${rule.display}") | \`${rule.unit}\` | (${rule.concept}, DCM) | (${rule.event}, DCM)${only} |`);
  }
  return lines.join('\n');
}
