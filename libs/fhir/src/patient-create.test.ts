import { createHash } from 'node:crypto';
import { MATCH_URL_MAX_LENGTH, PATIENT_IDENTITY_TAG_SYSTEM, patientCreateEntry } from './patient-create';
import { identifierToken, searchQuery } from './search';

const BASE = 'https://imagingfacade.org/fhir/sid/patient-id/';
/** A system whose `ifNoneExist: identifier=…` has exactly `length` characters (value "V1"). */
const systemMaking = (length: number) => {
  const fixed = searchQuery({ identifier: identifierToken({ system: 'https://x.test/', value: 'V1' }) }).length;
  return `https://x.test/${'a'.repeat(length - fixed)}`;
};

describe('patientCreateEntry: a Patient created once per identifier, whatever its length', () => {
  test.each([
    ['a usual identifier', { system: 'urn:oid:1.2.250.1.71.4.2.7', value: '123456' }, 'identifier'],
    ['a match URL of exactly what HAPI stores (768)', { system: systemMaking(MATCH_URL_MAX_LENGTH), value: 'V1' }, 'identifier'],
    ['a match URL one past it', { system: systemMaking(MATCH_URL_MAX_LENGTH + 1), value: 'V1' }, 'tag'],
    ['a 20-character Japanese issuer (its match URL: 400 characters)', { system: `${BASE}${encodeURIComponent('東京都立駒込病院放射線診断科画像管理部門')}`, value: 'PM-1' }, 'identifier'],
    ['a 64-character Japanese issuer (its match URL: ~1,050 characters; HAPI answered 500/409 for ever)', { system: `${BASE}${encodeURIComponent('東'.repeat(64))}`, value: 'PM-1' }, 'tag'],
    ['a 64-character Japanese PatientID without issuer', { system: BASE, value: '患'.repeat(64) }, 'identifier'],
    ['a 200-character Japanese PatientID', { system: BASE, value: '患'.repeat(200) }, 'tag'],
  ])('%s: matched on the %s', (_situation, identifier, match) => {
    const entry = patientCreateEntry({ resourceType: 'Patient', identifier: [identifier] }, identifier, 'urn:uuid:1');
    expect(entry.request?.ifNoneExist?.length).toBeLessThanOrEqual(MATCH_URL_MAX_LENGTH);
    expect(entry.request).toMatchObject({ method: 'POST', url: 'Patient' });
    expect(entry.fullUrl).toBe('urn:uuid:1');
    expect(entry.resource?.identifier).toEqual([identifier]);
    if (match === 'identifier') {
      expect(entry.request?.ifNoneExist).toBe(searchQuery({ identifier: identifierToken(identifier) }));
      expect(entry.resource?.meta).toBeUndefined();
    } else {
      const code = createHash('sha256').update(`${identifier.system}|${identifier.value}`).digest('hex');
      expect(entry.request?.ifNoneExist).toBe(searchQuery({ _tag: `${PATIENT_IDENTITY_TAG_SYSTEM}|${code}` }));
      expect(entry.resource?.meta?.tag).toEqual([{ system: PATIENT_IDENTITY_TAG_SYSTEM, code }]);
    }
  });

  test('the same identifier always gives the same entry (the mapper and the desk find each other)', () => {
    const identifier = { system: `${BASE}${encodeURIComponent('東'.repeat(64))}`, value: 'PM-1' };
    const make = () => patientCreateEntry({ resourceType: 'Patient', identifier: [identifier] }, identifier, 'urn:uuid:1');
    expect(make()).toEqual(make());
    const other = patientCreateEntry({ resourceType: 'Patient' }, { ...identifier, value: 'PM-2' }, 'urn:uuid:1');
    expect(other.request?.ifNoneExist).not.toBe(make().request?.ifNoneExist);
  });
});
