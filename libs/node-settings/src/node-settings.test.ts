import { ConfigError, loadConfig } from '@imaging-facade/service-kit';
import { DEFAULT_NODE_UID, DEFAULT_PATIENT_ID_SYSTEM } from '@imaging-facade/events';
import path from 'node:path';
import { nodeSettingsSchema } from './node-settings';

const KEY_HEX = '5f'.repeat(32);

describe('the node settings', () => {
  it('have a working default for each', () => {
    expect(loadConfig(nodeSettingsSchema, { TZ: 'UTC' })).toEqual({
      nodeUid: DEFAULT_NODE_UID,
      nodeName: 'Imaging Facade DICOMweb',
      dicomWebBaseUrl: 'http://localhost:8002/dicomweb',
      patientIdSystem: DEFAULT_PATIENT_ID_SYSTEM,
      consentPolicy: 'opt-out',
      gpRoleScope: 'gp',
      organization: { name: 'Imaging Facade', system: 'urn:ietf:rfc:3986', value: `urn:oid:${DEFAULT_NODE_UID}` },
      nationalProfile: 'none',
      timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone,
      environment: 'development',
      dataDir: path.resolve('./.data'),
    });
  });

  it('read each from its FACADE_* variable', () => {
    expect(
      loadConfig(nodeSettingsSchema, {
        FACADE_NODE_UID: '1.2.250.1.999.1',
        FACADE_NODE_NAME: 'CHU Nord',
        FACADE_DICOMWEB_BASE_URL: 'https://pacs.example/dicom-web/',
        FACADE_PATIENT_ID_SYSTEM: 'urn:oid:1.2.250.1.999.1.1',
        FACADE_ACCESSION_NUMBER_SYSTEM: 'urn:oid:1.2.250.1.999.1.2',
        FACADE_CONSENT_POLICY: 'opt-in',
        FACADE_GP_ROLE_SCOPE: 'role:general-practitioner',
        FACADE_ORGANIZATION_NAME: 'Centre d’imagerie',
        FACADE_ORGANIZATION_ID_SYSTEM: 'urn:oid:1.2.250.1.71.4.2.2',
        FACADE_ORGANIZATION_ID: '1750000000',
        FACADE_NATIONAL_PROFILE: 'fr',
        FACADE_TIME_ZONE: 'Europe/Paris',
        FACADE_ENV: 'production',
        FACADE_DATA_DIR: '/var/lib/facade',
        FACADE_LOG_PSEUDONYM_KEY: KEY_HEX,
      }),
    ).toEqual({
      nodeUid: '1.2.250.1.999.1',
      nodeName: 'CHU Nord',
      dicomWebBaseUrl: 'https://pacs.example/dicom-web',
      patientIdSystem: 'urn:oid:1.2.250.1.999.1.1',
      accessionNumberSystem: 'urn:oid:1.2.250.1.999.1.2',
      consentPolicy: 'opt-in',
      gpRoleScope: 'role:general-practitioner',
      organization: { name: 'Centre d’imagerie', system: 'urn:oid:1.2.250.1.71.4.2.2', value: '1750000000' },
      nationalProfile: 'fr',
      timeZone: 'Europe/Paris',
      environment: 'production',
      dataDir: '/var/lib/facade',
      logPseudonymKey: expect.objectContaining({ type: 'secret', symmetricKeySize: 32 }),
    });
  });

  it.each([
    ['FACADE_NODE_UID', 'node-a'],
    ['FACADE_NODE_UID', '1.2.3A4'],
    ['FACADE_DICOMWEB_BASE_URL', 'dicomweb'],
    ['FACADE_PATIENT_ID_SYSTEM', 'HOSPITAL_A'],
    ['FACADE_ACCESSION_NUMBER_SYSTEM', 'RIS_NORD'],
    ['FACADE_CONSENT_POLICY', 'opt-maybe'],
    ['FACADE_GP_ROLE_SCOPE', 'gp dose-officer'],
    ['FACADE_ORGANIZATION_ID_SYSTEM', 'FINESS'],
    ['FACADE_NATIONAL_PROFILE', 'de'],
    ['FACADE_TIME_ZONE', 'Europe/Nowhere'],
    ['FACADE_ENV', 'staging'],
    ['FACADE_LOG_PSEUDONYM_KEY', 'a'.repeat(62)],
    ['FACADE_LOG_PSEUDONYM_KEY', 'not a key, not hex, not base64!'],
  ])('refuse a bad %s (%s), naming it', (name, value) => {
    expect(() => loadConfig(nodeSettingsSchema, { [name]: value })).toThrow(name);
  });

  it('an empty FACADE_GP_ROLE_SCOPE: no token waits for reports', () => {
    expect(loadConfig(nodeSettingsSchema, { FACADE_GP_ROLE_SCOPE: '' }).gpRoleScope).toBeUndefined();
  });

  it('an empty FACADE_ACCESSION_NUMBER_SYSTEM (as compose passes an unset one) is no system', () => {
    expect(loadConfig(nodeSettingsSchema, { FACADE_ACCESSION_NUMBER_SYSTEM: '' }).accessionNumberSystem).toBeUndefined();
  });

  it.each([
    ['MAPPER_NODE_UID', 'FACADE_NODE_UID'],
    ['INGEST_RETRIEVE_LOCATION_UID', 'FACADE_NODE_UID'],
    ['MAPPER_DICOMWEB_BASE_URL', 'FACADE_DICOMWEB_BASE_URL'],
    ['INGEST_DICOMWEB_BASE_URL', 'FACADE_DICOMWEB_BASE_URL'],
    ['MAPPER_DEFAULT_PATIENT_ID_SYSTEM', 'FACADE_PATIENT_ID_SYSTEM'],
    ['CONSENT_DEFAULT_PATIENT_ID_SYSTEM', 'FACADE_PATIENT_ID_SYSTEM'],
    ['CONSENT_POLICY', 'FACADE_CONSENT_POLICY'],
    ['MAPPER_NATIONAL_PROFILE', 'FACADE_NATIONAL_PROFILE'],
  ])('refuse the retired %s, naming %s instead of silently using a default', (retired, replacement) => {
    let error: unknown;
    try {
      loadConfig(nodeSettingsSchema, { [retired]: 'anything' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([`${retired}: ${retired} is no longer read: set ${replacement}, the node-wide setting, instead`]);
  });
});
