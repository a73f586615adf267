import { universalEntitySystem } from '@imaging-facade/events';
import type { DicomDataset } from './mapped-attributes';

/**
 * Issuers of identifiers (IssuerOfPatientID, the HL7v2 Hierarchic Designator Macro of PS3.3 10.14:
 * Local Namespace Entity ID, Universal Entity ID and its type) → FHIR `Identifier.system`.
 */

export { issuerTextToSystem, universalEntitySystem } from '@imaging-facade/events';

/** An item of the HL7v2 Hierarchic Designator Macro: the system its Universal Entity ID gives, and its local name. */
export function hierarchicDesignator(item: DicomDataset | undefined): { system?: string; localName?: string } {
  if (!item) {
    return {};
  }
  const system = universalEntitySystem(item.text('UniversalEntityID'), item.text('UniversalEntityIDType'));
  const localName = item.text('LocalNamespaceEntityID');
  return { ...(system ? { system } : {}), ...(localName ? { localName } : {}) };
}
