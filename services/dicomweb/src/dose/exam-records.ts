import type { ImagingStudy, Observation, ObservationComponent, Reference } from '@medplum/fhirtypes';
import { QUANTITY_UNIT, type DoseQuantity } from './quantities';

/**
 * One exam as the dashboard sees it, read from the mapper's dose summary Observation (LOINC
 * 73569-6), its members (irradiation events, or CT header values) and its ImagingStudy. No patient
 * data: the study is named by its Study Instance UID only. Pure.
 */
export interface DoseExam {
  /** `Observation/<id>` of the summary. */
  observation: string;
  studyUid: string | undefined;
  /** As recorded (effectiveDateTime, else ImagingStudy.started); `date` is its calendar day. */
  dateTime: string;
  date: string;
  modality: string;
  device: string;
  protocol: string;
  /** SNOMED CT codes of the events' target regions. */
  targetRegions: string[];
  quantities: Partial<Record<DoseQuantity, number>>;
}

const LOINC = 'http://loinc.org';
const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const SNOMED = 'http://snomed.info/sct';
export const DOSE_SUMMARY = `${LOINC}|73569-6`;

const CODE = {
  dlpTotal: '113813',
  dapTotal: '113722',
  agd: '111637',
  agdEvent: '111631',
  meanCtdivol: '113830',
  dlpEvent: '113838',
  procedureReported: '121058',
  targetRegion: '123014',
  acquisitionProtocol: '125203',
} as const;

/** Modalities that carry no exposure of their own (the dose report's SR series, key objects…). */
const NOT_ACQUISITION = new Set(['SR', 'KO', 'PR', 'DOC', 'OT', 'REG', 'SEG']);
const PROJECTION = ['MG', 'DX', 'CR', 'XA', 'RF', 'RG', 'PX', 'IO'];
const CT_PROCEDURE = '77477000';

type AnyResource = { resourceType: string; id?: string | undefined };

const hasCode = (concept: { coding?: Array<{ system?: string; code?: string }> } | undefined, system: string, code: string): boolean =>
  concept?.coding?.some((coding) => coding.system === system && coding.code === code) ?? false;

const componentsOf = (observation: Observation, code: string): ObservationComponent[] => (observation.component ?? []).filter((component) => hasCode(component.code, DCM, code));

/** A quantity in the unit the dashboard uses; another unit is not guessed at (the value is left out). */
function valueIn(quantity: { value?: number; code?: string; unit?: string } | undefined, unit: string): number | undefined {
  if (quantity?.value === undefined || !Number.isFinite(quantity.value)) return undefined;
  return (quantity.code ?? quantity.unit) === unit ? quantity.value : undefined;
}

function largest(values: ReadonlyArray<number | undefined>): number | undefined {
  const numbers = values.filter((value): value is number => value !== undefined);
  return numbers.length > 0 ? Math.max(...numbers) : undefined;
}

function sumOf(values: ReadonlyArray<number | undefined>): number | undefined {
  const numbers = values.filter((value): value is number => value !== undefined);
  return numbers.length > 0 ? Number(numbers.reduce((sum, value) => sum + value, 0).toPrecision(12)) : undefined;
}

const textOf = (concept: { text?: string; coding?: Array<{ display?: string; code?: string }> } | undefined): string | undefined =>
  concept?.text?.trim() || concept?.coding?.find((coding) => coding.display)?.display?.trim() || undefined;

/** Index of the resources of a search (matches and includes), by `Type/id`. */
export function indexResources(resources: readonly AnyResource[]): Map<string, AnyResource> {
  return new Map(resources.filter((resource) => resource.id).map((resource) => [`${resource.resourceType}/${resource.id}`, resource]));
}

function resolve<T extends AnyResource>(index: Map<string, AnyResource>, reference: Reference | undefined, type: string): T | undefined {
  const found = reference?.reference ? index.get(reference.reference) : undefined;
  return found?.resourceType === type ? (found as T) : undefined;
}

function studyUidOf(observation: Observation, study: ImagingStudy | undefined): string | undefined {
  const identifier = [...(observation.partOf ?? []), ...(observation.focus ?? [])].map((reference) => reference.identifier).find((id) => id?.system === 'urn:dicom:uid')
    ?? study?.identifier?.find((id) => id.system === 'urn:dicom:uid');
  return identifier?.value?.replace(/^urn:oid:/, '');
}

function modalityOf(quantities: DoseExam['quantities'], procedureIsCt: boolean, study: ImagingStudy | undefined): string {
  if (procedureIsCt || quantities.dlp !== undefined || quantities.ctdivol !== undefined || quantities.dlp_acquisition !== undefined) return 'CT';
  const acquired = (study?.modality ?? []).map((coding) => coding.code ?? '').filter((code) => code && !NOT_ACQUISITION.has(code));
  const projection = PROJECTION.find((code) => acquired.includes(code));
  if (projection) return projection;
  if (quantities.agd !== undefined || quantities.agd_view !== undefined) return 'MG';
  // A projection report whose study holds no image: projection X-ray, modality not known.
  return 'XR';
}

