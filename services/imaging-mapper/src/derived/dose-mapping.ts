import { isDoseReport, numberAt, tagsOf, textAt } from '@imaging-facade/dicom';
import type { StudyCompletedV1Data } from '@imaging-facade/events';
import type { CodeableConcept, Coding, Identifier, ImagingStudy, Observation, ObservationComponent, Patient, Reference } from '@medplum/fhirtypes';
import { conditionalUrl, identifierToken, urnUuid } from '@imaging-facade/fhir';
import {
  conceptKey,
  DCM_SYSTEM,
  fhirConcept,
  LOINC_SYSTEM,
  SNOMED_CT_SYSTEM,
  UCUM_SYSTEM,
} from './coded-entries';
import { readDoseReport, type CodedFact, type DoseEvent, type DoseReport, type Measurement } from './dose-report';
import { convertUnit, roundSum } from './dose-units';
import { dicomDateTimeToFhir, dicomUidIdentifier, isOid } from './study-references';

const TAG = tagsOf(['TimezoneOffsetFromUTC', 'Modality', 'CTDIvol', 'SeriesNumber']);

/**
 * Radiation dose (IHE REM) → FHIR Observations, as HL7's "Radiation Dose Summary for Diagnostic
 * Procedures on Human Patients" IG (http://hl7.org/fhir/uv/radiation-dose-summary) describes them:
 * per dose report, one summary Observation (LOINC 73569-6) with the procedure reported and the
 * accumulated values, and one Observation per irradiation event (DCM 113852) with its values.
 * A CT study without a dose report gets a summary of the CTDIvol (0018,9345) its images carry.
 * Values are converted to the units of the IG (UCUM); a value in a unit that cannot be converted is
 * left out, never relabelled. Each Observation has a stable identity (its conditional URL).
 */

export const DOSE_SUMMARY_CODE: Coding = {
  system: LOINC_SYSTEM,
  code: '73569-6',
  display: 'Radiation exposure and protection information [Description] Document Diagnostic imaging',
};
export const IRRADIATION_EVENT_CODE: Coding = { system: DCM_SYSTEM, code: '113852', display: 'Irradiation Event' };
export const MEAN_CTDIVOL_CODE: Coding = { system: DCM_SYSTEM, code: '113830', display: 'Mean CTDIvol' };
const IMAGING_CATEGORY: CodeableConcept = {
  coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'imaging', display: 'Imaging' }],
};
const PROCEDURE_REPORTED: Coding = { system: DCM_SYSTEM, code: '121058', display: 'Procedure reported' };
const COMPUTED_TOMOGRAPHY: Coding = { system: SNOMED_CT_SYSTEM, code: '77477000', display: 'Computed Tomography X-Ray' };

/** How one report concept becomes an Observation component. */
export interface ComponentRule {
  /** The report's concept (conceptKey), e.g. `DCM|113813`. */
  concept: string;
  display: string;
  /** Quantity in this UCUM unit; `code` → CodeableConcept; `text` → string. */
  value: { unit: string; combine: 'sum' | 'max' } | 'code' | 'text';
  /** Short name in the Observation's text summary (valueString). */
  label?: string;
}

const quantity = (unit: string, combine: 'sum' | 'max' = 'sum') => ({ unit, combine }) as const;

