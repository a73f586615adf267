import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pseudonym, pseudonymKey } from '@imaging-facade/consent';
import { ConfigError, loadConfig } from '@imaging-facade/service-kit';
import { DEFAULT_NODE_UID } from '@imaging-facade/events';
import { configSchema, DEFAULT_PATIENT_ID_SYSTEM, loadMapperConfig, nodeSettings } from './config';

describe('the mapper configuration', () => {
  it('has a working default for every setting', () => {
    expect(loadConfig(configSchema, {})).toMatchObject({
      FHIR_BASE_URL: 'http://localhost:8080/fhir',
      FHIR_TIMEOUT_MS: 30_000,
      KAFKA_BROKERS: ['localhost:9092'],
      KAFKA_TOPIC_PREFIX: '',
      MAPPER_GROUP_ID: 'imaging-mapper',
      MAPPER_HTTP_PORT: 8011,
      FACADE_PATIENT_ID_SYSTEM: DEFAULT_PATIENT_ID_SYSTEM,
      FACADE_CONSENT_POLICY: 'opt-out',
      FACADE_DICOMWEB_BASE_URL: 'http://localhost:8002/dicomweb',
      FACADE_NODE_UID: DEFAULT_NODE_UID,
      FACADE_NODE_NAME: 'Imaging Facade DICOMweb',
      FACADE_ORGANIZATION_NAME: 'Imaging Facade',
      FACADE_ORGANIZATION_ID_SYSTEM: 'urn:ietf:rfc:3986',
      FACADE_NATIONAL_PROFILE: 'none',
      LOG_LEVEL: 'info',
    });
  });

  it('gives the node settings of the Endpoint and the manifests', () => {
    const config = loadConfig(configSchema, {
      FACADE_DICOMWEB_BASE_URL: 'https://pacs.example/dicom-web/',
      FACADE_NODE_UID: '1.2.250.1.999.1',
      FACADE_ORGANIZATION_NAME: 'Centre d’imagerie',
      FACADE_ORGANIZATION_ID_SYSTEM: 'urn:oid:1.2.250.1.71.4.2.2',
      FACADE_ORGANIZATION_ID: '1750000000',
      FACADE_NATIONAL_PROFILE: 'fr',
    });
    expect(nodeSettings(config)).toMatchObject({
      dicomWebBaseUrl: 'https://pacs.example/dicom-web',
      nodeUid: '1.2.250.1.999.1',
      nodeName: 'Imaging Facade DICOMweb',
      organization: { name: 'Centre d’imagerie', system: 'urn:oid:1.2.250.1.71.4.2.2', value: '1750000000' },
      nationalProfile: 'fr',
    });
  });

  it('names the node by its UID when no organization identifier is set', () => {
    expect(nodeSettings(loadConfig(configSchema, {})).organization.value).toBe(`urn:oid:${DEFAULT_NODE_UID}`);
  });

  it('refuses a setting the node-wide schema replaced, instead of silently using the default', () => {
    expect(() => loadConfig(configSchema, { MAPPER_NODE_UID: '1.2.3' })).toThrow('set FACADE_NODE_UID');
  });

  it('reads every setting from the environment', () => {
    const config = loadConfig(configSchema, {
      FHIR_BASE_URL: 'https://fhir.example/r4/',
      FHIR_TIMEOUT_MS: '5000',
      KAFKA_BROKERS: 'a:9092, b:9092',
      KAFKA_TOPIC_PREFIX: 'test-1.',
      MAPPER_GROUP_ID: 'mapper-test',
      MAPPER_HTTP_PORT: '0',
      FACADE_PATIENT_ID_SYSTEM: 'urn:oid:1.2.840.99999.1',
      FACADE_CONSENT_POLICY: 'opt-in',
      LOG_LEVEL: 'debug',
    });
    expect(config).toMatchObject({
      FHIR_BASE_URL: 'https://fhir.example/r4',
      FHIR_TIMEOUT_MS: 5000,
      KAFKA_BROKERS: ['a:9092', 'b:9092'],
      KAFKA_TOPIC_PREFIX: 'test-1.',
      MAPPER_HTTP_PORT: 0,
      FACADE_PATIENT_ID_SYSTEM: 'urn:oid:1.2.840.99999.1',
      FACADE_CONSENT_POLICY: 'opt-in',
    });
  });

  it.each([
    ['FHIR_BASE_URL', 'not a url'],
    ['MAPPER_HTTP_PORT', '70000'],
    ['FACADE_PATIENT_ID_SYSTEM', 'HOSPITAL_A'],
    ['MAPPER_GROUP_ID', ''],
    ['LOG_LEVEL', 'loud'],
    ['FACADE_DICOMWEB_BASE_URL', 'dicomweb'],
    ['FACADE_NODE_UID', 'node-a'],
    ['FACADE_ORGANIZATION_ID_SYSTEM', 'FINESS'],
    ['FACADE_NATIONAL_PROFILE', 'de'],
    ['FACADE_CONSENT_POLICY', 'opt-maybe'],
  ])('refuses a bad %s, naming it', (name, value) => {
    expect(() => loadConfig(configSchema, { [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig(configSchema, { [name]: value })).toThrow(name);
  });

  describe('the key of the patient pseudonyms in its logs (FACADE_LOG_PSEUDONYM_KEY)', () => {
    const PATIENT = 'urn:oid:1.2.250.1.999.1|00734129';
    let dataDir: string;
    beforeEach(() => {
      dataDir = mkdtempSync(path.join(tmpdir(), 'facade-mapper-config-'));
    });
    afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

    it('is the one set', () => {
      const key = Buffer.alloc(32, 7);
      const config = loadMapperConfig({ FACADE_LOG_PSEUDONYM_KEY: key.toString('base64'), FACADE_DATA_DIR: dataDir });
      expect(pseudonym(PATIENT, config.logPseudonymKey)).toBe(pseudonym(PATIENT, pseudonymKey(key)));
    });

    it('is, when unset in development, the key kept in the data directory: the same at every start', () => {
      const first = loadMapperConfig({ FACADE_DATA_DIR: dataDir });
      const second = loadMapperConfig({ FACADE_DATA_DIR: dataDir });
      expect(pseudonym(PATIENT, second.logPseudonymKey)).toBe(pseudonym(PATIENT, first.logPseudonymKey));
    });

    it.each([
      ['missing', {}],
      ['too short', { FACADE_LOG_PSEUDONYM_KEY: 'ab'.repeat(16) }],
    ])('when %s, refuses a production start, naming it', (_situation, environment) => {
      expect(() => loadMapperConfig({ FACADE_ENV: 'production', FACADE_DATA_DIR: dataDir, ...environment })).toThrow(ConfigError);
      expect(() => loadMapperConfig({ FACADE_ENV: 'production', FACADE_DATA_DIR: dataDir, ...environment })).toThrow(/FACADE_LOG_PSEUDONYM_KEY: .*at least 32 random bytes/);
    });
  });
});
