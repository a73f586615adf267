import type { AuditEvent, AuditEventAgent, AuditEventEntity, Coding } from '@medplum/fhirtypes';
import { dicomUidIdentifier } from '@imaging-facade/fhir';

/**
 * AuditEvents after IHE Basic Audit Log Patterns (BALP): Read / PatientRead for a read, Query /
 * PatientQuery for a search, Create / Delete for Subscriptions; agents as in BALP's OAuth access
 * token pattern (the app as client, the user as information recipient). One event per request,
 * with one patient entity per patient whose data was returned (a reference: `AuditEvent?patient=`
 * finds it). Pure functions.
 */

export type AuditedInteraction = 'read' | 'search-type' | 'search-system' | 'create' | 'update' | 'delete';

export interface AuditedPrincipal {
  issuer: string;
  subject?: string | undefined;
  clientId?: string | undefined;
  /** The JWT id, when the token has one: lets an auditor find every use of one token. */
  tokenId?: string | undefined;
}

export interface AuditInput {
  interaction: AuditedInteraction;
  recorded: Date;
  /** The HTTP status answered, and for failures a description (no patient data in it). */
  status: number;
  description?: string | undefined;
  /** Undefined when no valid token was presented. */
  principal: AuditedPrincipal | undefined;
  /** The client's network address, as seen by the gateway. */
  clientAddress: string;
  /** The gateway's public FHIR base: the server agent and the observer. */
  gatewayBaseUrl: string;
  /** For searches: the request as the client sent it (method, URL); recorded base64-encoded. */
  query?: string | undefined;
  /** For searches: what was asked of the FHIR server once restricted by the gateway. */
  cleanedQuery?: string | undefined;
  /** For reads, creates and deletes: `Type/id`. */
  resource?: string | undefined;
  /** Ids of the patients whose data was returned (or touched). */
  patients: readonly string[];
  /**
   * For a face that knows patients and studies by their identifiers, not as FHIR resources (DICOMweb):
   * the patients, by identifier, and the studies, by StudyInstanceUID, whose data was returned.
   */
  patientIdentifiers?: ReadonlyArray<{ system: string; value: string }> | undefined;
  studies?: readonly string[] | undefined;
  /** How the audit trail names the server that answered (default: the FHIR gateway). */
  serverDisplay?: string | undefined;
  /** X-Request-Id of the request (also on the gateway's log lines). */
  requestId: string;
}

export const BALP = 'https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit';
const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';
const NETWORK_TYPE_MACHINE_NAME = '1' as const;
const NETWORK_TYPE_IP = '2' as const;
const GATEWAY_DISPLAY = 'Imaging Facade FHIR gateway';

const ACTION: Record<AuditedInteraction, AuditEvent['action']> = {
  read: 'R',
  'search-type': 'E',
  'search-system': 'E',
  create: 'C',
  update: 'U',
  delete: 'D',
};

const PROFILE: Record<AuditedInteraction, string> = {
  read: 'Read',
  'search-type': 'Query',
  'search-system': 'Query',
  create: 'Create',
  update: 'Update',
  delete: 'Delete',
};

/** BALP outcome: 0 success, 4 minor failure (the client's: 4xx), 8 serious failure (ours: 5xx). */
export function auditOutcome(status: number): AuditEvent['outcome'] {
  if (status < 400) {
    return '0';
  }
  return status < 500 ? '4' : '8';
}

type NetworkType = NonNullable<AuditEventAgent['network']>['type'];

function ipType(address: string): NetworkType {
  return /^[0-9.]+$|:/.test(address) ? NETWORK_TYPE_IP : NETWORK_TYPE_MACHINE_NAME;
}

function agents(input: AuditInput): AuditEventAgent[] {
  const principal = input.principal;
  const user = principal?.subject !== undefined && principal.subject !== principal.clientId ? principal.subject : undefined;
  const client: AuditEventAgent = {
    type: {
      coding: [
        { system: DCM, code: '110153', display: 'Source Role ID' },
        { system: DCM, code: '110150', display: 'Application' },
      ],
    },
    who: principal
      ? { identifier: { system: principal.issuer, value: principal.clientId ?? principal.subject ?? 'unknown' } }
      : { display: 'unauthenticated client' },
    // Also as name: the `agent-name` search parameter finds an app's accesses (`agent` only matches references).
    ...(principal ? { name: principal.clientId ?? principal.subject ?? 'unknown' } : {}),
    requestor: user === undefined,
    network: { address: input.clientAddress, type: ipType(input.clientAddress) },
  };
  if (principal?.tokenId) {
    client.policy = [principal.tokenId];
  }
  const server: AuditEventAgent = {
    type: { coding: [{ system: DCM, code: '110152', display: 'Destination Role ID' }] },
    who: { identifier: { value: input.gatewayBaseUrl }, display: input.serverDisplay ?? GATEWAY_DISPLAY },
    requestor: false,
    network: { address: new URL(input.gatewayBaseUrl).hostname, type: NETWORK_TYPE_MACHINE_NAME },
  };
  const list = [client, server];
  if (user !== undefined && principal) {
    list.push({
      type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP', display: 'information recipient' }] },
      who: { identifier: { system: principal.issuer, value: user } },
      name: user,
      requestor: true,
    });
  }
  return list;
}

