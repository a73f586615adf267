import path from 'node:path';
import { DEFAULT_NODE_UID } from '@imaging-facade/events';
import { ConfigError } from '@imaging-facade/service-kit';
import { loadIngestConfig } from './config';

describe('loadIngestConfig', () => {
  it('has a default for every setting', () => {
    const config = loadIngestConfig({});

    expect(config).toEqual({
      dicom: {
        port: 11112,
        aeTitle: 'FACADE',
        maxPduLength: 262_144,
        maxAssociateRqLength: 65_536,
        timeouts: { artimMs: 30_000, idleMs: 120_000 },
        associationLimits: { total: 50, perHost: undefined },
        allowedCallers: undefined,
        tls: undefined,
        shutdownGraceMs: 10_000,
      },
      httpPort: 8010,
      httpBind: '127.0.0.1',
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

  it('reads the TLS port with its certificate, key and optional CA; an empty port means none', () => {
    const files = { DICOM_TLS_CERT_FILE: '/etc/facade/node.pem', DICOM_TLS_KEY_FILE: '/etc/facade/node.key' };

    expect(loadIngestConfig({ DICOM_TLS_PORT: '2762', ...files, DICOM_TLS_CA_FILE: '/etc/facade/ca.pem' }).dicom.tls).toEqual({
      port: 2762,
      certFile: '/etc/facade/node.pem',
      keyFile: '/etc/facade/node.key',
      caFile: '/etc/facade/ca.pem',
    });
    expect(loadIngestConfig({ DICOM_TLS_PORT: '', ...files }).dicom.tls).toBeUndefined();
  });

  it('reads the limits of the DICOM door and its allow-list', () => {
    const config = loadIngestConfig({
      DICOM_MAX_ASSOCIATE_RQ_LENGTH: '16384',
      DICOM_ARTIM_TIMEOUT_MS: '5000',
      DICOM_IDLE_TIMEOUT_MS: '60000',
      DICOM_MAX_ASSOCIATIONS: '8',
      DICOM_MAX_ASSOCIATIONS_PER_HOST: '4',
      DICOM_ALLOWED_CALLING_AE_TITLES: 'CT1@10.0.0.5,CT2',
    });

    expect(config.dicom).toMatchObject({
      maxAssociateRqLength: 16_384,
      timeouts: { artimMs: 5000, idleMs: 60_000 },
      associationLimits: { total: 8, perHost: 4 },
      allowedCallers: [
        { aeTitle: 'CT1', hosts: ['10.0.0.5'] },
        { aeTitle: 'CT2', hosts: [] },
      ],
    });
  });

  it.each([
    { situation: 'an AE title longer than 16 characters', env: { DICOM_AE_TITLE: 'A_VERY_LONG_AE_TITLE' } },
    { situation: 'an AE title with a backslash', env: { DICOM_AE_TITLE: 'A\\B' } },
    { situation: 'a port out of range', env: { DICOM_PORT: '70000' } },
    { situation: 'a PDU too small for DICOM', env: { DICOM_MAX_PDU_LENGTH: '100' } },
    { situation: 'no association allowed at all', env: { DICOM_MAX_ASSOCIATIONS: '0' } },
    { situation: 'an ARTIM of zero', env: { DICOM_ARTIM_TIMEOUT_MS: '0' } },
    { situation: 'a TLS port without its key', env: { DICOM_TLS_PORT: '2762', DICOM_TLS_CERT_FILE: '/etc/facade/node.pem' } },
    { situation: 'an allow-list entry bound to a host name', env: { DICOM_ALLOWED_CALLING_AE_TITLES: 'CT1@ct1.example' } },
    { situation: 'a Retrieve Location UID that is not a UID', env: { FACADE_NODE_UID: 'node-a' } },
    { situation: 'a DICOMweb base that is not an http(s) URL', env: { FACADE_DICOMWEB_BASE_URL: 'ftp://node-a/dicomweb' } },
  ])('fails fast on $situation', ({ env }) => {
    expect(() => loadIngestConfig(env)).toThrow(ConfigError);
  });
});
