import { appendFile, mkdir, mkdtemp, readdir, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { StudyIndex } from './study-index';
import { indexRecord, placeFileOf } from '../test-support/records';

const STUDY = '1.2.3';

describe('StudyIndex', () => {
  let root: string;
  let index: StudyIndex;

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'study-index-'));
    await mkdir(path.join(root, STUDY));
    index = new StudyIndex(root);
  });

  afterEach(() => index.close());

  /** This process's open files that are study indexes under `root`. */
  async function openIndexes(): Promise<number> {
    const targets = await Promise.all((await readdir('/proc/self/fd')).map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
    return targets.filter((target) => target.startsWith(root) && target.endsWith('study-index.ndjson')).length;
  }

  it('close closes the indexes kept open for appending; an append after it opens the file again', async () => {
    await mkdir(path.join(root, '4.5.6'));
    await index.append(STUDY, indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.1' }));
    await index.append('4.5.6', indexRecord({ seriesInstanceUid: '4.5.6.1', sopInstanceUid: '4.5.6.1.1' }));
    expect(await openIndexes()).toBe(2);

    await index.close();
    expect(await openIndexes()).toBe(0);

    await index.append(STUDY, indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.2' }));
    expect((await index.read(STUDY)).records.map((record) => record.sopInstanceUid)).toEqual(['1.2.3.1.1', '1.2.3.1.2']);
  });

  it('reads back every appended record, in order, including an instance received twice', async () => {
    const records = [
      indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.1' }),
      indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.2' }),
      indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.1', sizeBytes: 2000 }),
    ];
    for (const record of records) {
      await index.append(STUDY, record);
    }

    expect(await index.read(STUDY)).toEqual({ records, unreadableLines: 0 });
  });

  it('reads a study without an index as empty', async () => {
    expect(await index.read('9.9.9')).toEqual({ records: [], unreadableLines: 0 });
  });

  it('after a crash tore the last line, repair cuts it and later appends read back cleanly', async () => {
    const kept = indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.1' });
    await index.append(STUDY, kept);
    await appendFile(index.indexPath(STUDY), '{"sopInstanceUid":"1.2.3.1.2","seri');

    expect(await index.repair(STUDY)).toBe(true);
    const next = indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.3' });
    await index.append(STUDY, next);

    expect(await index.read(STUDY)).toEqual({ records: [kept, next], unreadableLines: 0 });
    expect(await index.repair(STUDY)).toBe(false);
  });

  it('after a crash between an index line and its file reaching its place, dropUnplaced drops that line and keeps the others', async () => {
    const placed = await placeFileOf(root, indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.1' }));
    const neverPlaced = indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.2' });
    // A re-send whose new file never replaced the old one: the file has the size of the earlier copy.
    const resentNeverPlaced = { ...placed, sizeBytes: placed.sizeBytes + 10 };
    for (const record of [placed, neverPlaced, resentNeverPlaced]) {
      await index.append(STUDY, record);
    }

    expect(await index.dropUnplaced(STUDY)).toBe(2);
    expect(await index.read(STUDY)).toEqual({ records: [placed], unreadableLines: 0 });
    expect(await index.dropUnplaced(STUDY)).toBe(0);
  });

  it('after a crash undid the rename of a spool file whose line is in the index, dropUnplaced renames it into place and keeps the line', async () => {
    await mkdir(path.join(root, '.spool'));
    const spooled = indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.1', spoolPath: '.spool/a.part' });
    await writeFile(path.join(root, '.spool/a.part'), Buffer.alloc(spooled.sizeBytes, 1));
    const renamed = await placeFileOf(root, indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.2', spoolPath: '.spool/b.part' }));
    const lost = indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.3', spoolPath: '.spool/c.part' });
    for (const record of [spooled, renamed, lost]) {
      await index.append(STUDY, record);
    }

    expect(await index.dropUnplaced(STUDY)).toBe(1);

    expect(await index.read(STUDY)).toEqual({ records: [spooled, renamed], unreadableLines: 0 });
    expect(await readFile(path.join(root, spooled.storagePath))).toEqual(Buffer.alloc(spooled.sizeBytes, 1));
    await expect(stat(path.join(root, '.spool/a.part'))).rejects.toThrow(/ENOENT/);
  });

  it('when two lines of one place both still have their spool file (a re-send), only the later one is renamed into place', async () => {
    await mkdir(path.join(root, '.spool'));
    const first = indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.1', spoolPath: '.spool/first.part' });
    const second = { ...first, spoolPath: '.spool/second.part', sizeBytes: first.sizeBytes + 2 };
    await writeFile(path.join(root, '.spool/first.part'), Buffer.alloc(first.sizeBytes, 1));
    await writeFile(path.join(root, '.spool/second.part'), Buffer.alloc(second.sizeBytes, 2));
    for (const record of [first, second]) {
      await index.append(STUDY, record);
    }

    expect(await index.dropUnplaced(STUDY)).toBe(1);

    expect(await index.read(STUDY)).toEqual({ records: [second], unreadableLines: 0 });
    expect(await readFile(path.join(root, second.storagePath))).toEqual(Buffer.alloc(second.sizeBytes, 2));
  });

  it('skips and counts a line that is not a record, instead of failing the whole study', async () => {
    await index.append(STUDY, indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.1' }));
    await appendFile(index.indexPath(STUDY), '{"sopInstanceUid":"not a uid"}\n');

    const contents = await index.read(STUDY);

    expect(contents.records).toHaveLength(1);
    expect(contents.unreadableLines).toBe(1);
  });

  it('appends made after a compaction replaced the index file go to the new file', async () => {
    const first = indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.1' });
    const resent = { ...first, sizeBytes: first.sizeBytes + 1 };
    const second = indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.2' });
    for (const record of [first, resent]) {
      await index.append(STUDY, record);
    }

    const size = await index.compact(STUDY);
    await index.append(STUDY, second);

    expect(size).toBeLessThan((await stat(index.indexPath(STUDY))).size);
    expect(await index.read(STUDY)).toEqual({ records: [resent, second], unreadableLines: 0 });
  });

  it('keeps appending right to more studies at once than it keeps index files open', async () => {
    const studies = Array.from({ length: 70 }, (_, i) => `1.2.4.${i + 1}`);
    await Promise.all(studies.map((study) => mkdir(path.join(root, study))));
    const recordOf = (study: string, n: number) => indexRecord({ seriesInstanceUid: `${study}.1`, sopInstanceUid: `${study}.1.${n}` });

    for (const n of [1, 2]) {
      await Promise.all(studies.map((study) => index.append(study, recordOf(study, n))));
    }

    for (const study of studies) {
      expect(await index.read(study)).toEqual({ records: [recordOf(study, 1), recordOf(study, 2)], unreadableLines: 0 });
    }
  });

  it('writes one JSON document per line', async () => {
    await index.append(STUDY, indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.1' }));
    await index.append(STUDY, indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.2' }));

    const lines = (await readFile(index.indexPath(STUDY), 'utf8')).split('\n');

    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    expect(JSON.parse(lines[1]!).sopInstanceUid).toBe('1.2.3.1.2');
  });
});
