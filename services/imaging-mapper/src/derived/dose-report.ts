import { codeOf, itemsAt, numberAt, tagsOf, textAt, type DicomCode, type DicomJson } from '@imaging-facade/dicom';
import { conceptKey } from './coded-entries';

/**
 * Reads a radiation dose structured report (the `content` the ingest carries for dose SR classes)
 * into what the dose mapping needs, by concept codes only: the position of a content item never
 * matters, so reports of any vendor that follow (or extend) the templates of PS3.16 are read alike
 * — TID 10011 (CT), TID 10001 (projection X-ray), TID 10021 (radiopharmaceutical). Legacy SNOMED-RT
 * concept names are read as their SNOMED CT successors. Nothing here throws on bad data: what
 * cannot be read is simply absent.
 */

/** A content item (PS3.3 C.17.3) reduced to what is read. */
export interface ContentNode {
  valueType: string;
  concept?: DicomCode;
  children: ContentNode[];
  /** NUM */
  numeric?: { value: number; unit?: DicomCode };
  /** CODE */
  code?: DicomCode;
  /** TEXT */
  text?: string;
  /** UIDREF */
  uid?: string;
  /** DATETIME (DICOM DT) */
  dateTime?: string;
}

export interface Measurement {
  concept: DicomCode;
  value: number;
  /** The unit of the value as the report states it (UCUM, or a vendor's spelling: see ucumUnitOf). */
  unit: DicomCode | undefined;
  /** CODE items below the NUM (HAS CONCEPT MOD), e.g. the Laterality of an accumulated glandular dose. */
  modifiers?: CodedFact[];
}

export interface CodedFact {
  concept: DicomCode;
  value: DicomCode;
}

export interface DoseEvent {
  /** Irradiation Event UID (113769): the event's identity; undefined when the report lacks it. */
  uid: string | undefined;
  /** DateTime Started (111526), DICOM DT. */
  start: string | undefined;
  measurements: Measurement[];
  coded: CodedFact[];
  texts: Array<{ concept: DicomCode; text: string }>;
}

export type DoseReportKind = 'ct' | 'projection' | 'radiopharmaceutical';

export interface DoseReport {
  kind: DoseReportKind;
  title: DicomCode;
  /** Procedure reported (121058), e.g. (77477000, SCT, "Computed Tomography X-Ray"). */
  procedureReported: DicomCode | undefined;
  /** Start of X-Ray Irradiation (113809) or the administration's start, DICOM DT. */
  start: string | undefined;
  /**
   * Every NUM of the accumulated dose containers (one per plane) or of the administration. When a
   * report has per-plane containers and an "All Planes" one, only the latter (it already adds them up);
   * a container repeated with the same content counts once.
   */
  accumulated: Measurement[];
  /** CODE items of the same containers (e.g. radiopharmaceutical agent, radionuclide, route). */
  accumulatedCoded: CodedFact[];
  /** One per irradiation event container (none for a radiopharmaceutical report). */
  events: DoseEvent[];
}

/** Concept keys (conceptKey) of the containers and items read. */
export const CONCEPTS = {
  xRayDoseReport: 'DCM|113701',
  radiopharmaceuticalDoseReport: 'DCM|113500',
  procedureReported: 'DCM|121058',
  startOfIrradiation: 'DCM|113809',
  ctAccumulated: 'DCM|113811',
  ctAcquisition: 'DCM|113819',
  projectionAccumulated: 'DCM|113702',
  projectionEvent: 'DCM|113706',
  administration: 'DCM|113502',
  administrationStart: 'DCM|123003',
  irradiationEventUid: 'DCM|113769',
  dateTimeStarted: 'DCM|111526',
  computedTomography: 'SCT|77477000',
  acquisitionPlane: 'DCM|113764',
  allPlanes: 'DCM|113890',
} as const;

const TAG = tagsOf([
  'ContentSequence',
  'ConceptNameCodeSequence',
  'ValueType',
  'MeasuredValueSequence',
  'NumericValue',
  'FloatingPointValue',
  'MeasurementUnitsCodeSequence',
  'ConceptCodeSequence',
  'TextValue',
  'UID',
  'DateTime',
]);
const CONTENT_SEQUENCE = TAG.ContentSequence;
const CONCEPT_NAME = TAG.ConceptNameCodeSequence;

/** The content item tree below the document root. */
export function contentTree(items: readonly DicomJson[], depth = 0): ContentNode[] {
  if (depth > 32) {
    return [];
  }
  return items.map((item) => {
    const valueType = textAt(item, TAG.ValueType) ?? '';
    const node: ContentNode = {
      valueType,
      concept: codeOf(itemsAt(item, CONCEPT_NAME)[0]),
      children: contentTree(itemsAt(item, CONTENT_SEQUENCE), depth + 1),
    };
    switch (valueType) {
      case 'NUM': {
        const measured = itemsAt(item, TAG.MeasuredValueSequence)[0];
        const value = numberAt(measured, TAG.NumericValue) ?? numberAt(item, TAG.FloatingPointValue);
        if (value !== undefined) {
          node.numeric = { value, unit: codeOf(itemsAt(measured, TAG.MeasurementUnitsCodeSequence)[0]) };
        }
        break;
      }
      case 'CODE':
        node.code = codeOf(itemsAt(item, TAG.ConceptCodeSequence)[0]);
        break;
      case 'TEXT':
        node.text = textAt(item, TAG.TextValue);
        break;
      case 'UIDREF':
        node.uid = textAt(item, TAG.UID);
        break;
      case 'DATETIME':
        node.dateTime = textAt(item, TAG.DateTime);
        break;
      default:
        break;
    }
    return node;
  });
}

