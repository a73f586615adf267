import { DEFAULT_NODE_UID } from '@imaging-facade/events';

/**
 * What the mapper knows of the node whose studies it publishes, beyond the studies themselves:
 * where they are retrieved (its DICOMweb Endpoint), who publishes their manifests, and which
 * national extensions apply.
 */
export interface NodeSettings {
  /** The node's DICOMweb base URL: Endpoint.address; WADO-RS URLs are built on it. */
  dicomWebBaseUrl: string;
  /** The node's UID (the ingest's Retrieve Location UID): identifies its Endpoint. */
  nodeUid: string;
  /** Endpoint.name. */
  nodeName: string;
  /** Author and custodian of the manifests (DocumentReference.author / custodian). */
  organization: { name: string; system: string; value: string };
  /** `fr`: the French DMP / DRIMbox codes and INS are added to the manifests' DocumentReference. */
  nationalProfile: 'none' | 'fr';
}

export const DEFAULT_DICOMWEB_BASE_URL = 'http://localhost:8002/dicomweb';

export const DEFAULT_NODE_SETTINGS: NodeSettings = {
  dicomWebBaseUrl: DEFAULT_DICOMWEB_BASE_URL,
  nodeUid: DEFAULT_NODE_UID,
  nodeName: 'Imaging Facade DICOMweb',
  organization: { name: 'Imaging Facade', system: 'urn:ietf:rfc:3986', value: `urn:oid:${DEFAULT_NODE_UID}` },
  nationalProfile: 'none',
};
