import type { CodeableConcept, Coding, Identifier, Observation, ObservationComponent, Reference } from '@medplum/fhirtypes';
import { DCM_SYSTEM } from './coded-entries';
import { LATERALITY_EXTENSION, ucum } from './dose-components';
import { DOSE_SUMMARY_CODE } from './dose-mapping';
import { convertUnit, roundSum } from './dose-units';
import { CUMULATIVE_DOSE_CODE } from '@imaging-facade/fhir';

/**
 * A patient's cumulative radiation dose: per dose type (CT DLP, DAP, fluoroscopy time, average
 * glandular dose per breast), the sum over the patient's studies of what their dose summaries
 * (LOINC 73569-6, dose-mapping.ts) say, as one Observation per patient. Pure: the caller reads the
 * summaries (and, when two reports of a study share irradiation events, those events) from the FHIR
 * server and writes the result (cumulative-dose-update.ts).
 *
 * Per study: a report whose irradiation events are all in another report of the study (a partial
 * report and the complete one) is superseded and not counted; reports with no common event are
 * added up; reports that share some events only are counted event by event (each Irradiation Event
 * UID once, from the event Observations).
 */

export { CUMULATIVE_DOSE_CODE };
export const CUMULATIVE_DOSE_IDENTIFIER_SYSTEM = 'https://imagingfacade.org/fhir/sid/cumulative-radiation-dose';
const IMAGING_CATEGORY: CodeableConcept = {
  coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'imaging', display: 'Imaging' }],
};
const FLUOROSCOPY = '44491008';
const EVENT_TYPE = '113721';
const LATERALITY = '272741003';

/** One dose type: the summary component it is read from, and the event component it sums otherwise. */
export interface CumulativeRule {
  label: string;
  concept: string;
  display: string;
  unit: string;
  event: string;
  /** Only the events of this type count (fluoroscopy for the fluoro time). */
  eventType?: string;
  perLaterality?: boolean;
}

export const CUMULATIVE_RULES: readonly CumulativeRule[] = [
  { label: 'CT DLP', concept: '113813', display: 'CT Dose Length Product Total', unit: 'mGy.cm', event: '113838' },
  { label: 'DAP', concept: '113722', display: 'Dose Area Product Total', unit: 'mGy.cm2', event: '122130' },
  { label: 'Fluoro time', concept: '113730', display: 'Total Fluoro Time', unit: 's', event: '113742', eventType: FLUOROSCOPY },
  { label: 'AGD', concept: '111637', display: 'Accumulated Average Glandular Dose', unit: 'mGy', event: '111631', perLaterality: true },
];

export function cumulativeDoseIdentifier(patientId: string): Identifier {
  return { system: CUMULATIVE_DOSE_IDENTIFIER_SYSTEM, value: `Patient/${patientId}` };
}

/** A value of one dose type: per laterality when the type is. */
interface Amount {
  rule: CumulativeRule;
  laterality?: Coding;
  value: number;
}

interface Report {
  summary: Observation;
  events: Set<string>;
}

const isSummary = (observation: Observation) => observation.code.coding?.some((coding) => coding.system === DOSE_SUMMARY_CODE.system && coding.code === DOSE_SUMMARY_CODE.code) ?? false;
const studyOf = (observation: Observation) => observation.partOf?.[0]?.reference ?? observation.focus?.[0]?.reference ?? observation.id ?? '';
const eventUids = (summary: Observation) => new Set((summary.hasMember ?? []).map((member) => member.identifier?.value).filter((value): value is string => !!value));

/** The reports of one study that count: superseded ones left out; `shared`: some of them share events. */
function countedReports(summaries: readonly Observation[]): { reports: Report[]; shared: boolean } {
  const sorted = summaries
    .map((summary) => ({ summary, events: eventUids(summary) }))
    .sort((a, b) => b.events.size - a.events.size || (a.summary.identifier?.[0]?.value ?? '').localeCompare(b.summary.identifier?.[0]?.value ?? ''));
  const reports: Report[] = [];
  for (const report of sorted) {
    const superseded = report.events.size > 0 && reports.some((kept) => [...report.events].every((uid) => kept.events.has(uid)));
    if (!superseded) {
      reports.push(report);
    }
  }
  const seen = new Set<string>();
  let shared = false;
  for (const report of reports) {
    for (const uid of report.events) {
      shared ||= seen.has(uid);
      seen.add(uid);
    }
  }
  return { reports, shared };
}