const is = (node: ContentNode, key: string): boolean => node.concept !== undefined && conceptKey(node.concept) === key;

/** Nodes with the concept, searched depth first (not below a match). */
export function findAll(nodes: readonly ContentNode[], key: string): ContentNode[] {
  return nodes.flatMap((node) => (is(node, key) ? [node] : findAll(node.children, key)));
}

function first(nodes: readonly ContentNode[], key: string): ContentNode | undefined {
  return findAll(nodes, key)[0];
}

/** Every NUM, CODE and TEXT below the nodes (all depths), excluding nested containers of `stopAt`. */
function facts(nodes: readonly ContentNode[]): Pick<DoseEvent, 'measurements' | 'coded' | 'texts'> {
  const measurements: Measurement[] = [];
  const coded: CodedFact[] = [];
  const texts: DoseEvent['texts'] = [];
  const visit = (list: readonly ContentNode[]) => {
    for (const node of list) {
      if (node.concept && node.numeric) {
        const modifiers = node.children.flatMap((child) => (child.concept && child.code ? [{ concept: child.concept, value: child.code }] : []));
        measurements.push({ concept: node.concept, value: node.numeric.value, unit: node.numeric.unit, ...(modifiers.length > 0 ? { modifiers } : {}) });
      } else if (node.concept && node.code) {
        coded.push({ concept: node.concept, value: node.code });
      } else if (node.concept && node.text) {
        texts.push({ concept: node.concept, text: node.text });
      }
      visit(node.children);
    }
  };
  visit(nodes);
  return { measurements, coded, texts };
}

function event(container: ContentNode): DoseEvent {
  return {
    uid: first(container.children, CONCEPTS.irradiationEventUid)?.uid,
    start: first(container.children, CONCEPTS.dateTimeStarted)?.dateTime,
    ...facts(container.children),
  };
}

/**
 * The dose report of an instance's `content` (title, template, content tree), or undefined when it
 * is not a report this mapping reads (no title, or a title and structure of another template).
 */
export function readDoseReport(content: DicomJson | undefined): DoseReport | undefined {
  const title = codeOf(itemsAt(content, CONCEPT_NAME)[0]);
  if (!content || !title) {
    return undefined;
  }
  const root = contentTree(itemsAt(content, CONTENT_SEQUENCE));
  const titleKey = conceptKey(title);
  const procedureReported = first(root, CONCEPTS.procedureReported)?.code;

  if (titleKey === CONCEPTS.radiopharmaceuticalDoseReport) {
    const administrations = findAll(root, CONCEPTS.administration);
    const facts0 = facts(administrations.flatMap((node) => node.children));
    return {
      kind: 'radiopharmaceutical',
      title,
      procedureReported,
      start: first(root, CONCEPTS.administrationStart)?.dateTime,
      accumulated: facts0.measurements,
      accumulatedCoded: facts0.coded,
      events: [],
    };
  }
  if (titleKey !== CONCEPTS.xRayDoseReport) {
    return undefined;
  }
  const start = first(root, CONCEPTS.startOfIrradiation)?.dateTime;
  const ctAccumulated = findAll(root, CONCEPTS.ctAccumulated);
  const isCt = ctAccumulated.length > 0 || (procedureReported !== undefined && conceptKey(procedureReported) === CONCEPTS.computedTomography);
  if (isCt) {
    const accumulated = facts(accumulatedContainers(ctAccumulated).flatMap((node) => node.children));
    return {
      kind: 'ct',
      title,
      procedureReported,
      start,
      accumulated: accumulated.measurements,
      accumulatedCoded: accumulated.coded,
      events: findAll(root, CONCEPTS.ctAcquisition).map(event),
    };
  }
  const planes = accumulatedContainers(findAll(root, CONCEPTS.projectionAccumulated));
  const accumulated = facts(planes.flatMap((node) => node.children));
  return {
    kind: 'projection',
    title,
    procedureReported,
    start,
    accumulated: accumulated.measurements,
    accumulatedCoded: accumulated.coded,
    events: findAll(root, CONCEPTS.projectionEvent).map(event),
  };
}

/**
 * The accumulated containers to add up: some systems write one per plane and one for all planes
 * (113890), others repeat a container; adding those up would count a dose twice.
 */
function accumulatedContainers(containers: readonly ContentNode[]): ContentNode[] {
  const planeOf = (node: ContentNode) => {
    const plane = node.children.find((child) => is(child, CONCEPTS.acquisitionPlane))?.code;
    return plane ? conceptKey(plane) : undefined;
  };
  const allPlanes = containers.filter((node) => planeOf(node) === CONCEPTS.allPlanes);
  const chosen = allPlanes.length > 0 ? allPlanes : containers;
  const seen = new Set<string>();
  return chosen.filter((node) => {
    const key = JSON.stringify(node.children);
    if (seen.has(key)) {
      return false;
    }
    seen.add(key);
    return true;
  });
}
