import type { DicomDataset } from './dicom-dataset';

/**
 * Issuers of identifiers (IssuerOfPatientID, the HL7v2 Hierarchic Designator Macro of PS3.3 10.14:
 * Local Namespace Entity ID, Universal Entity ID and its type) → FHIR `Identifier.system`.
 */

const OID = /^[0-2](\.(0|[1-9]\d*))+$/;
const URI = /^(https?:\/\/\S+|urn:[a-z0-9][a-z0-9-]{0,31}:\S+)$/i;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An issuer given as text: an OID as `urn:oid:`, a URI as is, any other name `<localBase><name, percent-encoded>`. */
export function issuerTextToSystem(issuer: string, localBase: string): string {
  if (OID.test(issuer)) {
    return `urn:oid:${issuer}`;
  }
  if (URI.test(issuer)) {
    return issuer;
  }
  return `${localBase}${encodeURIComponent(issuer)}`;
}

/**
 * A Universal Entity ID → a system, by its type: ISO (an OID) → `urn:oid:`, URI → as is, UUID →
 * `urn:uuid:` (lower case). Other types (DNS, EUI64, X400, X500…) or a malformed ID → undefined.
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

/** An item of the HL7v2 Hierarchic Designator Macro: the system its Universal Entity ID gives, and its local name. */
export function hierarchicDesignator(item: DicomDataset | undefined): { system?: string; localName?: string } {
  if (!item) {
    return {};
  }
  const system = universalEntitySystem(item.text('UniversalEntityID'), item.text('UniversalEntityIDType'));
  const localName = item.text('LocalNamespaceEntityID');
  return { ...(system ? { system } : {}), ...(localName ? { localName } : {}) };
}
