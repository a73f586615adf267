import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ReconciledPatients } from './reconciled-patients';

const fileIn = (directory: string) => path.join(directory, 'consent-gate', 'decisions.sqlite');

describe('the record of applied consent decisions', () => {
  test('a patient is marked while applied, then holds the fingerprint applied; none left: no row', () => {
    const record = new ReconciledPatients();
    expect(record.fingerprintOf('s|P1')).toBeUndefined();
    record.begin('s|P1');
    expect(record.fingerprintOf('s|P1')).toBeNull();
    record.done('s|P1', 'fp-1');
    expect(record.fingerprintOf('s|P1')).toBe('fp-1');
    record.begin('s|P1');
    record.done('s|P1', undefined);
    expect(record.fingerprintOf('s|P1')).toBeUndefined();
    record.close();
  });

  test('every row is read, page after page, in key order', () => {
    const record = new ReconciledPatients();
    const keys = Array.from({ length: 25 }, (_, index) => `s|P${String(index).padStart(2, '0')}`);
    for (const key of [...keys].reverse()) record.done(key, `fp-${key}`);
    record.begin('s|P07');
    expect([...record.rows(4)].map((row) => row.patientKey)).toEqual(keys);
    expect([...record.rows(4)].filter((row) => row.fingerprint === null).map((row) => row.patientKey)).toEqual(['s|P07']);
    record.close();
  });

  test('a file opened again holds its rows and the policy of the last full sweep; its directory is closed to other users', () => {
    const file = fileIn(mkdtempSync(path.join(tmpdir(), 'reconciled-')));
    const first = new ReconciledPatients(file);
    expect(first.policy()).toBeUndefined();
    first.done('s|P1', 'fp-1');
    first.begin('s|P2');
    first.setPolicy('opt-in');
    first.close();

    const again = new ReconciledPatients(file);
    expect([again.policy(), again.fingerprintOf('s|P1'), again.fingerprintOf('s|P2')]).toEqual(['opt-in', 'fp-1', null]);
    again.close();
    expect(statSync(path.dirname(file)).mode & 0o007).toBe(0);
  });

  test('a second process on the same file is refused at start, saying why', () => {
    const file = fileIn(mkdtempSync(path.join(tmpdir(), 'reconciled-')));
    const first = new ReconciledPatients(file);
    first.done('s|P1', 'fp-1');
    expect(() => new ReconciledPatients(file)).toThrow(/the record of applied consent decisions .* cannot be opened .*is another process using it\?/);
    first.close();
  });
});