/** The Irradiation Event UIDs (`urn:oid:…`) whose event Observations the cumulative dose needs. */
export function eventsNeeded(summaries: readonly Observation[]): string[] {
  const needed = new Set<string>();
  for (const study of groupBy(summaries.filter(isSummary), studyOf).values()) {
    const { reports, shared } = countedReports(study);
    if (shared) {
      reports.forEach((report) => report.events.forEach((uid) => needed.add(uid)));
    }
  }
  return [...needed].sort();
}

/**
 * The patient's cumulative dose Observation, or undefined when none of their studies has a dose
 * value of these types. `events`: the event Observations eventsNeeded named.
 */
export function cumulativeDoseObservation(patientId: string, observations: readonly Observation[], events: readonly Observation[]): Observation | undefined {
  const summaries = observations.filter(isSummary);
  const eventsByUid = new Map(events.map((event) => [event.identifier?.[0]?.value ?? '', event]));
  const amounts: Amount[] = [];
  const counted: Observation[] = [];
  const notes: string[] = [];
  const studies = [...groupBy(summaries, studyOf).entries()].sort(([a], [b]) => a.localeCompare(b));
  for (const [study, studySummaries] of studies) {
    const { reports, shared } = countedReports(studySummaries);
    const before = amounts.length;
    if (shared) {
      const uids = new Set<string>();
      for (const report of reports) {
        if (report.events.size === 0) {
          amounts.push(...summaryAmounts(report.summary));
        }
        report.events.forEach((uid) => uids.add(uid));
      }
      for (const uid of [...uids].sort()) {
        const event = eventsByUid.get(uid);
        if (event) {
          amounts.push(...eventAmounts(event));
        }
      }
      notes.push(`${study}: its dose reports share irradiation events; each event is counted once.`);
    } else {
      reports.forEach((report) => amounts.push(...summaryAmounts(report.summary)));
    }
    if (amounts.length > before) {
      counted.push(...reports.map((report) => report.summary));
    }
    if (reports.some((report) => report.summary.note?.some((note) => /not published as a number/.test(note.text)))) {
      notes.push(`${study}: a value of its dose report is in a unit not understood (see the report's Observation); it is not in these sums.`);
    }
  }
  if (amounts.length === 0) {
    return undefined;
  }
  const components = totals(amounts);
  const times = counted.map((summary) => summary.effectiveDateTime).filter((time): time is string => !!time && Number.isFinite(Date.parse(time)));
  times.sort((a, b) => Date.parse(a) - Date.parse(b) || a.localeCompare(b));
  const studyCount = new Set(counted.map(studyOf)).size;
  return {
    resourceType: 'Observation',
    identifier: [cumulativeDoseIdentifier(patientId)],
    status: 'final',
    category: [IMAGING_CATEGORY],
    code: { coding: [CUMULATIVE_DOSE_CODE], text: 'Cumulative radiation dose' },
    subject: { reference: `Patient/${patientId}` },
    ...(times.length > 0 ? { effectivePeriod: { start: times[0]!, end: times[times.length - 1]! } } : {}),
    valueString: `${components.map((component) => `${component.text} = ${component.component.valueQuantity!.value} ${component.component.valueQuantity!.code}`).join(', ')}; over ${studyCount} ${studyCount === 1 ? 'study' : 'studies'}`,
    ...(notes.length > 0 ? { note: notes.map((text) => ({ text })) } : {}),
    // By identifier only: a literal reference would make the server refuse to delete a withdrawn
    // study's summary (referential integrity), and the withdrawal must always go through.
    derivedFrom: counted
      .filter((summary) => summary.identifier?.[0])
      .map((summary): Reference<Observation> => ({ type: 'Observation', identifier: summary.identifier![0]! }))
      .sort((a, b) => (a.identifier?.value ?? '').localeCompare(b.identifier?.value ?? '')),
    component: components.map((item) => item.component),
  };
}

/** Left breast (80248007), right breast (73056007), both (63762007), then any other laterality. */
const SIDE_ORDER = ['', '80248007', '7771000', '73056007', '24028007', '63762007', '51440002'];
const sideRank = (code: string) => (SIDE_ORDER.includes(code) ? SIDE_ORDER.indexOf(code) : SIDE_ORDER.length);

