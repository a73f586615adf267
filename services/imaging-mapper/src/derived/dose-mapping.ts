import { isDoseReport, numberAt, tagsOf, textAt } from '@imaging-facade/dicom';
import type { StudyCompletedV1Data } from '@imaging-facade/events';
import type { CodeableConcept, Coding, Identifier, ImagingStudy, Observation, Patient, Reference } from '@medplum/fhirtypes';
import { conditionalUrl, identifierToken, urnUuid } from '@imaging-facade/fhir';
import {
  DCM_SYSTEM,
  fhirConcept,
  LOINC_SYSTEM,
  SNOMED_CT_SYSTEM,
} from './coded-entries';
import { readDoseReport, type DoseReport } from './dose-report';
import { roundSum } from './dose-units';
import { componentsOf, LATERALITY_CONCEPT, quantity, ucum, type ComponentRule } from './dose-components';
import { dicomDateTimeToFhir, typedUidIdentifier, isOid } from './study-references';

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

export type { ComponentRule } from './dose-components';

// The event values a summary value is the sum of, when a report does not accumulate it.
const EVENT_DLP = { concept: 'DCM|113838', display: 'DLP' };
const EVENT_DAP = { concept: 'DCM|122130', display: 'Dose Area Product' };
const EVENT_DOSE_RP = { concept: 'DCM|113738', display: 'Dose (RP)' };
const EVENT_AGD = { concept: 'DCM|111631', display: 'Average Glandular Dose' };
const EVENT_FLUORO_TIME = {
  concept: 'DCM|113742',
  display: 'Irradiation Duration',
  when: { concept: 'DCM|113721', values: ['SCT|44491008'], display: 'fluoroscopy' },
};