/** Summary components per report kind: accumulated values (several planes: summed, times: the longest). */
export const SUMMARY_COMPONENTS: Readonly<Record<DoseReport['kind'], readonly ComponentRule[]>> = {
  ct: [
    { concept: 'DCM|113813', display: 'CT Dose Length Product Total', value: quantity('mGy.cm'), label: 'CT Dose Length Product Total' },
    { concept: 'DCM|113812', display: 'Total Number of Irradiation Events', value: quantity('{events}') },
    { concept: 'DCM|113814', display: 'CT Effective Dose Total', value: quantity('mSv') },
  ],
  projection: [
    { concept: 'DCM|113722', display: 'Dose Area Product Total', value: quantity('mGy.cm2'), label: 'DAP Total' },
    { concept: 'DCM|113725', display: 'Dose (RP) Total', value: quantity('mGy'), label: 'Dose (RP) Total' },
    { concept: 'DCM|113726', display: 'Fluoro Dose Area Product Total', value: quantity('mGy.cm2'), label: 'Fluoro DAP Total' },
    { concept: 'DCM|113727', display: 'Acquisition Dose Area Product Total', value: quantity('mGy.cm2'), label: 'Acquisition DAP Total' },
    { concept: 'DCM|113730', display: 'Total Fluoro Time', value: quantity('s', 'max'), label: 'Total Fluoro Time' },
    { concept: 'DCM|113731', display: 'Total Number of Radiographic Frames', value: quantity('{frames}'), label: 'Radiographic Frames' },
    { concept: 'DCM|111637', display: 'Accumulated Average Glandular Dose', value: quantity('mGy'), label: 'AGD' },
  ],
  radiopharmaceutical: [
    { concept: 'DCM|113507', display: 'Administered activity', value: quantity('MBq'), label: 'Activity' },
    { concept: 'SCT|349358000', display: 'Radiopharmaceuticals', value: 'code' },
    { concept: 'SCT|89457008', display: 'Radioisotope', value: 'code' },
    { concept: 'SCT|410675002', display: 'Route of administration', value: 'code' },
  ],
};

/** Irradiation event components per report kind. */
export const EVENT_COMPONENTS: Readonly<Record<'ct' | 'projection', readonly ComponentRule[]>> = {
  ct: [
    { concept: 'DCM|113830', display: 'Mean CTDIvol', value: quantity('mGy'), label: 'Mean CTDIvol' },
    { concept: 'DCM|113838', display: 'DLP', value: quantity('mGy.cm'), label: 'DLP' },
    { concept: 'DCM|113835', display: 'CTDIw Phantom Type', value: 'code' },
    { concept: 'DCM|113820', display: 'CT Acquisition Type', value: 'code' },
    { concept: 'DCM|123014', display: 'Target Region', value: 'code' },
    { concept: 'DCM|125203', display: 'Acquisition Protocol', value: 'text' },
  ],
  projection: [
    { concept: 'DCM|122130', display: 'Dose Area Product', value: quantity('mGy.cm2'), label: 'DAP' },
    { concept: 'DCM|113738', display: 'Dose (RP)', value: quantity('mGy'), label: 'Dose (RP)' },
    { concept: 'DCM|113742', display: 'Irradiation Duration', value: quantity('s'), label: 'Duration' },
    { concept: 'DCM|113721', display: 'Irradiation Event Type', value: 'code' },
    { concept: 'DCM|113764', display: 'Acquisition Plane', value: 'code' },
    { concept: 'DCM|123014', display: 'Target Region', value: 'code' },
    { concept: 'DCM|125203', display: 'Acquisition Protocol', value: 'text' },
  ],
};

/** An Observation to write, with the search that identifies it (its conditional URL) and its fullUrl. */
export interface PlannedObservation {
  resource: Observation;
  search: Record<string, string>;
  fullUrl: string;
}

/** A summary and its members (events, or series for header values), written together. */
export interface DoseGroup {
  summary: PlannedObservation;
  members: PlannedObservation[];
}

export interface DoseContext {
  data: StudyCompletedV1Data;
  subject: Reference<Patient>;
  /** The study's ImagingStudy (a reference with the Study Instance UID identifier). */
  study: Reference<ImagingStudy>;
  /** ImagingStudy.started: the effective time when a report has none. */
  started?: string;
  accession?: Identifier;
}

export interface DoseMapping {
  groups: DoseGroup[];
  /** What could not be mapped, by reason (no values, nor patient data). */
  notes: string[];
}

