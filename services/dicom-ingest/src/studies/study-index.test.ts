import { appendFile, mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { StudyIndex } from './study-index';
import { indexRecord } from '../test-support/records';

const STUDY = '1.2.3';

describe('StudyIndex', () => {
  let root: string;
  let index: StudyIndex;

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'study-index-'));
    await mkdir(path.join(root, STUDY));
    index = new StudyIndex(root);
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

  it('skips and counts a line that is not a record, instead of failing the whole study', async () => {
    await index.append(STUDY, indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.1' }));
    await appendFile(index.indexPath(STUDY), '{"sopInstanceUid":"not a uid"}\n');

    const contents = await index.read(STUDY);

    expect(contents.records).toHaveLength(1);
    expect(contents.unreadableLines).toBe(1);
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
