import { mkdtemp, open, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SpoolFile } from './spool-file';

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

  it('writes into a file made and opened ahead, through the handle it is given', async () => {
    const file = await spoolPath();
    const opened = open(file, 'wx');
    const spool = new SpoolFile(file, Buffer.from('META'), opened);

    spool.write(Buffer.from('dataset'));
    spool.end();
    await spool.syncing;
    await spool.done;

    expect(await readFile(file, 'utf8')).toBe('METAdataset');
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

  it('when destroyed before its end (an aborted association), done rejects', async () => {
    const spool = new SpoolFile(await spoolPath(), Buffer.from('META'));
    spool.write(Buffer.from('partial'));

    spool.destroy();

    await expect(spool.done).rejects.toThrow(/not received completely/);
  });

  it('when the file cannot be created, done rejects and nothing is thrown at the writer', async () => {
    const spool = new SpoolFile('/nonexistent-dir/incoming.part', Buffer.from('META'));

    expect(() => spool.write(Buffer.from('data'))).not.toThrow();
    spool.end();

    await expect(spool.done).rejects.toThrow(/ENOENT/);
  });
});