/** Every dose Observation of the study: from its dose reports, or else from its CT image headers. */
export function doseObservations(context: DoseContext): DoseMapping {
  const notes: string[] = [];
  const groups: DoseGroup[] = [];
  const offset = textAt(context.data.study, TAG.TimezoneOffsetFromUTC);
  for (const series of context.data.series) {
    for (const instance of series.instances) {
      if (!isDoseReport(instance.sopClassUid)) {
        continue;
      }
      const report = readDoseReport(instance.content);
      if (!report) {
        notes.push(`dose report ${instance.sopInstanceUid}: no content this mapping reads`);
        continue;
      }
      const group = reportGroup(report, instance.sopInstanceUid, context, offset, notes);
      if (group) {
        groups.push(group);
      }
    }
  }
  if (groups.length === 0) {
    const fromHeaders = headerGroup(context);
    if (fromHeaders) {
      groups.push(fromHeaders);
    }
  }
  return { groups, notes };
}

function reportGroup(
  report: DoseReport,
  sopInstanceUid: string,
  context: DoseContext,
  offset: string | undefined,
  notes: string[],
): DoseGroup | undefined {
  const eventRules = report.kind === 'radiopharmaceutical' ? [] : EVENT_COMPONENTS[report.kind];
  const members: PlannedObservation[] = [];
  for (const event of report.events) {
    if (!event.uid || !isOid(event.uid)) {
      notes.push(`dose report ${sopInstanceUid}: an irradiation event without a valid Irradiation Event UID`);
      continue;
    }
    const components = componentsOf(eventRules, event.measurements, event.coded, event.texts, notes, sopInstanceUid);
    const identifier = dicomUidIdentifier(event.uid, 'irradiation-event-uid');
    const resource: Observation = {
      resourceType: 'Observation',
      identifier: [identifier],
      ...common(context),
      code: { coding: [IRRADIATION_EVENT_CODE] },
      subject: context.subject,
      focus: [context.study],
      ...effective(event.start ?? report.start, offset, context.started),
      valueString: textSummary('Irradiation Event', eventRules, components),
      component: components,
    };
    members.push(planned(resource, identifier, IRRADIATION_EVENT_CODE));
  }

  const summaryRules = SUMMARY_COMPONENTS[report.kind];
  const components = componentsOf(summaryRules, report.accumulated, report.accumulatedCoded, [], notes, sopInstanceUid);
  if (components.length === 0 && members.length === 0) {
    notes.push(`dose report ${sopInstanceUid}: no dose values`);
    return undefined;
  }
  const procedure = report.procedureReported
    ? fhirConcept(report.procedureReported)
    : report.kind === 'radiopharmaceutical'
      ? { coding: [{ system: DCM_SYSTEM, code: '113502', display: 'Radiopharmaceutical Administration' }] }
      : undefined;
  const identifier = dicomUidIdentifier(sopInstanceUid, 'sop-instance-uid');
  const firstEventStart = report.events.map((event) => event.start).filter((start): start is string => !!start).sort()[0];
  const summary: Observation = {
    resourceType: 'Observation',
    identifier: [identifier],
    ...common(context),
    code: { coding: [DOSE_SUMMARY_CODE] },
    subject: context.subject,
    focus: [context.study],
    ...effective(report.start ?? firstEventStart, offset, context.started),
    valueString: textSummary(procedure?.coding?.[0]?.display ?? 'Radiation dose', summaryRules, components),
    ...(members.length > 0 ? { hasMember: members.map(memberReference) } : {}),
    component: [...(procedure ? [{ code: { coding: [PROCEDURE_REPORTED] }, valueCodeableConcept: procedure }] : []), ...components],
  };
  return { summary: planned(summary, identifier, DOSE_SUMMARY_CODE), members };
}

