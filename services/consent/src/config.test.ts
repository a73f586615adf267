import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pseudonym, pseudonymKey } from '@imaging-facade/consent';
import { ConfigError } from '@imaging-facade/service-kit';
import { loadConsentConfig } from './config';

describe('loadConsentConfig', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'facade-desk-config-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  test('the local defaults', () => {
    expect(loadConsentConfig({ FACADE_DATA_DIR: dataDir })).toMatchObject({
      httpPort: 8001,
      fhir: { baseUrl: 'http://localhost:8080/fhir' },
      kafka: { brokers: ['localhost:9092'], topicPrefix: '' },
      policy: 'opt-out',
      consent: { policyUri: 'urn:imaging-facade:consent-policy:opt-out', organization: { name: 'Imaging Facade', identifier: undefined } },
      defaultPatientIdSystem: 'https://imagingfacade.org/fhir/sid/patient-id',
      environment: 'development',
      reconcile: { intervalMs: 30_000, marginMs: 300_000 },
    });
  });

  test('the periodic reconciliation with FHIR: its interval and margin', () => {
    expect(loadConsentConfig({ FACADE_DATA_DIR: dataDir, CONSENT_RECONCILE_INTERVAL_MS: '5000', CONSENT_RECONCILE_MARGIN_MS: '0' }).reconcile).toEqual({ intervalMs: 5_000, marginMs: 0 });
  });

  test('opt-in with its own policy document and an identified organization', () => {
    const config = loadConsentConfig({
      FACADE_DATA_DIR: dataDir,
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
    ['a log pseudonym key too short', { FACADE_LOG_PSEUDONYM_KEY: 'ab'.repeat(31) }, 'FACADE_LOG_PSEUDONYM_KEY'],
    ['production without a log pseudonym key', { FACADE_ENV: 'production' }, 'FACADE_LOG_PSEUDONYM_KEY'],
    ['a proxy trusted by hop count (anybody who connects could name their address)', { CONSENT_TRUST_PROXY: '1' }, 'CONSENT_TRUST_PROXY'],
    ['every proxy trusted', { CONSENT_TRUST_PROXY: 'TRUE' }, 'CONSENT_TRUST_PROXY'],
    ['a misspelt proxy', { CONSENT_TRUST_PROXY: 'loopbak' }, 'CONSENT_TRUST_PROXY'],
    ['no periodic reconciliation (a refusal a dead desk stored would stay unenforced)', { CONSENT_RECONCILE_INTERVAL_MS: '0' }, 'CONSENT_RECONCILE_INTERVAL_MS'],
    ['a negative reconciliation margin', { CONSENT_RECONCILE_MARGIN_MS: '-1' }, 'CONSENT_RECONCILE_MARGIN_MS'],
  ])('fails fast on %s, naming the variable', (_situation, environment, variable) => {
    expect(() => loadConsentConfig(environment)).toThrow(ConfigError);
    expect(() => loadConsentConfig(environment)).toThrow(new RegExp(`${variable}:`));
  });

  test('a trusted proxy by name, address or subnet', () => {
    expect(loadConsentConfig({ CONSENT_TRUST_PROXY: 'loopback, 10.0.0.0/8, 192.0.2.7', FACADE_DATA_DIR: dataDir }).trustProxy).toBe('loopback, 10.0.0.0/8, 192.0.2.7');
  });

  test('the key of the patient pseudonyms in the logs is the one set, else, outside production, the one kept in the data directory', () => {
    const key = Buffer.alloc(32, 9);
    const patient = 'urn:oid:1.2.250.1.999.1|00734129';
    const set = loadConsentConfig({ FACADE_LOG_PSEUDONYM_KEY: key.toString('hex'), FACADE_DATA_DIR: dataDir });
    expect(pseudonym(patient, set.logPseudonymKey)).toBe(pseudonym(patient, pseudonymKey(key)));
    const kept = pseudonym(patient, loadConsentConfig({ FACADE_DATA_DIR: dataDir }).logPseudonymKey);
    expect(pseudonym(patient, loadConsentConfig({ FACADE_DATA_DIR: dataDir }).logPseudonymKey)).toBe(kept);
    expect(kept).not.toBe(pseudonym(patient, set.logPseudonymKey));
  });
});
