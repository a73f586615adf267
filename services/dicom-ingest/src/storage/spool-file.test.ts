import fs from 'node:fs';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { SpoolFile } from './spool-file';

/**
 * A file made ahead and opened with O_DSYNC, as SpoolPool does. Counts the writes through that
 * descriptor, and the fdatasyncs of the file through any other (spied on node:fs).
 */
function madeAhead(file: string): { fd: Promise<number>; counts: () => { durableWrites: number; otherDatasyncs: number } } {
  const durable = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_DSYNC);
  const counts = { durableWrites: 0, otherDatasyncs: 0 };
  const writev = fs.writev;
  jest.spyOn(fs, 'writev').mockImplementation(((fd: number, ...rest: unknown[]) => {
    if (fd === durable) {
      counts.durableWrites++;
    }
    return (writev as (...args: unknown[]) => void)(fd, ...rest);
  }) as typeof fs.writev);
  const fdatasync = fs.fdatasync;
  jest.spyOn(fs, 'fdatasync').mockImplementation(((fd: number, callback: fs.NoParamCallback) => {
    if (fd !== durable) {
      counts.otherDatasyncs++;
    }
    fdatasync(fd, callback);
  }) as typeof fs.fdatasync);
  return { fd: Promise.resolve(durable), counts: () => ({ ...counts }) };
}

async function spoolPath(): Promise<string> {
  return path.join(await mkdtemp(path.join(tmpdir(), 'spool-')), 'incoming.part');
}

describe('SpoolFile', () => {
  it('writes the meta header, then every fragment in order, and is done once all is on disk', async () => {
    const file = await spoolPath();
    const spool = new SpoolFile(file, Buffer.from('META'));
    const fragments = [Buffer.from('one,'), Buffer.alloc(100_000, 7), Buffer.from(',three')];

    fragments.forEach((fragment) => spool.write(fragment));
    expect(spool.size).toBe(4 + 4 + 100_000 + 6);
    spool.end();
    await spool.done;

    expect(await readFile(file)).toEqual(Buffer.concat([Buffer.from('META'), ...fragments]));
    expect(spool.datasetOffset).toBe(4);
    expect(spool.size).toBe((await stat(file)).size);
  });

  afterEach(() => jest.restoreAllMocks());

  it('writes into a file made and opened ahead, through the descriptor it is given', async () => {
    const file = await spoolPath();
    const opened = madeAhead(file);
    const spool = new SpoolFile(file, Buffer.from('META'), opened.fd);

    spool.write(Buffer.from('dataset'));
    spool.end();
    await spool.syncing;
    await spool.done;

    expect(await readFile(file, 'utf8')).toBe('METAdataset');
  });

  it.each([
    { received: 'whole before its file was open (one read of a small instance)', pausesBeforeEnd: false, durableWrites: 1, otherDatasyncs: 0 },
    { received: 'in parts, written as they came', pausesBeforeEnd: true, durableWrites: 0, otherDatasyncs: 1 },
  ])('a dataset received $received: $durableWrites O_DSYNC write, $otherDatasyncs fdatasync through a plain descriptor', async ({ pausesBeforeEnd, durableWrites, otherDatasyncs }) => {
    const file = await spoolPath();
    const opened = madeAhead(file);
    const spool = new SpoolFile(file, Buffer.from('META'), opened.fd);

    spool.write(Buffer.from('first,'));
    if (pausesBeforeEnd) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    spool.write(Buffer.from('last'));
    spool.end();
    await spool.done;

    expect(await readFile(file, 'utf8')).toBe('METAfirst,last');
    expect(opened.counts()).toEqual({ durableWrites, otherDatasyncs });
  });

  it('keeps the first 64 KB of the dataset in memory as they are handed over', async () => {
    const spool = new SpoolFile(await spoolPath(), Buffer.from('META'));
    const dataset = Buffer.from(Array.from({ length: 70_000 }, (_, index) => index % 251));

    spool.write(dataset.subarray(0, 10));
    expect(spool.datasetHead).toEqual(dataset.subarray(0, 10));
    spool.write(dataset.subarray(10));
    spool.end();
    await spool.done;

    expect(spool.datasetHead).toEqual(dataset.subarray(0, 64 * 1024));
  });

  it.each([
    { received: 'in one go', fragments: 1 },
    { received: 'in several fragments', fragments: 7 },
  ])('its CRC-32, known before the bytes are on disk, is the one of the file as read back ($received)', async ({ fragments }) => {
    const file = await spoolPath();
    const spool = new SpoolFile(file, Buffer.from('META'));
    const dataset = Buffer.from(Array.from({ length: 70_000 }, (_, index) => (index * 7) % 253));
    const size = Math.ceil(dataset.length / fragments);

    for (let start = 0; start < dataset.length; start += size) {
      spool.write(dataset.subarray(start, start + size));
    }
    const announced = spool.crc32;
    spool.end();
    await spool.done;

    expect(announced).toBe(crc32(await readFile(file)));
  });

  it('when destroyed before its end (an aborted association), done rejects', async () => {
    const spool = new SpoolFile(await spoolPath(), Buffer.from('META'));
    spool.write(Buffer.from('partial'));

    spool.destroy();

    await expect(spool.done).rejects.toThrow(/not received completely/);
  });

  it('when destroyed while a write is under way, closes the file only once the write returned', async () => {
    const file = await spoolPath();
    const opened = madeAhead(file);
    const closed: number[] = [];
    const closeSync = fs.closeSync;
    jest.spyOn(fs, 'closeSync').mockImplementation((fd: number) => {
      closed.push(fd);
      closeSync(fd);
    });
    const spool = new SpoolFile(file, Buffer.from('META'), opened.fd);
    spool.write(Buffer.alloc(1_000_000, 1));
    spool.end();
    await new Promise((resolve) => setImmediate(resolve));
    const writes = opened.counts().durableWrites;

    spool.destroy();
    await expect(spool.done).rejects.toThrow();

    expect(writes).toBe(1);
    expect(closed).toEqual([await opened.fd]);
    expect((await stat(file)).size).toBe(4 + 1_000_000);
  });

  it('when the file cannot be created, done rejects and nothing is thrown at the writer', async () => {
    const spool = new SpoolFile('/nonexistent-dir/incoming.part', Buffer.from('META'));

    expect(() => spool.write(Buffer.from('data'))).not.toThrow();
    spool.end();

    await expect(spool.done).rejects.toThrow(/ENOENT/);
  });
});
