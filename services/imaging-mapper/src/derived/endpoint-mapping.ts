import type { Endpoint, Identifier } from '@medplum/fhirtypes';
import type { NodeSettings } from '../node-settings';

/**
 * The node's DICOMweb service as a FHIR Endpoint, which every ImagingStudy of the node references
 * (ImagingStudy.endpoint and ImagingStudy.series.endpoint, as the R4 ImagingStudy page describes:
 * a WADO-RS client appends /studies/{uid}[/series/{uid}] to its address). The payload type follows
 * the IHE RAD profiles' ImagingStudy Endpoint (DICOM (113014, DCM, "Study")) and IHE MADO's WADO
 * endpoint (endpoint-payload-type `none` with the text "DICOM WADO-RS").
 */

export const ENDPOINT_CONNECTION_TYPE = {
  system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type',
  code: 'dicom-wado-rs',
  display: 'DICOM WADO-RS',
} as const;

/**
 * Argonaut SMART Imaging Access: retrieving from this Endpoint takes the same access token that found
 * the study (the node's DICOMweb service checks it with the gateway's rule).
 */
export const REQUIRES_ACCESS_TOKEN = 'http://fhir.org/argonaut/smart-imaging/StructureDefinition/requires-access-token';

/** The node's identity: its UID (the ingest's Retrieve Location UID), as a URN. */
export function endpointIdentifier(settings: Pick<NodeSettings, 'nodeUid'>): Identifier {
  return { system: 'urn:ietf:rfc:3986', value: `urn:oid:${settings.nodeUid}` };
}

export function nodeEndpoint(settings: NodeSettings): Endpoint {
  return {
    resourceType: 'Endpoint',
    extension: [{ url: REQUIRES_ACCESS_TOKEN, valueBoolean: true }],
    identifier: [endpointIdentifier(settings)],
    status: 'active',
    connectionType: { ...ENDPOINT_CONNECTION_TYPE },
    name: settings.nodeName,
    payloadType: [
      {
        coding: [
          { system: 'http://dicom.nema.org/resources/ontology/DCM', code: '113014', display: 'Study' },
          { system: 'http://terminology.hl7.org/CodeSystem/endpoint-payload-type', code: 'none', display: 'None' },
        ],
        text: 'DICOM WADO-RS',
      },
    ],
    payloadMimeType: ['application/dicom'],
    address: settings.dicomWebBaseUrl,
  };
}

/** Rows for the README: Endpoint element → value. */
export const ENDPOINT_ROWS: ReadonlyArray<{ fhir: string; rule: string }> = [
  { fhir: 'Endpoint.identifier', rule: '`{system: urn:ietf:rfc:3986, value: urn:oid:<FACADE_NODE_UID>}`: the node; the Endpoint is written by conditional update on it' },
  { fhir: 'Endpoint.extension', rule: '`requires-access-token` = true (Argonaut SMART Imaging Access): present the token that found the study' },
  { fhir: 'Endpoint.status', rule: '`active`' },
  { fhir: 'Endpoint.connectionType', rule: '`http://terminology.hl7.org/CodeSystem/endpoint-connection-type#dicom-wado-rs`' },
  { fhir: 'Endpoint.name', rule: 'FACADE_NODE_NAME' },
  { fhir: 'Endpoint.payloadType', rule: '`DCM#113014 "Study"` (IHE RAD ImagingStudy Endpoint) and `endpoint-payload-type#none`, text "DICOM WADO-RS" (IHE MADO)' },
  { fhir: 'Endpoint.payloadMimeType', rule: '`application/dicom`' },
  { fhir: 'Endpoint.address', rule: 'FACADE_DICOMWEB_BASE_URL (WADO-RS base: `<address>/studies/<uid>/series/<uid>/instances/<uid>`)' },
  { fhir: 'ImagingStudy.endpoint, ImagingStudy.series.endpoint', rule: 'a reference to this Endpoint (a stored reference is kept)' },
];