/** A CT study without a dose report: the mean CTDIvol of each CT series whose images carry it. */
function headerGroup(context: DoseContext): DoseGroup | undefined {
  const members: PlannedObservation[] = [];
  const lines: string[] = [];
  for (const series of context.data.series) {
    if (textAt(series.attributes, TAG.Modality) !== 'CT') {
      continue;
    }
    const values = series.instances
      .map((instance) => numberAt(instance.attributes, TAG.CTDIvol))
      .filter((value): value is number => value !== undefined && value >= 0);
    if (values.length === 0 || !isOid(series.seriesInstanceUid)) {
      continue;
    }
    const mean = Number((roundSum(values) / values.length).toPrecision(12));
    const number = textAt(series.attributes, TAG.SeriesNumber);
    const identifier = dicomUidIdentifier(series.seriesInstanceUid, undefined);
    const resource: Observation = {
      resourceType: 'Observation',
      identifier: [identifier],
      ...common(context),
      code: { coding: [MEAN_CTDIVOL_CODE] },
      subject: context.subject,
      focus: [context.study],
      ...effective(undefined, undefined, context.started),
      method: { text: `mean of the CTDIvol (0018,9345) of the ${values.length} image(s) of the series` },
      valueQuantity: ucum(mean, 'mGy'),
    };
    members.push(planned(resource, identifier, MEAN_CTDIVOL_CODE));
    lines.push(`series ${number ?? series.seriesInstanceUid} ${mean} mGy`);
  }
  if (members.length === 0) {
    return undefined;
  }
  const identifier = dicomUidIdentifier(context.data.studyInstanceUid, 'study-instance-uid');
  const summary: Observation = {
    resourceType: 'Observation',
    identifier: [identifier],
    ...common(context),
    code: { coding: [DOSE_SUMMARY_CODE] },
    subject: context.subject,
    focus: [context.study],
    ...effective(undefined, undefined, context.started),
    method: { text: 'CTDIvol (0018,9345) of the CT images; the study has no radiation dose report' },
    valueString: `Mean CTDIvol: ${lines.join('; ')}`,
    hasMember: members.map(memberReference),
    component: [{ code: { coding: [PROCEDURE_REPORTED] }, valueCodeableConcept: { coding: [COMPUTED_TOMOGRAPHY] } }],
  };
  return { summary: planned(summary, identifier, DOSE_SUMMARY_CODE), members };
}

function common(context: DoseContext): Pick<Observation, 'basedOn' | 'partOf' | 'status' | 'category'> {
  return {
    ...(context.accession ? { basedOn: [{ type: 'ServiceRequest', identifier: context.accession }] } : {}),
    partOf: [context.study],
    status: 'final',
    category: [IMAGING_CATEGORY],
  };
}

function effective(dt: string | undefined, offset: string | undefined, started: string | undefined): Pick<Observation, 'effectiveDateTime'> {
  const value = dicomDateTimeToFhir(dt, offset) ?? started;
  return value ? { effectiveDateTime: value } : {};
}

function componentsOf(
  rules: readonly ComponentRule[],
  measurements: readonly Measurement[],
  coded: readonly CodedFact[],
  texts: DoseEvent['texts'],
  notes: string[],
  sopInstanceUid: string,
): ObservationComponent[] {
  const components: ObservationComponent[] = [];
  for (const rule of rules) {
    const code: CodeableConcept = { coding: [conceptCoding(rule)] };
    if (rule.value === 'code') {
      const fact = coded.find((item) => conceptKey(item.concept) === rule.concept);
      if (fact) {
        components.push({ code, valueCodeableConcept: fhirConcept(fact.value) });
      }
    } else if (rule.value === 'text') {
      const fact = texts.find((item) => conceptKey(item.concept) === rule.concept);
      if (fact) {
        components.push({ code, valueString: fact.text });
      }
    } else {
      const { unit, combine } = rule.value;
      const values: number[] = [];
      for (const measurement of measurements.filter((item) => conceptKey(item.concept) === rule.concept)) {
        const converted = measurement.unit ? convertUnit(measurement.value, measurement.unit.code, unit) : undefined;
        if (converted === undefined) {
          notes.push(`dose report ${sopInstanceUid}: ${rule.display} in ${measurement.unit?.code ?? 'no unit'} cannot be given in ${unit}; left out`);
        } else {
          values.push(converted);
        }
      }
      if (values.length > 0) {
        components.push({ code, valueQuantity: ucum(combine === 'sum' ? roundSum(values) : Math.max(...values), unit) });
      }
    }
  }
  return components;
}

function conceptCoding(rule: ComponentRule): Coding {
  const [scheme, value] = rule.concept.split('|') as [string, string];
  return { system: scheme === 'SCT' ? SNOMED_CT_SYSTEM : DCM_SYSTEM, code: value, display: rule.display };
}

