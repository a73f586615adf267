import { auditOutcome, BALP, buildAuditEvent, withoutReferences, type AuditInput } from './audit-event';

const base: AuditInput = {
  interaction: 'search-type',
  recorded: new Date('2024-01-05T10:15:00Z'),
  status: 200,
  principal: { issuer: 'https://idp.example.org', subject: 'dr-who', clientId: 'ehr-app', tokenId: 'jti-1' },
  clientAddress: '10.1.2.3',
  gatewayBaseUrl: 'https://fhir.example.org/r4',
  query: 'GET https://fhir.example.org/r4/ImagingStudy?status=available',
  cleanedQuery: 'ImagingStudy?status=available',
  patients: ['p1', 'p2', 'p1'],
  requestId: 'req-1',
};

const coding = (concept: { coding?: Array<{ system?: string; code?: string }> } | undefined) => concept?.coding?.map((c) => `${c.system}#${c.code}`) ?? [];

describe('buildAuditEvent (IHE BALP)', () => {
  test('a search with patients follows PatientQuery: type rest, subtype search-type, action E, outcome 0', () => {
    const event = buildAuditEvent(base);
    expect(event.meta?.profile).toEqual([`${BALP}.PatientQuery`]);
    expect(event.type).toMatchObject({ system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest' });
    expect(event.subtype).toEqual([expect.objectContaining({ system: 'http://hl7.org/fhir/restful-interaction', code: 'search-type' })]);
    expect(event.action).toBe('E');
    expect(event.outcome).toBe('0');
    expect(event.recorded).toBe('2024-01-05T10:15:00.000Z');
  });

  test('agents: the app as client (Source Role ID) with its address, the gateway as server, the user as requestor', () => {
    const [client, server, user] = buildAuditEvent(base).agent ?? [];
    expect(coding(client?.type)).toContain('http://dicom.nema.org/resources/ontology/DCM#110153');
    expect(client?.who?.identifier).toEqual({ system: 'https://idp.example.org', value: 'ehr-app' });
    expect(client?.network).toEqual({ address: '10.1.2.3', type: '2' });
    expect(client?.requestor).toBe(false);
    expect(client?.policy).toEqual(['jti-1']);
    expect(client?.name).toBe('ehr-app');
    expect(coding(server?.type)).toEqual(['http://dicom.nema.org/resources/ontology/DCM#110152']);
    expect(server?.network?.address).toBe('fhir.example.org');
    expect(coding(user?.type)).toEqual(['http://terminology.hl7.org/CodeSystem/v3-ParticipationType#IRCP']);
    expect(user?.who?.identifier?.value).toBe('dr-who');
    expect(user?.name).toBe('dr-who');
    expect(user?.requestor).toBe(true);
  });

  test('a back-end service (sub is the client) is the requestor itself, with no user agent', () => {
    const agents = buildAuditEvent({ ...base, principal: { issuer: 'i', subject: 'svc', clientId: 'svc' } }).agent ?? [];
    expect(agents).toHaveLength(2);
    expect(agents[0]?.requestor).toBe(true);
  });

  test('entities: the query base64-encoded, the cleaned query readable, one per patient, the request id', () => {
    const entities = buildAuditEvent(base).entity ?? [];
    const query = entities.find((entity) => entity.role?.code === '24');
    expect(Buffer.from(query?.query ?? '', 'base64').toString('utf8')).toBe(base.query);
    expect(query?.description).toBe('ImagingStudy?status=available');
    expect(query?.type).toMatchObject({ system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '2' });
    const patients = entities.filter((entity) => entity.role?.code === '1');
    expect(patients.map((entity) => entity.what?.reference)).toEqual(['Patient/p1', 'Patient/p2']);
    expect(patients[0]?.type?.code).toBe('1');
    expect(entities.find((entity) => entity.type?.code === 'XrequestId')?.what?.identifier?.value).toBe('req-1');
  });

  test.each([
    ['read of a study', { interaction: 'read', resource: 'ImagingStudy/s1', query: undefined, patients: ['p1'] }, 'R', 'PatientRead'],
    ['search without patients', { patients: [] }, 'E', 'Query'],
    ['subscription created', { interaction: 'create', resource: 'Subscription/1', patients: [] }, 'C', 'Create'],
    ['subscription deleted', { interaction: 'delete', resource: 'Subscription/1', patients: [] }, 'D', 'Delete'],
  ] as const)('%s: action %s, profile %s', (_situation, overrides, action, profile) => {
    const event = buildAuditEvent({ ...base, ...overrides });
    expect(event.action).toBe(action);
    expect(event.meta?.profile).toEqual([`${BALP}.${profile}`]);
  });

  test('a read names the resource read as a domain resource entity, by identifier and name, never by reference (it may be deleted)', () => {
    const entities = buildAuditEvent({ ...base, interaction: 'read', resource: 'ImagingStudy/s1', query: undefined }).entity ?? [];
    const data = entities.find((entity) => entity.role?.code === '4');
    expect(data?.what).toEqual({ type: 'ImagingStudy', identifier: { system: 'urn:ietf:rfc:3986', value: 'https://fhir.example.org/r4/ImagingStudy/s1' }, display: 'ImagingStudy/s1' });
    expect(data?.name).toBe('ImagingStudy/s1');
    expect(entities.filter((entity) => entity.what?.reference).map((entity) => entity.what?.reference)).toEqual(['Patient/p1', 'Patient/p2']);
  });

  test.each([
    ['read and returned: named once, as the patient', 200, ['p1'], ['Patient/p1'], []],
    ['refused (403) or not found (404): named as what was asked for', 404, [], [], ['Patient/p9']],
  ] as const)('a read of a Patient %s', (_situation, status, patients, referenced, named) => {
    const entities = buildAuditEvent({ ...base, interaction: 'read', status, resource: patients.length ? 'Patient/p1' : 'Patient/p9', query: undefined, patients: [...patients] }).entity ?? [];
    expect(entities.filter((entity) => entity.what?.reference).map((entity) => entity.what?.reference)).toEqual(referenced);
    expect(entities.filter((entity) => entity.role?.code === '4').map((entity) => entity.name)).toEqual(named);
  });

  test.each([
    [200, '0'],
    [201, '0'],
    [401, '4'],
    [403, '4'],
    [404, '4'],
    [502, '8'],
  ])('HTTP %s is outcome %s', (status, outcome) => {
    expect(auditOutcome(status)).toBe(outcome);
  });

  test('a failure without a token records an unauthenticated client and why', () => {
    const event = buildAuditEvent({ ...base, status: 401, principal: undefined, description: 'A bearer token is required', patients: [] });
    expect(event.outcome).toBe('4');
    expect(event.outcomeDesc).toBe('A bearer token is required');
    expect(event.agent?.[0]?.who?.display).toBe('unauthenticated client');
    expect(event.agent?.[0]?.requestor).toBe(true);
  });

  test('withoutReferences keeps what was named, as identifiers', () => {
    const event = withoutReferences(buildAuditEvent(base));
    expect(JSON.stringify(event.entity)).not.toContain('"reference"');
    expect(event.entity?.some((entity) => entity.what?.identifier?.value === 'Patient/p1')).toBe(true);
  });
});
