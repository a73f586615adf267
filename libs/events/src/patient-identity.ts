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
