import { createHash, createSecretKey } from 'node:crypto';
import { generatePseudonymKey, pseudonym, pseudonymizer, pseudonymKey } from './pseudonym';

const keyA = pseudonymKey(Buffer.alloc(32, 0xa1));
const keyA2 = pseudonymKey(Buffer.alloc(32, 0xa1));
const keyB = pseudonymKey(Buffer.alloc(32, 0xb2));
const patient = 'urn:oid:1.2.250.1.999.1|00734129';

/** What earlier versions logged: an unkeyed SHA-256, reversible by trying every identifier. */
const unkeyed = (patientKey: string) => `pt-${createHash('sha256').update(patientKey, 'utf8').digest('hex').slice(0, 16)}`;

describe('a patient pseudonym', () => {
  test('has the format log readers know: pt- and 16 hex digits', () => {
    expect(pseudonym(patient, keyA)).toMatch(/^pt-[0-9a-f]{16}$/);
  });

  test.each([
    ['the same key, the same patient', keyA, patient, keyA, patient, true],
    ['a key of the same bytes (another service, a restart), the same patient', keyA, patient, keyA2, patient, true],
    ['another key, the same patient', keyA, patient, keyB, patient, false],
    ['the same key, another value', keyA, patient, keyA, 'urn:oid:1.2.250.1.999.1|00734130', false],
    ['the same key, the same value in another system', keyA, patient, keyA, 'urn:oid:1.2.250.1.999.2|00734129', false],
  ])('%s: equal is %s', (_situation, firstKey, first, secondKey, second, equal) => {
    expect(pseudonym(first, firstKey) === pseudonym(second, secondKey)).toBe(equal);
  });

  test.each([
    ['an 8-digit patient ID', patient],
    ['an empty value', 'https://imagingfacade.org/fhir/sid/patient-id|'],
    ['a non-ASCII value', 'urn:oid:1.2.3|Dupré'],
  ])('is not the unkeyed digest that could be reversed: %s', (_situation, patientKey) => {
    expect(pseudonym(patientKey, keyA)).not.toBe(unkeyed(patientKey));
    expect(pseudonym(patientKey, generatePseudonymKey())).not.toBe(unkeyed(patientKey));
  });

  test('bound to a key by pseudonymizer, gives what pseudonym gives', () => {
    expect(pseudonymizer(keyA)(patient)).toBe(pseudonym(patient, keyA));
  });

  test('two generated keys differ', () => {
    expect(pseudonym(patient, generatePseudonymKey())).not.toBe(pseudonym(patient, generatePseudonymKey()));
  });

  test.each([
    ['31 bytes', () => pseudonymKey(Buffer.alloc(31, 1))],
    ['a short key made elsewhere', () => pseudonym(patient, createSecretKey(Buffer.alloc(16, 1)))],
    ['a short key bound by pseudonymizer', () => pseudonymizer(createSecretKey(Buffer.alloc(8, 1)))],
  ])('a key shorter than 32 bytes is refused: %s', (_situation, use) => {
    expect(use).toThrow(/at least 32 bytes/);
  });

  test('the key never prints', () => {
    expect(JSON.stringify({ key: keyA })).not.toMatch(/a1a1|oaGh/);
    expect(String(keyA)).not.toMatch(/a1a1/);
  });
});
