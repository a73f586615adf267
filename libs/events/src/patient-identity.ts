import { firstItemAt, tagsOf, textAt as text, type DicomJson } from '@imaging-facade/dicom';

/**
 * The one rule that names a study's patient: PatientID and its issuer → a FHIR identifier
 * `system|value`. The mapper publishes Patients with it, the consent desk keys decisions by it and
 * the gateway filters answers by it, so all three must use this function and no copy of it.
 */

/**
 * Namespace of the systems made for an IssuerOfPatientID that is neither an OID nor a URI (a local
 * name such as "HOSPITAL_A"): `<base><issuer, percent-encoded>`. Deterministic, so every node that
 * sees the same issuer makes the same system.
 */
export const LOCAL_ISSUER_SYSTEM_BASE = 'https://imagingfacade.org/fhir/sid/patient-id/';

/** The system of a PatientID without issuer, unless the deployment names its own (MRN) system. */
export const DEFAULT_PATIENT_ID_SYSTEM = 'https://imagingfacade.org/fhir/sid/patient-id';

const OID = /^[0-2](\.(0|[1-9]\d*))+$/;
const URI = /^(https?:\/\/\S+|urn:[a-z0-9][a-z0-9-]{0,31}:\S+)$/i;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const TAG = tagsOf([
  'PatientID',
  'IssuerOfPatientID',
  'IssuerOfPatientIDQualifiersSequence',
  'UniversalEntityID',
  'UniversalEntityIDType',
  'IdentifierTypeCode',
]);

/** An issuer given as text: an OID as `urn:oid:`, a URI as is, any other name `<localBase><name, percent-encoded>`. */
export function issuerTextToSystem(issuer: string, localBase: string = LOCAL_ISSUER_SYSTEM_BASE): string {
  if (OID.test(issuer)) {
    return `urn:oid:${issuer}`;
  }
  if (URI.test(issuer)) {
    return issuer;
  }
  return `${localBase}${encodeURIComponent(issuer)}`;
}

/**
 * A Universal Entity ID (HL7v2 Hierarchic Designator, PS3.3 10.14) → a system, by its type: ISO (an
 * OID) → `urn:oid:`, URI → as is, UUID → `urn:uuid:` (lower case). Other types (DNS, EUI64, X400,
 * X500…) or a malformed ID → undefined.
 */
export function universalEntitySystem(id: string | undefined, type: string | undefined): string | undefined {
  if (id === undefined) {
    return undefined;
  }
  switch (type?.toUpperCase()) {
    case 'ISO':
      return OID.test(id) ? `urn:oid:${id}` : undefined;
    case 'URI':
      return URI.test(id) ? id : undefined;
    case 'UUID':
      return UUID.test(id) ? `urn:uuid:${id.toLowerCase()}` : undefined;
    default:
      return undefined;
  }
}

export interface PatientIdentity {
  system: string;
  value: string;
  /** IdentifierTypeCode of the issuer's qualifiers (an HL7 v2 table 0203 code), when given. */
  typeCode?: string;
}

/**
 * The patient identity of a dataset (a study's attributes, or an OtherPatientIDsSequence item):
 * PatientID with, as system, the Universal Entity ID of IssuerOfPatientIDQualifiersSequence when it
 * is an ISO OID, URI or UUID, else IssuerOfPatientID, else `defaultSystem`. Undefined without a
 * PatientID: such a study belongs to no patient anyone can name.
 */
export function patientIdentityOf(dataset: DicomJson, defaultSystem: string): PatientIdentity | undefined {
  const value = text(dataset, TAG.PatientID);
  if (value === undefined) {
    return undefined;
  }
  const qualifiers = firstItemAt(dataset, TAG.IssuerOfPatientIDQualifiersSequence);
  const universal = qualifiers
    ? universalEntitySystem(text(qualifiers, TAG.UniversalEntityID), text(qualifiers, TAG.UniversalEntityIDType))
    : undefined;
  const issuer = text(dataset, TAG.IssuerOfPatientID);
  const system = universal ?? (issuer ? issuerTextToSystem(issuer) : defaultSystem);
  const typeCode = qualifiers ? text(qualifiers, TAG.IdentifierTypeCode) : undefined;
  return { system, value, ...(typeCode && /^[A-Z0-9-]{1,10}$/i.test(typeCode) ? { typeCode } : {}) };
}

/**
 * The longest system a patient may be named under. The longest the rule above makes of a valid
 * IssuerOfPatientID (LO, 64 characters) is a local name of 64 four-byte characters, percent-encoded:
 * `LOCAL_ISSUER_SYSTEM_BASE` + 64 × 12 = 814 characters. One identifier of either limit still fits,
 * alone, in one search's query string (HAPI on Tomcat refuses one much past 8 KB with a 400).
 */
export const PATIENT_SYSTEM_MAX_LENGTH = 1024;

/** The longest value (PatientID is a LO, 64 characters; the desk took up to 200 before). */
export const PATIENT_VALUE_MAX_LENGTH = 200;

const CONTROL_OR_INVISIBLE = /[\p{Cc}\p{Cf}]/u;

/**
 * What is wrong with a system as a patient may be named under, or undefined when nothing is: a URI
 * without spaces, "|", control or invisible characters, of at most `PATIENT_SYSTEM_MAX_LENGTH`.
 */
export function patientSystemProblem(system: string): string | undefined {
  if (system.length === 0) return 'must not be empty';
  if (/\s/.test(system)) return 'a system is a URI without spaces';
  if (system.includes('|')) return 'a system must not contain "|"';
  if (CONTROL_OR_INVISIBLE.test(system)) return 'has no control or invisible character';
  if (system.length > PATIENT_SYSTEM_MAX_LENGTH) return `has at most ${PATIENT_SYSTEM_MAX_LENGTH} characters`;
  return undefined;
}

/**
 * What is wrong with a value as a patient may be named under, or undefined when nothing is. A value
 * with a space at either end, or a control or invisible character, is refused, never trimmed nor
 * cleaned (an identifier is never rewritten): the FHIR server trims a token it searches, so `"V "`
 * would find V's records under a key no study has; and DICOM allows no control character in a LO.
 */
export function patientValueProblem(value: string): string | undefined {
  if (value.length === 0) return 'must not be empty';
  if (value.length > PATIENT_VALUE_MAX_LENGTH) return `has at most ${PATIENT_VALUE_MAX_LENGTH} characters`;
  if (value.trim() !== value) return 'has no space at either end';
  if (CONTROL_OR_INVISIBLE.test(value)) return 'has no control or invisible character';
  return undefined;
}

/**
 * The one rule for which identities a patient may be named under on this node: the mapper indexes
 * a study only under such an identity (else it dead-letters the study with this reason) and the
 * consent desk records decisions only under one, so every patient the index holds can be decided
 * on. The reason names the part and the rule, never the identifier.
 */
export function patientIdentityProblem(identity: Pick<PatientIdentity, 'system' | 'value'>): string | undefined {
  const system = patientSystemProblem(identity.system);
  if (system) return `patient identifier system: ${system}`;
  const value = patientValueProblem(identity.value);
  return value ? `PatientID: ${value}` : undefined;
}
