import { ConfigError, loadConfig } from '@imaging-facade/service-kit';
import { configSchema, DEFAULT_PATIENT_ID_SYSTEM } from './config';

describe('the mapper configuration', () => {
  it('has a working default for every setting', () => {
    expect(loadConfig(configSchema, {})).toEqual({
      FHIR_BASE_URL: 'http://localhost:8080/fhir',
      FHIR_TIMEOUT_MS: 30_000,
      KAFKA_BROKERS: ['localhost:9092'],
      KAFKA_TOPIC_PREFIX: '',
      MAPPER_GROUP_ID: 'imaging-mapper',
      MAPPER_HTTP_PORT: 8011,
      MAPPER_DEFAULT_PATIENT_ID_SYSTEM: DEFAULT_PATIENT_ID_SYSTEM,
      LOG_LEVEL: 'info',
    });
  });

  it('reads every setting from the environment', () => {
    const config = loadConfig(configSchema, {
      FHIR_BASE_URL: 'https://fhir.example/r4/',
      FHIR_TIMEOUT_MS: '5000',
      KAFKA_BROKERS: 'a:9092, b:9092',
      KAFKA_TOPIC_PREFIX: 'test-1.',
      MAPPER_GROUP_ID: 'mapper-test',
      MAPPER_HTTP_PORT: '0',
      MAPPER_DEFAULT_PATIENT_ID_SYSTEM: 'urn:oid:1.2.840.99999.1',
      LOG_LEVEL: 'debug',
    });
    expect(config).toMatchObject({
      FHIR_BASE_URL: 'https://fhir.example/r4',
      FHIR_TIMEOUT_MS: 5000,
      KAFKA_BROKERS: ['a:9092', 'b:9092'],
      KAFKA_TOPIC_PREFIX: 'test-1.',
      MAPPER_HTTP_PORT: 0,
      MAPPER_DEFAULT_PATIENT_ID_SYSTEM: 'urn:oid:1.2.840.99999.1',
    });
  });

  it.each([
    ['FHIR_BASE_URL', 'not a url'],
    ['MAPPER_HTTP_PORT', '70000'],
    ['MAPPER_DEFAULT_PATIENT_ID_SYSTEM', 'HOSPITAL_A'],
    ['MAPPER_GROUP_ID', ''],
    ['LOG_LEVEL', 'loud'],
  ])('refuses a bad %s, naming it', (name, value) => {
    expect(() => loadConfig(configSchema, { [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig(configSchema, { [name]: value })).toThrow(name);
  });
});