function entities(input: AuditInput): AuditEventEntity[] {
  const list: AuditEventEntity[] = [
    {
      type: { system: 'https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType', code: 'XrequestId', display: 'X-Request-Id' },
      what: { identifier: { value: input.requestId } },
    },
  ];
  if (input.query !== undefined) {
    const query: AuditEventEntity = {
      type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
      role: { system: OBJECT_ROLE, code: '24', display: 'Query' },
      query: Buffer.from(input.query, 'utf8').toString('base64'),
    };
    if (input.cleanedQuery !== undefined) {
      query.description = input.cleanedQuery;
    }
    list.push(query);
  }
  // A Patient returned is named below, as the patient entity; one asked for and not returned (a
  // 403, a 404) here, so that the trail shows attempts on a patient's record too.
  if (input.resource !== undefined && !(input.resource.startsWith('Patient/') && input.patients.includes(input.resource.slice('Patient/'.length)))) {
    // Named, not referenced: a reference would make the FHIR server refuse to delete the resource
    // (referential integrity), and the mapper deletes studies a patient withdraws.
    list.push({
      type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
      role: { system: OBJECT_ROLE, code: '4', display: 'Domain Resource' },
      what: {
        type: input.resource.split('/')[0] as NonNullable<AuditEventEntity['what']>['type'],
        identifier: { system: 'urn:ietf:rfc:3986', value: `${input.gatewayBaseUrl}/${input.resource}` },
        display: input.resource,
      },
      name: input.resource,
    });
  }
  for (const patient of new Set(input.patients)) {
    list.push({
      type: { system: ENTITY_TYPE, code: '1', display: 'Person' },
      role: { system: OBJECT_ROLE, code: '1', display: 'Patient' },
      what: { reference: `Patient/${patient}` },
    });
  }
  for (const identifier of input.patientIdentifiers ?? []) {
    list.push({
      type: { system: ENTITY_TYPE, code: '1', display: 'Person' },
      role: { system: OBJECT_ROLE, code: '1', display: 'Patient' },
      what: { type: 'Patient', identifier: { system: identifier.system, value: identifier.value } },
    });
  }
  for (const study of new Set(input.studies ?? [])) {
    list.push({
      type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
      role: { system: OBJECT_ROLE, code: '4', display: 'Domain Resource' },
      what: { type: 'ImagingStudy', identifier: dicomUidIdentifier(study) },
      name: study,
    });
  }
  return list;
}

export function buildAuditEvent(input: AuditInput): AuditEvent {
  const patientSpecific = input.patients.length > 0 || (input.patientIdentifiers?.length ?? 0) > 0;
  const subtype: Coding = { system: 'http://hl7.org/fhir/restful-interaction', code: input.interaction, display: input.interaction };
  const event: AuditEvent = {
    resourceType: 'AuditEvent',
    meta: { profile: [`${BALP}.${patientSpecific ? 'Patient' : ''}${PROFILE[input.interaction]}`] },
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest', display: 'Restful Operation' },
    subtype: [subtype],
    action: ACTION[input.interaction],
    recorded: input.recorded.toISOString(),
    outcome: auditOutcome(input.status),
    agent: agents(input),
    source: {
      observer: { identifier: { value: input.gatewayBaseUrl }, display: input.serverDisplay ?? GATEWAY_DISPLAY },
      type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4', display: 'Application Server' }],
    },
    entity: entities(input),
  };
  if (event.outcome !== '0') {
    event.outcomeDesc = input.description ?? `HTTP ${input.status}`;
  }
  return event;
}

/**
 * The same event with its references turned into identifiers: for the rare event the FHIR server
 * refuses because a resource it names was deleted in the meantime (a withdrawn study).
 */
export function withoutReferences(event: AuditEvent): AuditEvent {
  return {
    ...event,
    entity: event.entity?.map((entity) =>
      entity.what?.reference ? { ...entity, what: { identifier: { value: entity.what.reference }, display: entity.what.reference } } : entity,
    ),
  };
}
