import type { CapabilityStatement } from '@medplum/fhirtypes';
import { gatewayCapabilityStatement, smartConfiguration } from './capability';

const upstream: CapabilityStatement = {
  resourceType: 'CapabilityStatement',
  status: 'active',
  date: '2024-01-01',
  kind: 'instance',
  fhirVersion: '4.0.1',
  format: ['json', 'xml'],
  implementation: { description: 'HAPI', url: 'http://localhost:8080/fhir' },
  rest: [
    {
      mode: 'server',
      interaction: [{ code: 'transaction' }],
      resource: [
        { type: 'ImagingStudy', interaction: [{ code: 'read' }, { code: 'create' }, { code: 'delete' }, { code: 'search-type' }], searchParam: [{ name: 'patient', type: 'reference' }] },
        { type: 'Practitioner', interaction: [{ code: 'read' }] },
        { type: 'Subscription', interaction: [{ code: 'read' }, { code: 'update' }] },
      ],
    },
  ],
};

describe('gatewayCapabilityStatement', () => {
  const discovery = { issuer: 'https://idp', jwks_uri: 'https://idp/jwks', token_endpoint: 'https://idp/token', authorization_endpoint: 'https://idp/auth' };
  const statement = gatewayCapabilityStatement(upstream, 'https://fhir.example.org/r4', discovery);

  test('names the gateway, never the FHIR server behind it', () => {
    expect(statement.implementation?.url).toBe('https://fhir.example.org/r4');
    expect(JSON.stringify(statement)).not.toContain('localhost:8080');
  });

  test('lists only what the gateway serves, with its interactions, keeping the search parameters', () => {
    const resources = statement.rest?.[0]?.resource ?? [];
    expect(resources.map((resource) => resource.type)).toEqual(['ImagingStudy', 'Subscription']);
    expect(resources[0]?.interaction?.map((i) => i.code)).toEqual(['read', 'search-type']);
    expect(resources[0]?.searchParam?.[0]?.name).toBe('patient');
    expect(resources[1]?.interaction?.map((i) => i.code)).toEqual(['read', 'create', 'delete', 'search-type']);
    expect(statement.rest?.[0]?.interaction).toBeUndefined();
  });

  test('declares that it instantiates the SMART Imaging Access server capability', () => {
    expect(statement.instantiates).toEqual(['http://fhir.org/argonaut/smart-imaging/CapabilityStatement/smart-imaging-server']);
  });

  test('declares SMART on FHIR security with the provider\'s endpoints', () => {
    const security = statement.rest?.[0]?.security;
    expect(security?.service?.[0]?.coding?.[0]?.code).toBe('SMART-on-FHIR');
    const uris = security?.extension?.[0]?.extension?.map((extension) => [extension.url, extension.valueUri]);
    expect(uris).toEqual([
      ['authorize', 'https://idp/auth'],
      ['token', 'https://idp/token'],
    ]);
  });

  test('smart-configuration carries the provider\'s endpoints and the gateway\'s capabilities', () => {
    const smart = smartConfiguration(discovery);
    expect(smart).toMatchObject({ issuer: 'https://idp', token_endpoint: 'https://idp/token', authorization_endpoint: 'https://idp/auth' });
    expect(smart.capabilities).toEqual(expect.arrayContaining(['permission-v2', 'permission-patient', 'launch-standalone', 'smart-imaging-access']));
  });
});