/** Summary components per report kind: accumulated values (several planes: summed, times: the longest). */
export const SUMMARY_COMPONENTS: Readonly<Record<DoseReport['kind'], readonly ComponentRule[]>> = {
  ct: [
    { concept: 'DCM|113813', display: 'CT Dose Length Product Total', value: quantity('mGy.cm', 'sum', { fromEvents: EVENT_DLP }), label: 'CT Dose Length Product Total' },
    { concept: 'DCM|113812', display: 'Total Number of Irradiation Events', value: quantity('{events}') },
    { concept: 'DCM|113814', display: 'CT Effective Dose Total', value: quantity('mSv') },
  ],
  projection: [
    { concept: 'DCM|113722', display: 'Dose Area Product Total', value: quantity('mGy.cm2', 'sum', { fromEvents: EVENT_DAP }), label: 'DAP Total' },
    { concept: 'DCM|113725', display: 'Dose (RP) Total', value: quantity('mGy', 'sum', { fromEvents: EVENT_DOSE_RP }), label: 'Dose (RP) Total' },
    { concept: 'DCM|113726', display: 'Fluoro Dose Area Product Total', value: quantity('mGy.cm2'), label: 'Fluoro DAP Total' },
    { concept: 'DCM|113727', display: 'Acquisition Dose Area Product Total', value: quantity('mGy.cm2'), label: 'Acquisition DAP Total' },
    { concept: 'DCM|113730', display: 'Total Fluoro Time', value: quantity('s', 'max', { fromEvents: EVENT_FLUORO_TIME }), label: 'Total Fluoro Time' },
    { concept: 'DCM|113731', display: 'Total Number of Radiographic Frames', value: quantity('{frames}'), label: 'Radiographic Frames' },
    { concept: 'DCM|111637', display: 'Accumulated Average Glandular Dose', value: quantity('mGy', 'sum', { perLaterality: true, fromEvents: EVENT_AGD }), label: 'AGD' },
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
    { concept: 'DCM|111631', display: 'Average Glandular Dose', value: quantity('mGy'), label: 'AGD' },
    { concept: LATERALITY_CONCEPT, display: 'Laterality', value: 'code' },
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
  /** The node's time zone (FACADE_TIME_ZONE): the zone of a date and time given without an offset. */
  timeZone?: string;
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
    const { components, summary: parts, annotations } = componentsOf(eventRules, event, notes, sopInstanceUid);
    const identifier = typedUidIdentifier(event.uid, 'irradiation-event-uid');
    const resource: Observation = {
      resourceType: 'Observation',
      identifier: [identifier],
      ...common(context),
      code: { coding: [IRRADIATION_EVENT_CODE] },
      subject: context.subject,
      focus: [context.study],
      ...effective(event.start ?? report.start, offset, context),
      valueString: parts.length > 0 ? parts.join(', ') : 'Irradiation Event',
      ...notesOf(annotations),
      component: components,
    };
    members.push(planned(resource, identifier, IRRADIATION_EVENT_CODE));
  }

  const summaryRules = SUMMARY_COMPONENTS[report.kind];
  const { components, summary: parts, annotations } = componentsOf(
    summaryRules,
    { measurements: report.accumulated, coded: report.accumulatedCoded, texts: [], events: report.events },
    notes,
    sopInstanceUid,
  );
  // A report whose only values are in units not understood is still published, with its notes.
  if (components.length === 0 && members.length === 0 && annotations.length === 0) {
    notes.push(`dose report ${sopInstanceUid}: no dose values`);
    return undefined;
  }
  const procedure = report.procedureReported
    ? fhirConcept(report.procedureReported)
    : report.kind === 'radiopharmaceutical'
      ? { coding: [{ system: DCM_SYSTEM, code: '113502', display: 'Radiopharmaceutical Administration' }] }
      : undefined;
  const identifier = typedUidIdentifier(sopInstanceUid, 'sop-instance-uid');
  const firstEventStart = report.events.map((event) => event.start).filter((start): start is string => !!start).sort()[0];
  const summary: Observation = {
    resourceType: 'Observation',
    identifier: [identifier],
    ...common(context),
    code: { coding: [DOSE_SUMMARY_CODE] },
    subject: context.subject,
    focus: [context.study],
    ...effective(report.start ?? firstEventStart, offset, context),
    valueString: parts.length > 0 ? parts.join(', ') : (procedure?.coding?.[0]?.display ?? 'Radiation dose'),
    ...notesOf(annotations),
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
    const identifier = typedUidIdentifier(series.seriesInstanceUid, undefined);
    const resource: Observation = {
      resourceType: 'Observation',
      identifier: [identifier],
      ...common(context),
      code: { coding: [MEAN_CTDIVOL_CODE] },
      subject: context.subject,
      focus: [context.study],
      ...effective(undefined, undefined, context),
      method: { text: `mean of the CTDIvol (0018,9345) of the ${values.length} image(s) of the series` },
      valueQuantity: ucum(mean, 'mGy'),
    };
    members.push(planned(resource, identifier, MEAN_CTDIVOL_CODE));
    lines.push(`series ${number ?? series.seriesInstanceUid} ${mean} mGy`);
  }
  if (members.length === 0) {
    return undefined;
  }
  const identifier = typedUidIdentifier(context.data.studyInstanceUid, 'study-instance-uid');
  const summary: Observation = {
    resourceType: 'Observation',
    identifier: [identifier],
    ...common(context),
    code: { coding: [DOSE_SUMMARY_CODE] },
    subject: context.subject,
    focus: [context.study],
    ...effective(undefined, undefined, context),
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

function effective(dt: string | undefined, offset: string | undefined, context: Pick<DoseContext, 'started' | 'timeZone'>): Pick<Observation, 'effectiveDateTime'> {
  const value = dicomDateTimeToFhir(dt, offset, context.timeZone) ?? context.started;
  return value ? { effectiveDateTime: value } : {};
}

/** What the reader of the Observation must know about its values (Observation.note). */
function notesOf(annotations: readonly string[]): Pick<Observation, 'note'> {
  return annotations.length > 0 ? { note: annotations.map((text) => ({ text })) } : {};
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
  { source: 'SOPInstanceUID of the dose report', fhir: 'Observation.identifier (summary)', rule: '`{type: dicom-identifier-type#sop-instance-uid, system: urn:dicom:uid, value: urn:oid:<uid>}`; with `code`, what the Observation is found by: created by conditional create on both, updated by id with `If-Match` (Writing to FHIR, step 6)' },
  { source: '(113769, DCM, "Irradiation Event UID")', fhir: 'Observation.identifier (event)', rule: '`{type: dicom-identifier-type#irradiation-event-uid, system: urn:dicom:uid, value: urn:oid:<uid>}`; an event without a valid UID is left out' },
  { source: '—', fhir: 'Observation.code', rule: 'summary: `LOINC 73569-6`; event: `DCM 113852 "Irradiation Event"`; CT header value: `DCM 113830 "Mean CTDIvol"`' },
  { source: '—', fhir: 'Observation.status, .category', rule: '`final`; `observation-category#imaging`' },
  { source: 'StudyInstanceUID', fhir: 'Observation.partOf, .focus', rule: 'the ImagingStudy, with `identifier {type: study-instance-uid, system: urn:dicom:uid, value: urn:oid:<uid>}`' },
  { source: 'AccessionNumber', fhir: 'Observation.basedOn', rule: '`{type: ServiceRequest, identifier: <the ImagingStudy\'s ACSN identifier>}`' },
  { source: '(derived)', fhir: 'Observation.subject', rule: 'the ImagingStudy\'s subject' },
  { source: '(113809, DCM, "Start of X-Ray Irradiation"), (111526, DCM, "DateTime Started"), (123003, DCM, "Radiopharmaceutical Start DateTime")', fhir: 'Observation.effectiveDateTime', rule: 'DT → dateTime (its offset, else the study\'s TimezoneOffsetFromUTC, else the node\'s FACADE_TIME_ZONE, else the date alone); summary: the report\'s start, else its first event\'s; event: its own start, else the report\'s; else ImagingStudy.started' },
  { source: '(121058, DCM, "Procedure reported")', fhir: 'Observation.component (summary)', rule: 'code `DCM 121058`, `valueCodeableConcept` the procedure (e.g. SNOMED CT 77477000, DCM 113704); radiopharmaceutical: `DCM 113502`' },
  { source: '(labelled components below)', fhir: 'Observation.valueString', rule: 'the IG\'s text summary, e.g. `CT Dose Length Product Total = 618.25 mGy.cm`' },
  { source: '(derived)', fhir: 'Observation.hasMember (summary)', rule: 'the event Observations (reference and identifier)' },
  { source: 'a NUM whose unit is not understood; a summary value summed from the events', fhir: 'Observation.note', rule: 'one annotation each: the value and the unit as the report wrote them (the value is in no component), or which events a total was summed from' },
  { source: 'CTDIvol (0018,9345) of the images', fhir: 'Observation.valueQuantity (CT header value)', rule: 'a CT study without a dose report: per CT series, the mean over its images, in mGy, `method` saying so; a summary (identifier: the Study Instance UID) lists them' },
];
