import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { StudyIndexDb } from './study-index-db';

describe('the DICOMweb index file', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'dicomweb-index-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('is for one process at a time: a second opener fails at once, saying why, and the first goes on', () => {
    const file = path.join(dir, 'dicomweb', 'index.sqlite');
    const first = new StudyIndexDb(file);
    try {
      expect(() => new StudyIndexDb(file)).toThrow(/the DICOMweb index .*index\.sqlite cannot be opened .*is another process using it\?/);
      expect(first.study('1.2.3')).toBeUndefined();
    } finally {
      first.close();
    }
    // Once the first has closed it, the file opens again (a restart).
    new StudyIndexDb(file).close();
  });

  it('is made in a directory other users cannot read (patient data)', () => {
    const file = path.join(dir, 'dicomweb', 'index.sqlite');
    new StudyIndexDb(file).close();
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o750);
  });
});
