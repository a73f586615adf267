import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { closeSync, constants, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FsBatchThread } from './fs-batch-thread';
import { SpoolPool } from './spool-pool';

async function poolDir(): Promise<string> {
  return path.join(await mkdtemp(path.join(tmpdir(), 'spool-pool-')), '.spool');
}

const thread = new FsBatchThread();
afterAll(() => thread.close());

describe('SpoolPool', () => {
  it('hands out empty files that already exist, each once', async () => {
    const pool = new SpoolPool(await poolDir(), { size: 4, thread });
    await pool.reset();

    const claims = Array.from({ length: 10 }, () => pool.claim());
    const fds = await Promise.all(claims.map((claimed) => claimed.opened));

    expect(new Set(claims.map((claimed) => claimed.path)).size).toBe(10);
    for (const claimed of claims) {
      expect((await stat(claimed.path)).size).toBe(0);
    }
    fds.forEach((fd) => closeSync(fd));
    pool.close();
  });

  it('hands each file out open for writing with O_DSYNC: what is written through it is in the file at its path', async () => {
    const pool = new SpoolPool(await poolDir(), { size: 2, thread });
    await pool.reset();

    const claimed = pool.claim();
    const fd = await claimed.opened;
    // The open file's flags, as the kernel holds them (octal, Linux).
    const flags = Number.parseInt(/flags:\s+(\d+)/.exec(await readFile(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1] ?? '', 8);
    writeSync(fd, Buffer.from('dataset'), 0, 7, 0);
    closeSync(fd);

    expect(flags & constants.O_DSYNC).toBe(constants.O_DSYNC);
    expect(await readFile(claimed.path, 'utf8')).toBe('dataset');
    pool.close();
  });

  it('when claimed before it was filled, a file is created for the claim and ready once it exists', async () => {
    const pool = new SpoolPool(await poolDir(), { size: 2, thread });
    await mkdir(pool.dir, { recursive: true });

    const claimed = pool.claim();
    closeSync(await claimed.opened);

    expect((await stat(claimed.path)).isFile()).toBe(true);
    pool.close();
  });

  it('a file kept ready for a while and removed meanwhile (a cleaner, an operator) is never handed out: the claim gets one that exists', async () => {
    const pool = new SpoolPool(await poolDir(), { size: 4, thread });
    await pool.reset();
    for (let tries = 0; (await readdir(pool.dir)).length < 4 && tries < 200; tries++) await new Promise((resolve) => setTimeout(resolve, 10));
    await Promise.all((await readdir(pool.dir)).map((name) => rm(path.join(pool.dir, name))));
    const now = Date.now();
    const clock = jest.spyOn(Date, 'now').mockReturnValue(now + 11_000);
    try {
      const claimed = pool.claim();
      const fd = await claimed.opened;
      writeSync(fd, Buffer.from('dataset'), 0, 7, 0);
      closeSync(fd);
      expect(await readFile(claimed.path, 'utf8')).toBe('dataset');
    } finally {
      clock.mockRestore();
      pool.close();
    }
  });

  it('at reset, removes every file a previous run left (unused, or written by a store never answered)', async () => {
    const dir = await poolDir();
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'left-by-a-crash.part'), 'half a dataset');
    // A directory someone made there stopped every start (EISDIR): the spool is the node's own.
    await mkdir(path.join(dir, 'junk', 'deeper'), { recursive: true });

    const pool = new SpoolPool(dir, { size: 2, thread });
    expect(await pool.reset()).toBe(2);

    expect(await readdir(dir)).not.toContain('left-by-a-crash.part');
    expect(await readdir(dir)).not.toContain('junk');
    pool.close();
  });

  it('a claim whose file cannot be created fails its ready, and a later claim tries again', async () => {
    const dir = await poolDir();
    const pool = new SpoolPool(dir, { size: 2, thread });

    await expect(pool.claim().opened).rejects.toThrow(/ENOENT/);
    await mkdir(dir, { recursive: true });
    closeSync(await pool.claim().opened);
    pool.close();
  });
});
