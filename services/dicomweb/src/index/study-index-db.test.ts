import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { DERIVATION, StudyIndexDb } from './study-index-db';

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

  const oneStudy = {
    study: { studyUid: '1.2.3', patientSystem: null, patientValue: null, patientId: null, patientNameKey: null, studyDate: null, accession: null, modalities: 'CT', numberOfSeries: 0, numberOfInstances: 0, attributes: '{}' },
    series: [{ studyUid: '1.2.3', seriesUid: '1.2.3.1', modality: 'CT', seriesNumber: 1, numberOfInstances: 0, attributes: '{}' }],
    instances: [],
  };

  it('forgets a study whose every instance was rejected (IHE IOCM), its series and instances with it', () => {
    const index = new StudyIndexDb(path.join(dir, 'dicomweb', 'index.sqlite'));
    try {
      index.replaceStudy(oneStudy);
      expect(index.study('1.2.3')?.modalities).toBe('CT');
      index.removeStudy('1.2.3');
      expect(index.study('1.2.3')).toBeUndefined();
      expect(index.findSeries({ sql: 'study_uid = ?', params: ['1.2.3'] })).toEqual([]);
    } finally {
      index.close();
    }
  });

  it('counts the instances it leaves out now, by reason: a snapshot replaces its study\'s, a study with nothing to serve keeps them, a rejection clears them', () => {
    const index = new StudyIndexDb(path.join(dir, 'dicomweb', 'index.sqlite'));
    const other = { ...oneStudy, study: { ...oneStudy.study, studyUid: '1.2.4' }, series: [], leftOut: [{ sopUid: '1.2.4.9', reason: 'unreadable' as const }] };
    try {
      expect(index.leftOutCounts()).toEqual({ missing: 0, unreadable: 0 });
      index.replaceStudy({ ...oneStudy, leftOut: [{ sopUid: '1.2.3.7', reason: 'missing' }, { sopUid: '1.2.3.8', reason: 'unreadable' }] });
      index.removeStudy('1.2.4', other.leftOut);
      // Delivered again (a replay, a rebuild): the same instances, counted once.
      index.replaceStudy({ ...oneStudy, leftOut: [{ sopUid: '1.2.3.7', reason: 'missing' }, { sopUid: '1.2.3.8', reason: 'unreadable' }] });
      expect(index.leftOutCounts()).toEqual({ missing: 1, unreadable: 2 });
      // Sent again with the file mended.
      index.replaceStudy(oneStudy);
      expect(index.leftOutCounts()).toEqual({ missing: 0, unreadable: 1 });
      // Every instance rejected at the source (IHE IOCM).
      index.removeStudy('1.2.4');
      expect(index.leftOutCounts()).toEqual({ missing: 0, unreadable: 0 });
    } finally {
      index.close();
    }
  });

  it('is fed by a consumer group of its own: the same across restarts, a new one for a new file', () => {
    const file = path.join(dir, 'dicomweb', 'index.sqlite');
    const fresh = new StudyIndexDb(file);
    const group = fresh.consumerGroup('dicomweb-index');
    expect([fresh.rebuilding, group]).toEqual([true, expect.stringMatching(/^dicomweb-index\.[0-9a-f]{8}$/)]);
    fresh.replaceStudy(oneStudy);
    fresh.close();

    // Restarted before it caught up: still rebuilding, with the same group (it reads on).
    const interrupted = new StudyIndexDb(file);
    expect([interrupted.rebuilding, interrupted.consumerGroup('dicomweb-index')]).toEqual([true, group]);
    interrupted.caughtUp();
    interrupted.close();

    const restarted = new StudyIndexDb(file);
    expect([restarted.rebuilding, restarted.consumerGroup('dicomweb-index'), restarted.study('1.2.3')?.modalities]).toEqual([false, group, 'CT']);
    restarted.close();

    rmSync(file);
    const another = new StudyIndexDb(file);
    expect(another.consumerGroup('dicomweb-index')).not.toBe(group);
    another.close();
  });

  it('a file of another derivation is emptied and fed by a new group, read from the topic\'s beginning', () => {
    const file = path.join(dir, 'dicomweb', 'index.sqlite');
    const older = new StudyIndexDb(file);
    const group = older.consumerGroup('dicomweb-index');
    older.replaceStudy(oneStudy);
    older.close();
    const raw = new Database(file);
    raw.pragma(`user_version = ${DERIVATION - 1}`);
    raw.close();

    const reopened = new StudyIndexDb(file);
    expect([reopened.rebuilding, reopened.study('1.2.3')]).toEqual([true, undefined]);
    expect(reopened.consumerGroup('dicomweb-index')).not.toBe(group);
    reopened.close();
  });

  it('a thumbnail\'s instance is the middle one, in retrieve order, of those with Pixel Data (of the study, or of one series); none without', () => {
    const index = new StudyIndexDb(path.join(dir, 'dicomweb', 'index.sqlite'));
    const instance = (seriesUid: string, number: number, pixels: boolean) => ({
      studyUid: '1.2.3', seriesUid, sopUid: `${seriesUid}.${number}`, sopClassUid: '1.2.840.10008.5.1.4.1.1.2', instanceNumber: number,
      transferSyntaxUid: '1.2.840.10008.1.2.1', storagePath: `1.2.3/${seriesUid}/${number}.dcm`, sizeBytes: 1,
      metadata: JSON.stringify(pixels ? { '7FE00010': { vr: 'OW', BulkDataURI: 'x' } } : { '00080060': { vr: 'CS', Value: ['SR'] } }),
    });
    try {
      index.replaceStudy({
        ...oneStudy,
        series: [oneStudy.series[0]!, { ...oneStudy.series[0]!, seriesUid: '1.2.3.2', modality: 'SR', seriesNumber: 2 }],
        instances: [...[1, 2, 3, 4, 5].map((number) => instance('1.2.3.1', number, number !== 1)), instance('1.2.3.2', 1, false)],
      });
      // Instances 2–5 have pixels: the middle of four is the third, instance 4.
      expect(index.middleImageOf('1.2.3')?.sopUid).toBe('1.2.3.1.4');
      expect(index.middleImageOf('1.2.3', '1.2.3.1')?.sopUid).toBe('1.2.3.1.4');
      expect(index.middleImageOf('1.2.3', '1.2.3.2')).toBeUndefined();
      expect(index.middleImageOf('1.2.9')).toBeUndefined();
    } finally {
      index.close();
    }
  });

  it('is made in a directory other users cannot read (patient data)', () => {
    const file = path.join(dir, 'dicomweb', 'index.sqlite');
    new StudyIndexDb(file).close();
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o750);
  });
});
