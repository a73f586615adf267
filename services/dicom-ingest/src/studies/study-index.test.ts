import { appendFile, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { indexRecordSchema, StudyIndex, type IndexRecord } from './study-index';
import { indexRecord, placeFileOf } from '../test-support/records';

const STUDY = '1.2.3';

/** The line of an instance whose Part 10 file is `bytes`, written into `spoolPath` (relative to the root). */
function lineOf(bytes: Buffer, spoolPath: string, sopInstanceUid = '1.2.3.1.1'): IndexRecord {
  return indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid, spoolPath, sizeBytes: bytes.length, crc32: crc32(bytes) });
}

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

  it('reads back the study attributes, and those of each series, as one value shared by the lines that repeat them', async () => {
    const inSeries = (seriesInstanceUid: string, sopInstanceUid: string): IndexRecord =>
      indexRecord({ seriesInstanceUid, sopInstanceUid, series: { '0020000E': { vr: 'UI', Value: [seriesInstanceUid] } } });
    const records = [inSeries('1.2.3.1', '1.2.3.1.1'), inSeries('1.2.3.2', '1.2.3.2.1'), inSeries('1.2.3.1', '1.2.3.1.2'), inSeries('1.2.3.2', '1.2.3.2.2')];
    for (const record of records) {
      await index.append(STUDY, record);
    }

    const read = (await index.read(STUDY)).records;

    expect(read).toEqual(records);
    expect(new Set(read.map((record) => record.study)).size).toBe(1);
    expect(read[2]?.series).toBe(read[0]?.series);
    expect(read[3]?.series).toBe(read[1]?.series);
    expect(read[1]?.series).not.toBe(read[0]?.series);
    // Keys in the schema's order, as every record read back had them: a compaction rewrites lines alike.
    expect(Object.keys(read[0] ?? {})).toEqual(Object.keys(indexRecordSchema.parse(records[0])));
  });

  it('reads a study without an index as empty', async () => {
    expect(await index.read('9.9.9')).toEqual({ records: [], unreadableLines: 0 });
  });

  describe('a disk that takes part of a write (ext4 out of blocks returns a short count, no error)', () => {
    /** A StudyIndex whose appends go through `plan`: per write call, how many of its bytes the disk takes, or an error. */
    class FullingDisk extends StudyIndex {
      constructor(
        root: string,
        private readonly plan: Array<number | 'ENOSPC'>,
      ) {
        super(root);
      }
      protected override async openForAppend(file: string): Promise<FileHandle> {
        const handle = await super.openForAppend(file);
        const plan = this.plan;
        const write = handle.write.bind(handle) as (buffer: Buffer, offset: number, length: number) => Promise<{ bytesWritten: number }>;
        return new Proxy(handle, {
          get(target, property, receiver) {
            if (property !== 'write') return Reflect.get(target, property, receiver) as unknown;
            return async (buffer: Buffer, offset: number, length: number) => {
              const step = plan.shift();
              if (step === 'ENOSPC') throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
              return write(buffer, offset, step === undefined ? length : Math.min(step, length));
            };
          },
        });
      }
    }

    it('a write cut short is written on: the line is whole and the append succeeds', async () => {
      const disk = new FullingDisk(root, [40]);
      const record = indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.1' });
      await disk.append(STUDY, record);
      expect(await disk.read(STUDY)).toEqual({ records: [record], unreadableLines: 0 });
      await disk.close();
    });

    it('a write cut short, then refused: the append fails, what the disk took is cut off, and the next append reads back cleanly', async () => {
      const disk = new FullingDisk(root, [Number.MAX_SAFE_INTEGER, 40, 'ENOSPC']);
      const kept = indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.1' });
      await disk.append(STUDY, kept);
      const sizeBefore = (await stat(disk.indexPath(STUDY))).size;

      await expect(disk.append(STUDY, indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.2' }))).rejects.toMatchObject({ code: 'ENOSPC' });
      expect((await stat(disk.indexPath(STUDY))).size).toBe(sizeBefore);

      const next = indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.3' });
      await disk.append(STUDY, next);
      expect(await disk.read(STUDY)).toEqual({ records: [kept, next], unreadableLines: 0 });
      await disk.close();
    });
  });

  it('an index removed while it sat open and idle (its study directory deleted) is not appended to: the line goes to the index made again', async () => {
    await index.append(STUDY, indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.1' }));
    await rm(path.join(root, STUDY), { recursive: true });
    await mkdir(path.join(root, STUDY));
    const clock = jest.spyOn(Date, 'now').mockReturnValue(Date.now() + 11_000);
    try {
      const next = indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.2' });
      await index.append(STUDY, next);
      expect(await index.read(STUDY)).toEqual({ records: [next], unreadableLines: 0 });
    } finally {
      clock.mockRestore();
    }
  });

  it('a torn last line in an index no repair looks at (a published study) is cut off before the next append, which reads back cleanly', async () => {
    const kept = indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.1' });
    await index.append(STUDY, kept);
    await index.close();
    await appendFile(index.indexPath(STUDY), '{"sopInstanceUid":"1.2.3.1.2","seri');

    const next = indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.3' });
    await index.append(STUDY, next);
    expect(await index.read(STUDY)).toEqual({ records: [kept, next], unreadableLines: 0 });
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

  describe('dropUnplaced, for lines written while their file was (each with its checksum)', () => {
    /** The bytes of a received file: one of `size` bytes, all `fill`. */
    const fileOf = (fill: number, size = 1000): Buffer => Buffer.alloc(size, fill);

    async function spool(record: IndexRecord, bytes: Buffer): Promise<void> {
      await mkdir(path.join(root, '.spool'), { recursive: true });
      await writeFile(path.join(root, record.spoolPath ?? ''), bytes);
    }

    async function place(record: IndexRecord, bytes: Buffer): Promise<void> {
      await mkdir(path.dirname(path.join(root, record.storagePath)), { recursive: true });
      await writeFile(path.join(root, record.storagePath), bytes);
    }

    async function appendAll(...records: IndexRecord[]): Promise<void> {
      for (const record of records) {
        await index.append(STUDY, record);
      }
    }

    const placed = (record: IndexRecord): Promise<Buffer> => readFile(path.join(root, record.storagePath));

    it('a spool file of the recorded size but with other bytes (they never reached the disk) is not taken: its line is dropped', async () => {
      const torn = lineOf(fileOf(1), '.spool/torn.part', '1.2.3.1.1');
      const intact = lineOf(fileOf(2), '.spool/intact.part', '1.2.3.1.2');
      // A crash of the machine can leave the size of a file written without its bytes: zeros.
      await spool(torn, Buffer.alloc(torn.sizeBytes));
      await spool(intact, fileOf(2));
      await appendAll(torn, intact);

      expect(await index.dropUnplaced(STUDY)).toBe(1);

      expect(await index.read(STUDY)).toEqual({ records: [intact], unreadableLines: 0 });
      expect(await placed(intact)).toEqual(fileOf(2));
      await expect(stat(path.join(root, torn.storagePath))).rejects.toThrow(/ENOENT/);
    });

    it('an earlier copy whose spool file is durable is renamed into place even though a later copy of the instance is void (its file failed and was removed)', async () => {
      const earlier = lineOf(fileOf(1), '.spool/earlier.part');
      const failed = lineOf(fileOf(2, 1200), '.spool/failed.part');
      await spool(earlier, fileOf(1));
      await appendAll(earlier, failed);

      expect(await index.dropUnplaced(STUDY)).toBe(1);

      expect(await index.read(STUDY)).toEqual({ records: [earlier], unreadableLines: 0 });
      expect(await placed(earlier)).toEqual(fileOf(1));
    });

    it('a place that already holds the file of a later copy (the earlier copy\'s rename failed, the later one\'s did not) is not overwritten by the earlier spool file', async () => {
      const earlier = lineOf(fileOf(1), '.spool/earlier.part');
      const later = lineOf(fileOf(2, 1200), '.spool/later.part');
      await spool(earlier, fileOf(1));
      await place(later, fileOf(2, 1200));
      await appendAll(earlier, later);

      expect(await index.dropUnplaced(STUDY)).toBe(1);

      expect(await index.read(STUDY)).toEqual({ records: [later], unreadableLines: 0 });
      expect(await placed(later)).toEqual(fileOf(2, 1200));
    });

    it('when later copies have the size of the file in place, its checksum tells which one it is', async () => {
      const earlier = lineOf(fileOf(1), '.spool/earlier.part');
      const later = lineOf(fileOf(2), '.spool/later.part');
      // Same size as `later`, other bytes; its file failed.
      const failed = lineOf(fileOf(3), '.spool/failed.part');
      await spool(earlier, fileOf(1));
      await place(later, fileOf(2));
      await appendAll(earlier, later, failed);

      expect(await index.dropUnplaced(STUDY)).toBe(2);

      expect(await index.read(STUDY)).toEqual({ records: [later], unreadableLines: 0 });
      expect(await placed(later)).toEqual(fileOf(2));
    });

    it('a file in place from an earlier publication is not taken for a later void copy of the same size: the durable re-send between them is renamed into place', async () => {
      const published = lineOf(fileOf(1), '.spool/published.part');
      const resent = lineOf(fileOf(2), '.spool/resent.part');
      const failed = lineOf(fileOf(3), '.spool/failed.part');
      await place(published, fileOf(1));
      // The re-send was answered; the crash undid its rename, which was not yet durable.
      await spool(resent, fileOf(2));
      await appendAll(published, resent, failed);

      expect(await index.dropUnplaced(STUDY)).toBe(2);

      expect(await index.read(STUDY)).toEqual({ records: [resent], unreadableLines: 0 });
      expect(await placed(resent)).toEqual(fileOf(2));
    });
  });

  it('compact leaves out void lines, and a void re-send does not displace the settled copy before it', async () => {
    const first = lineOf(Buffer.alloc(1000, 1), '.spool/first.part', '1.2.3.1.1');
    const second = lineOf(Buffer.alloc(1000, 2), '.spool/second.part', '1.2.3.1.2');
    const voidResend = lineOf(Buffer.alloc(1200, 3), '.spool/void-resend.part', '1.2.3.1.1');
    const voidNew = lineOf(Buffer.alloc(1000, 4), '.spool/void-new.part', '1.2.3.1.3');
    for (const record of [first, second, voidResend, voidNew]) {
      await index.append(STUDY, record);
    }

    const size = await index.compact(STUDY, new Set([voidResend.spoolPath ?? '', voidNew.spoolPath ?? '']));

    expect(await index.read(STUDY)).toEqual({ records: [first, second], unreadableLines: 0 });
    expect(size).toBe((await stat(index.indexPath(STUDY))).size);
  });

  describe('an instance sent again with another series of its study (one place per instance, the newest send wins)', () => {
    const [OLD, NEW] = ['1.2.3.1', '1.2.3.2'];
    const exists = (relative: string): Promise<boolean> => stat(path.join(root, relative)).then(() => true, () => false);
    /** The line of instance `sop` sent with `series`, its file of `fill` bytes in place. */
    async function placed(series: string, sop: string, fill: number, spoolPath?: string): Promise<IndexRecord> {
      const bytes = Buffer.alloc(1000 + fill, fill);
      const record = indexRecord({ seriesInstanceUid: series, sopInstanceUid: sop, sizeBytes: bytes.length, crc32: crc32(bytes), ...(spoolPath ? { spoolPath } : {}) });
      await mkdir(path.dirname(path.join(root, record.storagePath)), { recursive: true });
      await writeFile(path.join(root, record.storagePath), bytes);
      return record;
    }
    async function appendAll(...records: IndexRecord[]): Promise<void> {
      for (const record of records) {
        await index.append(STUDY, record);
      }
    }

    it('compact keeps its last line only, removes the file of its old place, and the old series directory once nothing is left in it', async () => {
      const moved = await placed(OLD, '1.2.3.9.1', 1);
      const stays = await placed(OLD, '1.2.3.9.2', 2);
      const movedAgain = await placed(NEW, '1.2.3.9.1', 3);
      const alone = await placed('1.2.3.3', '1.2.3.9.3', 4);
      const aloneMoved = await placed(NEW, '1.2.3.9.3', 5);
      await appendAll(moved, stays, alone, movedAgain, aloneMoved);

      await index.compact(STUDY);

      expect(await index.read(STUDY)).toEqual({ records: [stays, movedAgain, aloneMoved], unreadableLines: 0 });
      expect(await exists(moved.storagePath)).toBe(false);
      expect(await exists(stays.storagePath)).toBe(true);
      expect(await exists(movedAgain.storagePath)).toBe(true);
      expect(await exists(`${STUDY}/1.2.3.3`)).toBe(false);
    });

    it('compact: sent back with its first series, the instance keeps that place and the other is removed', async () => {
      const first = await placed(OLD, '1.2.3.9.1', 1);
      const moved = await placed(NEW, '1.2.3.9.1', 2);
      const back = { ...first, sizeBytes: first.sizeBytes + 5 };
      await writeFile(path.join(root, back.storagePath), Buffer.alloc(back.sizeBytes, 7));
      await appendAll(first, moved, back);

      await index.compact(STUDY);

      expect(await index.read(STUDY)).toEqual({ records: [back], unreadableLines: 0 });
      expect(await readFile(path.join(root, back.storagePath))).toEqual(Buffer.alloc(back.sizeBytes, 7));
      expect(await exists(`${STUDY}/${NEW}`)).toBe(false);
    });

    it('compact: a re-send with another series whose file failed (void) leaves the earlier copy, its line and its file', async () => {
      const earlier = await placed(OLD, '1.2.3.9.1', 1);
      const failed = indexRecord({ seriesInstanceUid: NEW, sopInstanceUid: '1.2.3.9.1', spoolPath: '.spool/failed.part' });
      await appendAll(earlier, failed);

      await index.compact(STUDY, new Set(['.spool/failed.part']));

      expect(await index.read(STUDY)).toEqual({ records: [earlier], unreadableLines: 0 });
      expect(await exists(earlier.storagePath)).toBe(true);
    });

    it('compact fails, and leaves the index as it was, when the old place cannot be removed', async () => {
      const moved = await placed(OLD, '1.2.3.9.1', 1);
      const movedAgain = await placed(NEW, '1.2.3.9.1', 2);
      await appendAll(moved, movedAgain);
      // Not a file any more: unlink refuses a directory.
      await rm(path.join(root, moved.storagePath));
      await mkdir(path.join(root, moved.storagePath, 'inside'), { recursive: true });

      await expect(index.compact(STUDY)).rejects.toThrow();

      expect(await index.read(STUDY)).toEqual({ records: [moved, movedAgain], unreadableLines: 0 });
    });

    it('dropUnplaced after a crash with both copies in place keeps the later line and removes the earlier file', async () => {
      const moved = await placed(OLD, '1.2.3.9.1', 1);
      const other = await placed(OLD, '1.2.3.9.2', 2);
      const movedAgain = await placed(NEW, '1.2.3.9.1', 3);
      await appendAll(moved, other, movedAgain);

      expect(await index.dropUnplaced(STUDY)).toBe(1);

      expect(await index.read(STUDY)).toEqual({ records: [other, movedAgain], unreadableLines: 0 });
      expect(await exists(moved.storagePath)).toBe(false);
      expect(await exists(other.storagePath)).toBe(true);
      expect(await index.dropUnplaced(STUDY)).toBe(0);
    });

    it('dropUnplaced: a durable re-send still in its spool file (the crash undid its rename) is renamed into its new place, and the old file removed', async () => {
      const moved = await placed(OLD, '1.2.3.9.1', 1);
      const bytes = Buffer.alloc(1500, 9);
      const resent = indexRecord({ seriesInstanceUid: NEW, sopInstanceUid: '1.2.3.9.1', spoolPath: '.spool/resent.part', sizeBytes: bytes.length, crc32: crc32(bytes) });
      await mkdir(path.join(root, '.spool'));
      await writeFile(path.join(root, '.spool/resent.part'), bytes);
      await appendAll(moved, resent);

      expect(await index.dropUnplaced(STUDY)).toBe(1);

      expect(await index.read(STUDY)).toEqual({ records: [resent], unreadableLines: 0 });
      expect(await readFile(path.join(root, resent.storagePath))).toEqual(bytes);
      expect(await exists(`${STUDY}/${OLD}`)).toBe(false);
    });

    it('dropUnplaced: a re-send never durable (its spool file holds other bytes: never answered with success) leaves the earlier copy', async () => {
      const earlier = await placed(OLD, '1.2.3.9.1', 1);
      const bytes = Buffer.alloc(1500, 9);
      const torn = indexRecord({ seriesInstanceUid: NEW, sopInstanceUid: '1.2.3.9.1', spoolPath: '.spool/torn.part', sizeBytes: bytes.length, crc32: crc32(bytes) });
      await mkdir(path.join(root, '.spool'));
      await writeFile(path.join(root, '.spool/torn.part'), Buffer.alloc(bytes.length));
      await appendAll(earlier, torn);

      expect(await index.dropUnplaced(STUDY)).toBe(1);

      expect(await index.read(STUDY)).toEqual({ records: [earlier], unreadableLines: 0 });
      expect(await exists(earlier.storagePath)).toBe(true);
      expect(await exists(torn.storagePath)).toBe(false);
    });

    it('dropUnplaced after a crash between the compaction\'s removal of the old file and its rewrite of the index: the line of the removed file is dropped', async () => {
      const moved = await placed(OLD, '1.2.3.9.1', 1);
      const movedAgain = await placed(NEW, '1.2.3.9.1', 2);
      await appendAll(moved, movedAgain);
      await rm(path.join(root, STUDY, OLD), { recursive: true });

      expect(await index.dropUnplaced(STUDY)).toBe(1);

      expect(await index.read(STUDY)).toEqual({ records: [movedAgain], unreadableLines: 0 });
    });
  });

  it('readFrom gives each complete line with the byte offset it starts at, also when reading from the middle', async () => {
    // Multi-byte characters: offsets count bytes, not characters.
    const named = indexRecord({
      seriesInstanceUid: '1.2.3.1',
      sopInstanceUid: '1.2.3.1.1',
      study: { '0020000D': { vr: 'UI', Value: ['1.2.3'] }, '00100010': { vr: 'PN', Value: [{ Alphabetic: 'Müller^Zoë' }] } },
    });
    const records = [named, indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.2' }), indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.3' })];
    for (const record of records) {
      await index.append(STUDY, record);
    }
    const bytes = await readFile(index.indexPath(STUDY));

    const tail = await index.readFrom(STUDY, 0);

    expect(tail.lines.map((line) => JSON.parse(line.text) as IndexRecord)).toEqual(records);
    for (const line of tail.lines) {
      expect(bytes.subarray(line.start, line.start + Buffer.byteLength(line.text)).toString('utf8')).toBe(line.text);
    }
    expect(tail.end).toBe(bytes.length);
    const fromSecond = tail.lines[1]?.start ?? -1;
    expect(await index.readFrom(STUDY, fromSecond)).toEqual({ lines: tail.lines.slice(1), end: tail.end, more: false });
  });

  it('skips and counts a line that is not a record, instead of failing the whole study', async () => {
    await index.append(STUDY, indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.1' }));
    await appendFile(index.indexPath(STUDY), '{"sopInstanceUid":"not a uid"}\n');

    const contents = await index.read(STUDY);

    expect(contents.records).toHaveLength(1);
    expect(contents.unreadableLines).toBe(1);
  });

  it('skips and counts a line whose study or series attributes are not DICOM JSON', async () => {
    const good = indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.1' });
    await index.append(STUDY, good);
    const badStudy = JSON.stringify({ ...good, sopInstanceUid: '1.2.3.1.2', study: { PatientName: 'Doe^Jane' } });
    const badSeries = JSON.stringify({ ...good, sopInstanceUid: '1.2.3.1.3', series: { '0020000E': { Value: ['1.2.3.1'] } } });
    await appendFile(index.indexPath(STUDY), `${badStudy}\n${badSeries}\n`);

    const contents = await index.read(STUDY);

    expect(contents.records.map((record) => record.sopInstanceUid)).toEqual(['1.2.3.1.1']);
    expect(contents.unreadableLines).toBe(2);
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
