import path from 'node:path';
import { DEFAULT_NODE_UID } from '@imaging-facade/events';
import { ConfigError } from '@imaging-facade/service-kit';
import { loadIngestConfig } from './config';

describe('loadIngestConfig', () => {
  it('has a default for every setting', () => {
    const config = loadIngestConfig({});

    expect(config).toEqual({
      dicom: { port: 11112, aeTitle: 'FACADE', maxPduLength: 262_144, shutdownGraceMs: 10_000 },
      httpPort: 8010,
      kafka: { brokers: ['localhost:9092'], clientId: 'dicom-ingest', topicPrefix: '' },
      storageDir: path.resolve('.data/dicom'),
      study: { quietPeriodMs: 5000, publishRetryMaxMs: 60_000 },
      manifest: { retrieveLocationUid: DEFAULT_NODE_UID, dicomWebBaseUrl: 'http://localhost:8002/dicomweb' },
      logLevel: 'info',
    });
  });

  it.each([
    { situation: 'the data directory of the stack', env: { FACADE_DATA_DIR: '/srv/facade' }, expected: '/srv/facade/dicom' },
    { situation: 'its own setting, first', env: { FACADE_DATA_DIR: '/srv/facade', INGEST_STORAGE_DIR: '/mnt/dicom' }, expected: '/mnt/dicom' },
  ])('takes the storage directory from $situation', ({ env, expected }) => {
    expect(loadIngestConfig(env).storageDir).toBe(expected);
  });

  it('reads the environment', () => {
    const config = loadIngestConfig({
      DICOM_PORT: '104',
      DICOM_AE_TITLE: 'HOSPITAL_A',
      KAFKA_BROKERS: 'k1:9092, k2:9092',
      KAFKA_TOPIC_PREFIX: 'test-1.',
      STUDY_QUIET_PERIOD_MS: '250',
    });

    expect(config.dicom.port).toBe(104);
    expect(config.dicom.aeTitle).toBe('HOSPITAL_A');
    expect(config.kafka.brokers).toEqual(['k1:9092', 'k2:9092']);
    expect(config.kafka.topicPrefix).toBe('test-1.');
    expect(config.study.quietPeriodMs).toBe(250);
  });

  it.each([
    { situation: 'an AE title longer than 16 characters', env: { DICOM_AE_TITLE: 'A_VERY_LONG_AE_TITLE' } },
    { situation: 'an AE title with a backslash', env: { DICOM_AE_TITLE: 'A\\B' } },
    { situation: 'a port out of range', env: { DICOM_PORT: '70000' } },
    { situation: 'a PDU too small for DICOM', env: { DICOM_MAX_PDU_LENGTH: '100' } },
    { situation: 'a Retrieve Location UID that is not a UID', env: { INGEST_RETRIEVE_LOCATION_UID: 'node-a' } },
    { situation: 'a DICOMweb base that is not an http(s) URL', env: { INGEST_DICOMWEB_BASE_URL: 'ftp://node-a/dicomweb' } },
  ])('fails fast on $situation', ({ env }) => {
    expect(() => loadIngestConfig(env)).toThrow(ConfigError);
  });
});
