import { ConfigError } from '@imaging-facade/service-kit';
import { loadConsentConfig } from './config';

describe('loadConsentConfig', () => {
  test('the local defaults', () => {
    expect(loadConsentConfig({})).toMatchObject({
      httpPort: 8001,
      fhir: { baseUrl: 'http://localhost:8080/fhir' },
      kafka: { brokers: ['localhost:9092'], topicPrefix: '' },
      policy: 'opt-out',
      consent: { policyUri: 'urn:imaging-facade:consent-policy:opt-out', organization: { name: 'Imaging Facade', identifier: undefined } },
      defaultPatientIdSystem: 'https://imagingfacade.org/fhir/sid/patient-id',
      environment: 'development',
    });
  });

  test('opt-in with its own policy document and an identified organization', () => {
    const config = loadConsentConfig({
      FACADE_CONSENT_POLICY: 'opt-in',
      CONSENT_POLICY_URI: 'https://region.example.org/policies/imaging-sharing-v2',
      CONSENT_ORGANIZATION: 'CHU Exemple',
      CONSENT_ORGANIZATION_IDENTIFIER: 'urn:oid:1.2.250.1.71.4.2.2|330000001',
    });
    expect(config.policy).toBe('opt-in');
    expect(config.consent).toEqual({
      policyUri: 'https://region.example.org/policies/imaging-sharing-v2',
      organization: { name: 'CHU Exemple', identifier: { system: 'urn:oid:1.2.250.1.71.4.2.2', value: '330000001' } },
    });
  });

  test.each([
    ['an unknown policy', { FACADE_CONSENT_POLICY: 'maybe' }, 'FACADE_CONSENT_POLICY'],
    ['a policy URI that is not a URI', { CONSENT_POLICY_URI: 'our policy' }, 'CONSENT_POLICY_URI'],
    ['an organization identifier without system', { CONSENT_ORGANIZATION_IDENTIFIER: '330000001' }, 'CONSENT_ORGANIZATION_IDENTIFIER'],
    ['an unknown environment', { FACADE_ENV: 'staging' }, 'FACADE_ENV'],
    ['broken accounts', { CONSENT_DESK_ACCOUNTS: 'desk' }, 'CONSENT_DESK_ACCOUNTS'],
  ])('fails fast on %s, naming the variable', (_situation, environment, variable) => {
    expect(() => loadConsentConfig(environment)).toThrow(ConfigError);
    expect(() => loadConsentConfig(environment)).toThrow(new RegExp(`${variable}:`));
  });
});