/** Summed per dose type and laterality, in rule order, then left, right, both. */
function totals(amounts: readonly Amount[]): Array<{ text: string; component: ObservationComponent }> {
  const out: Array<{ text: string; component: ObservationComponent }> = [];
  for (const rule of CUMULATIVE_RULES) {
    const ofRule = amounts.filter((amount) => amount.rule === rule);
    const sides = groupBy(ofRule, (amount) => amount.laterality?.code ?? '');
    for (const key of [...sides.keys()].sort((a, b) => sideRank(a) - sideRank(b) || a.localeCompare(b))) {
      const group = sides.get(key)!;
      const side = group[0]!.laterality;
      const sideText = side ? (side.display ?? side.code ?? '').toLowerCase() : '';
      const code: CodeableConcept = { coding: [{ system: DCM_SYSTEM, code: rule.concept, display: rule.display }], ...(side ? { text: `${rule.display}, ${sideText}` } : {}) };
      out.push({
        text: side ? `${rule.label} ${sideText}` : rule.label,
        component: {
          ...(side ? { extension: [{ url: LATERALITY_EXTENSION, valueCodeableConcept: { coding: [side] } }] } : {}),
          code,
          valueQuantity: ucum(roundSum(group.map((amount) => amount.value)), rule.unit),
        },
      });
    }
  }
  return out;
}

function summaryAmounts(summary: Observation): Amount[] {
  return (summary.component ?? []).flatMap((component) => {
    const rule = CUMULATIVE_RULES.find((item) => component.code.coding?.some((coding) => coding.system === DCM_SYSTEM && coding.code === item.concept));
    const value = rule ? quantityIn(component, rule.unit) : undefined;
    if (!rule || value === undefined) {
      return [];
    }
    const laterality = rule.perLaterality ? component.extension?.find((extension) => extension.url === LATERALITY_EXTENSION)?.valueCodeableConcept?.coding?.[0] : undefined;
    return [{ rule, value, ...(laterality ? { laterality } : {}) }];
  });
}

function eventAmounts(event: Observation): Amount[] {
  const components = event.component ?? [];
  const codeOf = (code: string) => components.find((component) => component.code.coding?.[0]?.code === code);
  const type = codeOf(EVENT_TYPE)?.valueCodeableConcept?.coding?.[0]?.code;
  const laterality = codeOf(LATERALITY)?.valueCodeableConcept?.coding?.[0];
  return CUMULATIVE_RULES.flatMap((rule) => {
    const component = codeOf(rule.event);
    const value = component ? quantityIn(component, rule.unit) : undefined;
    if (value === undefined || (rule.eventType && type !== rule.eventType)) {
      return [];
    }
    return [{ rule, value, ...(rule.perLaterality && laterality ? { laterality } : {}) }];
  });
}

function quantityIn(component: ObservationComponent, unit: string): number | undefined {
  const quantity = component.valueQuantity;
  if (quantity?.value === undefined || !quantity.code) {
    return undefined;
  }
  return convertUnit(quantity.value, quantity.code, unit);
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(key(item)) ?? [];
    group.push(item);
    groups.set(key(item), group);
  }
  return groups;
}

/** Rows for the README: the elements of the cumulative dose Observation. */
export const CUMULATIVE_DOSE_ROWS: ReadonlyArray<{ fhir: string; rule: string }> = [
  { fhir: 'Observation.identifier', rule: `\`{system: ${CUMULATIVE_DOSE_IDENTIFIER_SYSTEM}, value: Patient/<id>}\`: one per patient; created by conditional create, updated by id with \`If-Match\`, deleted when no study counts any more` },
  { fhir: 'Observation.code', rule: `\`${CUMULATIVE_DOSE_CODE.system}#${CUMULATIVE_DOSE_CODE.code}\`, text "Cumulative radiation dose"` },
  { fhir: 'Observation.status, .category', rule: '`final`; `observation-category#imaging`' },
  { fhir: 'Observation.subject', rule: 'the Patient (no `partOf`: it belongs to no one study)' },
  { fhir: 'Observation.effectivePeriod', rule: 'the first and last effective times of the summaries counted' },
  { fhir: 'Observation.derivedFrom', rule: 'the dose summaries (LOINC 73569-6) counted, by identifier (a literal reference would make the server refuse to delete a withdrawn study\'s summary)' },
  { fhir: 'Observation.component', rule: 'per dose type below (and per laterality), `valueQuantity` in UCUM' },
  { fhir: 'Observation.valueString', rule: 'e.g. `CT DLP = 620.75 mGy.cm, DAP = 14639 mGy.cm2, Fluoro time = 480.5 s, AGD left breast = 2.4 mGy, AGD right breast = 0.8 mGy; over 6 studies`' },
  { fhir: 'Observation.note', rule: 'a study whose reports share irradiation events (counted once each), or whose dose report has a value in a unit not understood (not in the sums)' },
];