function ucum(value: number, unit: string): NonNullable<Observation['valueQuantity']> {
  return { value, unit, system: UCUM_SYSTEM, code: unit };
}

/** "CT Dose Length Product Total = 993 mGy.cm" — the IG's text summary, from the labelled quantities. */
function textSummary(title: string, rules: readonly ComponentRule[], components: readonly ObservationComponent[]): string {
  const parts = components.flatMap((component) => {
    const code = component.code.coding?.[0];
    const rule = rules.find((item) => item.concept.endsWith(`|${code?.code ?? ''}`));
    const quantity = component.valueQuantity;
    return rule?.label && quantity ? [`${rule.label} = ${quantity.value} ${quantity.unit}`] : [];
  });
  return parts.length > 0 ? parts.join(', ') : title;
}

function planned(resource: Observation, identifier: Identifier, code: Coding): PlannedObservation {
  const search = { identifier: identifierToken(identifier), code: `${code.system}|${code.code}` };
  return { resource, search, fullUrl: urnUuid(conditionalUrl('Observation', search)) };
}

function memberReference(member: PlannedObservation): Reference<Observation> {
  return { reference: member.fullUrl, type: 'Observation', identifier: member.resource.identifier?.[0] };
}

/** Rows for the README: the elements of every dose Observation. */
export const DOSE_OBSERVATION_ROWS: ReadonlyArray<{ source: string; fhir: string; rule: string }> = [
  { source: 'SOPInstanceUID of the dose report', fhir: 'Observation.identifier (summary)', rule: '`{type: dicom-identifier-type#sop-instance-uid, system: urn:dicom:uid, value: urn:oid:<uid>}`; written by conditional update on it and `code`' },
  { source: '(113769, DCM, "Irradiation Event UID")', fhir: 'Observation.identifier (event)', rule: '`{type: dicom-identifier-type#irradiation-event-uid, system: urn:dicom:uid, value: urn:oid:<uid>}`; an event without a valid UID is left out' },
  { source: '—', fhir: 'Observation.code', rule: 'summary: `LOINC 73569-6`; event: `DCM 113852 "Irradiation Event"`; CT header value: `DCM 113830 "Mean CTDIvol"`' },
  { source: '—', fhir: 'Observation.status, .category', rule: '`final`; `observation-category#imaging`' },
  { source: 'StudyInstanceUID', fhir: 'Observation.partOf, .focus', rule: 'the ImagingStudy, with `identifier {type: study-instance-uid, system: urn:dicom:uid, value: urn:oid:<uid>}`' },
  { source: 'AccessionNumber', fhir: 'Observation.basedOn', rule: '`{type: ServiceRequest, identifier: <the ImagingStudy\'s ACSN identifier>}`' },
  { source: '(derived)', fhir: 'Observation.subject', rule: 'the ImagingStudy\'s subject' },
  { source: '(113809, DCM, "Start of X-Ray Irradiation"), (111526, DCM, "DateTime Started"), (123003, DCM, "Radiopharmaceutical Start DateTime")', fhir: 'Observation.effectiveDateTime', rule: 'DT → dateTime (its offset, else the study\'s TimezoneOffsetFromUTC, else the date alone); summary: the report\'s start, else its first event\'s; event: its own start, else the report\'s; else ImagingStudy.started' },
  { source: '(121058, DCM, "Procedure reported")', fhir: 'Observation.component (summary)', rule: 'code `DCM 121058`, `valueCodeableConcept` the procedure (e.g. SNOMED CT 77477000, DCM 113704); radiopharmaceutical: `DCM 113502`' },
  { source: '(labelled components below)', fhir: 'Observation.valueString', rule: 'the IG\'s text summary, e.g. `CT Dose Length Product Total = 618.25 mGy.cm`' },
  { source: '(derived)', fhir: 'Observation.hasMember (summary)', rule: 'the event Observations (reference and identifier)' },
  { source: 'CTDIvol (0018,9345) of the images', fhir: 'Observation.valueQuantity (CT header value)', rule: 'a CT study without a dose report: per CT series, the mean over its images, in mGy, `method` saying so; a summary (identifier: the Study Instance UID) lists them' },
];