function deviceOf(observation: Observation, study: ImagingStudy | undefined): string {
  const own = observation.device?.display ?? observation.device?.reference;
  if (own) return own;
  const stations = (study?.series ?? []).flatMap((series) =>
    (series.performer ?? []).filter((performer) => hasCode(performer.function, 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', 'DEV')).map((performer) => performer.actor.display),
  );
  return stations.find((station): station is string => !!station) ?? 'unknown device';
}

/** The exam of one dose summary, or undefined for an Observation that is not one (or has no date). */
export function examOf(observation: Observation, index: Map<string, AnyResource>): DoseExam | undefined {
  if (!hasCode(observation.code, LOINC, '73569-6')) return undefined;
  const study = resolve<ImagingStudy>(index, observation.partOf?.[0] ?? observation.focus?.[0], 'ImagingStudy');
  const members = (observation.hasMember ?? []).map((reference) => resolve<Observation>(index, reference, 'Observation')).filter((member): member is Observation => !!member);
  // A member is an irradiation event (its values as components) or a header value (its own value).
  const ofMembers = (code: string, unit: string): Array<number | undefined> =>
    members.flatMap((member) => (hasCode(member.code, DCM, code) ? [valueIn(member.valueQuantity, unit)] : componentsOf(member, code).map((component) => valueIn(component.valueQuantity, unit))));
  const summary = (code: string, unit: string): Array<number | undefined> => componentsOf(observation, code).map((component) => valueIn(component.valueQuantity, unit));
  const quantities: DoseExam['quantities'] = {};
  const set = (quantity: DoseQuantity, value: number | undefined): void => {
    if (value !== undefined) quantities[quantity] = value;
  };
  // CTDIvol: of the exam's most exposed acquisition (the NRD are set per acquisition; scouts are far below).
  set('ctdivol', largest(ofMembers(CODE.meanCtdivol, QUANTITY_UNIT.ctdivol)));
  set('dlp', sumOf(summary(CODE.dlpTotal, QUANTITY_UNIT.dlp)));
  set('dlp_acquisition', largest(ofMembers(CODE.dlpEvent, QUANTITY_UNIT.dlp_acquisition)));
  set('dap', sumOf(summary(CODE.dapTotal, QUANTITY_UNIT.dap)));
  // AGD is given per breast: the larger breast's, never a sum across breasts.
  set('agd', largest(summary(CODE.agd, QUANTITY_UNIT.agd)));
  // AGD per view: of the exam's most exposed view (each irradiation event is one view).
  set('agd_view', largest(ofMembers(CODE.agdEvent, QUANTITY_UNIT.agd_view)));

  const procedure = componentsOf(observation, CODE.procedureReported)[0]?.valueCodeableConcept;
  const eventProtocols = members.flatMap((member) => componentsOf(member, CODE.acquisitionProtocol).map((component) => component.valueString?.trim())).filter((text): text is string => !!text);
  const protocol = textOf(study?.procedureCode?.[0]) ?? study?.description?.trim() ?? eventProtocols.sort()[0] ?? textOf(procedure) ?? 'unspecified';
  const targetRegions = [
    ...new Set(members.flatMap((member) => componentsOf(member, CODE.targetRegion).flatMap((component) => component.valueCodeableConcept?.coding ?? []).filter((coding) => coding.system === SNOMED).map((coding) => coding.code ?? ''))),
  ].filter(Boolean);
  const dateTime = observation.effectiveDateTime ?? study?.started;
  if (!dateTime || !observation.id) return undefined;
  return {
    observation: `Observation/${observation.id}`,
    studyUid: studyUidOf(observation, study),
    dateTime,
    date: dateTime.slice(0, 10),
    modality: modalityOf(quantities, hasCode(procedure, SNOMED, CT_PROCEDURE), study),
    device: deviceOf(observation, study),
    protocol,
    targetRegions,
    quantities,
  };
}

/** Every exam among the resources of a search (summaries with their members and studies included). */
export function examsOf(resources: readonly AnyResource[]): DoseExam[] {
  const index = indexResources(resources);
  return resources
    .filter((resource): resource is Observation => resource.resourceType === 'Observation')
    .map((observation) => examOf(observation, index))
    .filter((exam): exam is DoseExam => exam !== undefined)
    .sort((a, b) => a.dateTime.localeCompare(b.dateTime) || a.observation.localeCompare(b.observation));
}
