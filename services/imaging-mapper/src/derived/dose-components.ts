import { ucumUnitOf, type DicomCode } from '@imaging-facade/dicom';
import type { CodeableConcept, Coding, Extension, ObservationComponent, Quantity } from '@medplum/fhirtypes';
import { conceptKey, DCM_SYSTEM, fhirConcept, SNOMED_CT_SYSTEM, UCUM_SYSTEM } from './coded-entries';
import type { CodedFact, DoseEvent, Measurement } from './dose-report';
import { convertUnit, roundSum } from './dose-units';

/**
 * How the values of a dose report become Observation components: by rule (one per concept), each
 * value converted to the rule's UCUM unit. A value whose unit is not understood, or cannot be
 * expressed in the rule's unit, is not published as a number: the Observation gets a note with the
 * value and the unit as the report wrote them, and the caller a note without the value, to log.
 */

export interface QuantityRule {
  unit: string;
  /** Several planes: added up, or the largest (a fluoro time of a biplane system). */
  combine: 'sum' | 'max';
  /** One component per laterality (a breast's dose is never added to the other breast's). */
  perLaterality?: boolean;
  /**
   * Summary only: when the report has no accumulated value for the concept, the sum of this concept
   * over its irradiation events (those whose `when` concept has one of the values), said in a note.
   */
  fromEvents?: { concept: string; display: string; when?: { concept: string; values: readonly string[]; display: string } };
}

/** How one report concept becomes an Observation component. */
export interface ComponentRule {
  /** The report's concept (conceptKey), e.g. `DCM|113813`. */
  concept: string;
  display: string;
  /** Quantity in this UCUM unit; `code` → CodeableConcept; `text` → string. */
  value: QuantityRule | 'code' | 'text';
  /** Short name in the Observation's text summary (valueString). */
  label?: string;
}

export const quantity = (unit: string, combine: 'sum' | 'max' = 'sum', more: Omit<QuantityRule, 'unit' | 'combine'> = {}): QuantityRule => ({
  unit,
  combine,
  ...more,
});

/** (272741003, SCT, "Laterality"); legacy (G-C171, SRT) is read as it (coded-entries.ts). */
export const LATERALITY_CONCEPT = 'SCT|272741003';
/** The laterality of a component's value, as the report codes it (e.g. SNOMED CT 80248007 "Left breast"). */
export const LATERALITY_EXTENSION = 'https://imagingfacade.org/fhir/StructureDefinition/laterality';

export interface ComponentInput {
  measurements: readonly Measurement[];
  coded: readonly CodedFact[];
  texts: DoseEvent['texts'];
  /** The report's events, for summary values the report does not accumulate. */
  events?: readonly DoseEvent[];
}

export interface Components {
  components: ObservationComponent[];
  /** "DLP = 375.25 mGy.cm" for each labelled quantity: the IG's text summary. */
  summary: string[];
  /** For Observation.note: values not published as numbers, and values summed from the events. */
  annotations: string[];
}

/** The components of `rules` from one report's (or event's) values. `notes` get reasons without values. */
export function componentsOf(rules: readonly ComponentRule[], input: ComponentInput, notes: string[], sopInstanceUid: string): Components {
  const out: Components = { components: [], summary: [], annotations: [] };
  for (const rule of rules) {
    const code: CodeableConcept = { coding: [conceptCoding(rule)] };
    if (rule.value === 'code') {
      const fact = input.coded.find((item) => conceptKey(item.concept) === rule.concept);
      if (fact) {
        out.components.push({ code, valueCodeableConcept: fhirConcept(fact.value) });
      }
    } else if (rule.value === 'text') {
      const fact = input.texts.find((item) => conceptKey(item.concept) === rule.concept);
      if (fact) {
        out.components.push({ code, valueString: fact.text });
      }
    } else {
      quantityComponents(rule, rule.value, input, out, notes, sopInstanceUid);
    }
  }
  return out;
}

interface Value {
  measurement: Measurement;
  laterality: DicomCode | undefined;
}

