import type { CodeableConcept, Coding } from '@medplum/fhirtypes';
import type { DicomDataset, Keyword } from './mapped-attributes';
import type { MappingContext } from './mapping-table';

/**
 * DICOM coded entries (Code Sequence Macro, PS3.3 8.8) → FHIR Coding. The Coding Scheme Designator
 * becomes the FHIR system URI the code system is known by in FHIR (PS3.16 section 8, the FHIR
 * terminology registry, and the URIs of DICOM's own FHIR value sets).
 */

export const DCM_SYSTEM = 'http://dicom.nema.org/resources/ontology/DCM';
export const SNOMED_CT_SYSTEM = 'http://snomed.info/sct';
/** Legacy SNOMED-RT style alphanumeric codes ("T-D3000"), as DICOM's own FHIR value sets name them. */
export const SNOMED_RT_SYSTEM = 'http://snomed.info/srt';

/**
 * System of a Coding Scheme Designator that has no known FHIR URI: one URI per designator under our
 * namespace, `<base><designator, percent-encoded>`, so that codes of a private scheme ("99…", "L")
 * stay comparable across studies without pretending to be a public code system.
 */
export const LOCAL_CODING_SCHEME_BASE = 'https://imagingfacade.org/fhir/CodeSystem/dicom-csd/';

const SNOMED_DESIGNATORS = new Set(['SCT', 'SRT', 'SNM3', '99SDM']);

/** Coding Scheme Designator → FHIR system, for the designators with a fixed system (PS3.16 Table 8-1). */
// prettier-ignore
export const CODING_SCHEME_SYSTEMS: Readonly<Record<string, string>> = {
  DCM: DCM_SYSTEM,
  LN: 'http://loinc.org',
  UCUM: 'http://unitsofmeasure.org',
  RADLEX: 'http://www.radlex.org',
  RXNORM: 'http://www.nlm.nih.gov/research/umls/rxnorm',
  NCIt: 'http://ncit.nci.nih.gov',
  UMLS: 'http://www.nlm.nih.gov/research/umls',
  MDC: 'urn:iso:std:iso:11073:10101',
  FMA: 'http://sig.biostr.washington.edu/projects/fm/AboutFM.html',
  NDC: 'http://hl7.org/fhir/sid/ndc',
  I10: 'http://hl7.org/fhir/sid/icd-10',
  ICD10: 'http://hl7.org/fhir/sid/icd-10',
  I9C: 'http://hl7.org/fhir/sid/icd-9-cm',
  C4: 'http://www.ama-assn.org/go/cpt',
  C5: 'http://www.ama-assn.org/go/cpt',
};

const OID = /^[0-2](\.(0|[1-9]\d*))+$/;

/**
 * The FHIR system of a code: SCT → SNOMED CT; SRT, SNM3, 99SDM → SNOMED CT when the code is a
 * SNOMED CT identifier (digits), else the legacy SNOMED-RT system; the designators of the table;
 * a designator that is an OID → `urn:oid:`; any other → LOCAL_CODING_SCHEME_BASE + designator.
 */
export function codingSystem(designator: string, code: string): string {
  if (SNOMED_DESIGNATORS.has(designator.toUpperCase())) {
    return designator.toUpperCase() === 'SCT' || /^\d{6,18}$/.test(code) ? SNOMED_CT_SYSTEM : SNOMED_RT_SYSTEM;
  }
  const known = CODING_SCHEME_SYSTEMS[designator] ?? CODING_SCHEME_SYSTEMS[designator.toUpperCase()];
  if (known) {
    return known;
  }
  return OID.test(designator) ? `urn:oid:${designator}` : `${LOCAL_CODING_SCHEME_BASE}${encodeURIComponent(designator)}`;
}

/**
 * One item of a code sequence → a CodeableConcept: Code Value, Long Code Value or URN Code Value
 * with its scheme and Code Meaning as display. A URN code is its own system (`urn:ietf:rfc:3986`).
 * An item without a code or without a scheme keeps its meaning as text; with neither, undefined.
 */
export function codedConcept(item: DicomDataset): { concept?: CodeableConcept; complete: boolean } {
  const meaning = item.text('CodeMeaning');
  const urn = item.text('URNCodeValue');
  const code = item.text('CodeValue') ?? item.text('LongCodeValue');
  const designator = item.text('CodingSchemeDesignator');
  let coding: Coding | undefined;
  if (code !== undefined && designator !== undefined) {
    const version = item.text('CodingSchemeVersion');
    coding = { system: codingSystem(designator, code), ...(version ? { version } : {}), code };
  } else if (urn !== undefined) {
    coding = { system: 'urn:ietf:rfc:3986', code: urn };
  }
  if (coding) {
    return { concept: { coding: [meaning ? { ...coding, display: meaning } : coding] }, complete: true };
  }
  return { concept: meaning ? { text: meaning } : undefined, complete: false };
}

/**
 * Every item of a code sequence → CodeableConcepts. An item that is not a complete coded entry is
 * recorded as skipped by the sequence keyword; its meaning, if any, is kept as text.
 */
export function codedConcepts(source: DicomDataset, keyword: Keyword, context: MappingContext): CodeableConcept[] {
  const concepts: CodeableConcept[] = [];
  for (const item of source.items(keyword)) {
    const { concept, complete } = codedConcept(item);
    if (!complete) {
      context.skip(keyword);
    }
    if (concept) {
      concepts.push(concept);
    }
  }
  return concepts;
}
