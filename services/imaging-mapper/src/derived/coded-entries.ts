import type { DicomCode } from '@imaging-facade/dicom';
import type { CodeableConcept, Coding } from '@medplum/fhirtypes';

/**
 * The coded entries of content trees (dose reports, manifests) as FHIR: the concept keys the dose
 * mapping matches on, and Codings with the system URIs of PS3.16. Reading the entries themselves is
 * libs/dicom's `codeOf`.
 */

/**
 * SNOMED-RT style codes that DICOM replaced by SNOMED CT identifiers (PS3.16 Annex O), for the
 * concepts the dose mapping reads: reports written before the change use the left-hand side.
 */
const SRT_TO_SCT: Readonly<Record<string, string>> = {
  'P5-08000': '77477000', // Computed Tomography X-Ray
  'P5-06000': '44491008', // Fluoroscopy
  'P5-40010': '71651007', // Mammography
  'G-C0E8': '363703001', // Has Intent
  'G-C036': '370129005', // Measurement Method
  'F-61FDB': '349358000', // Radiopharmaceutical agent
  'C-10072': '89457008', // Radionuclide
  'G-C340': '410675002', // Route of administration
  'R-408C3': '261004008', // Diagnostic Intent
  'G-C171': '272741003', // Laterality
  'T-04030': '80248007', // Left breast
  'T-04020': '73056007', // Right breast
  'T-04080': '63762007', // Both breasts
  'G-A101': '7771000', // Left
  'G-A100': '24028007', // Right
  'G-A102': '51440002', // Right and left
};

/** The key a concept is matched by: scheme|code, legacy SNOMED designators and codes normalised. */
export function conceptKey(code: DicomCode): string {
  const scheme = code.scheme.toUpperCase();
  if (scheme === 'SRT' || scheme === 'SNM3' || scheme === '99SDM' || scheme === 'SCT') {
    return `SCT|${SRT_TO_SCT[code.code] ?? code.code}`;
  }
  return `${scheme}|${code.code}`;
}

export const DCM_SYSTEM = 'http://dicom.nema.org/resources/ontology/DCM';
export const SNOMED_CT_SYSTEM = 'http://snomed.info/sct';
export const LOINC_SYSTEM = 'http://loinc.org';
export const UCUM_SYSTEM = 'http://unitsofmeasure.org';

const SYSTEMS: Readonly<Record<string, string>> = {
  DCM: DCM_SYSTEM,
  SCT: SNOMED_CT_SYSTEM,
  LN: LOINC_SYSTEM,
  UCUM: UCUM_SYSTEM,
  URN: 'urn:ietf:rfc:3986',
};

/**
 * A DICOM coded entry as a FHIR Coding, with the system URIs of PS3.16 section 8: legacy SNOMED-RT
 * codes of the concepts above become SNOMED CT, other legacy ones keep http://snomed.info/srt;
 * another designator that is an OID becomes `urn:oid:`; any other designator gives no system.
 */
export function fhirCoding(code: DicomCode): Coding {
  const scheme = code.scheme.toUpperCase();
  let system: string | undefined;
  let value = code.code;
  if (scheme === 'SRT' || scheme === 'SNM3' || scheme === '99SDM') {
    const sct = SRT_TO_SCT[code.code] ?? (/^\d{6,18}$/.test(code.code) ? code.code : undefined);
    system = sct ? SNOMED_CT_SYSTEM : 'http://snomed.info/srt';
    value = sct ?? code.code;
  } else {
    system = SYSTEMS[scheme] ?? (/^[0-2](\.(0|[1-9]\d*))+$/.test(code.scheme) ? `urn:oid:${code.scheme}` : undefined);
  }
  return { ...(system ? { system } : {}), code: value, ...(code.meaning ? { display: code.meaning } : {}) };
}

export function fhirConcept(code: DicomCode): CodeableConcept {
  const coding = fhirCoding(code);
  return coding.system ? { coding: [coding] } : { coding: [coding], text: code.meaning ?? code.code };
}