function quantityComponents(rule: ComponentRule, value: QuantityRule, input: ComponentInput, out: Components, notes: string[], sopInstanceUid: string): void {
  let found: Value[] = input.measurements
    .filter((item) => conceptKey(item.concept) === rule.concept)
    .map((measurement) => ({ measurement, laterality: lateralityOf(measurement.modifiers) }));
  let combine = value.combine;
  let fromEvents: { count: number } | undefined;
  if (found.length === 0 && value.fromEvents && input.events) {
    const source = value.fromEvents;
    const events = input.events.filter((event) => !source.when || event.coded.some((fact) => conceptKey(fact.concept) === source.when!.concept && source.when!.values.includes(conceptKey(fact.value))));
    found = events.flatMap((event) =>
      event.measurements
        .filter((item) => conceptKey(item.concept) === source.concept)
        .map((measurement) => ({ measurement, laterality: lateralityOf(measurement.modifiers) ?? lateralityOf(event.coded) })),
    );
    combine = 'sum';
    fromEvents = { count: events.length };
  }
  // Grouped by laterality only when the rule says so; otherwise every value is one group.
  const groups = new Map<string, { laterality: DicomCode | undefined; values: number[] }>();
  for (const { measurement, laterality } of found) {
    const side = value.perLaterality ? laterality : undefined;
    const key = side ? conceptKey(side) : '';
    const group = groups.get(key) ?? { laterality: side, values: [] };
    groups.set(key, group);
    const converted = inUnit(measurement, value.unit);
    if (typeof converted === 'number') {
      group.values.push(converted);
      continue;
    }
    const written = measurement.unit ? `${measurement.unit.code}${measurement.unit.scheme === 'UCUM' ? '' : ` (coding scheme ${measurement.unit.scheme})`}` : 'no unit';
    notes.push(`dose report ${sopInstanceUid}: ${rule.display} in ${written} ${converted}; not published as a number`);
    out.annotations.push(`${rule.display}${side ? `, ${lateralityText(side)}` : ''}: the report gives ${measurement.value} in ${written}, ${converted}; not published as a number.`);
  }
  for (const group of groups.values()) {
    if (group.values.length === 0) {
      continue;
    }
    const number = combine === 'sum' ? roundSum(group.values) : Math.max(...group.values);
    const side = group.laterality;
    const code: CodeableConcept = { coding: [conceptCoding(rule)], ...(side ? { text: `${rule.display}, ${lateralityText(side)}` } : {}) };
    const extension: Extension[] = side ? [{ url: LATERALITY_EXTENSION, valueCodeableConcept: fhirConcept(side) }] : [];
    out.components.push({ ...(extension.length > 0 ? { extension } : {}), code, valueQuantity: ucum(number, value.unit) });
    if (rule.label) {
      out.summary.push(`${rule.label}${side ? ` ${lateralityText(side)}` : ''} = ${number} ${value.unit}`);
    }
    if (fromEvents && value.fromEvents) {
      const when = value.fromEvents.when ? ` ${value.fromEvents.when.display}` : '';
      out.annotations.push(
        `${rule.display}${side ? `, ${lateralityText(side)}` : ''}: the report has no accumulated value; the sum of the ${value.fromEvents.display} of its ${group.values.length}${when} irradiation event(s).`,
      );
    }
  }
}

/** The value in `unit`, or why it cannot be given in it. */
function inUnit(measurement: Measurement, unit: string): number | string {
  const read = ucumUnitOf(measurement.unit);
  if (!read) {
    return `cannot be given in ${unit}: the unit is not understood`;
  }
  const value = convertUnit(measurement.value, read.code, unit);
  return value === undefined ? `cannot be given in ${unit}: another quantity, or no known factor` : value;
}

function lateralityOf(facts: readonly CodedFact[] | undefined): DicomCode | undefined {
  return facts?.find((fact) => conceptKey(fact.concept) === LATERALITY_CONCEPT)?.value;
}

function lateralityText(side: DicomCode): string {
  return (side.meaning ?? side.code).toLowerCase();
}

export function conceptCoding(rule: Pick<ComponentRule, 'concept' | 'display'>): Coding {
  const [scheme, value] = rule.concept.split('|') as [string, string];
  return { system: scheme === 'SCT' ? SNOMED_CT_SYSTEM : DCM_SYSTEM, code: value, display: rule.display };
}

export function ucum(value: number, unit: string): Quantity {
  return { value, unit, system: UCUM_SYSTEM, code: unit };
}
