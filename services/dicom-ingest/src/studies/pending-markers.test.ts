import { mkdir, mkdtemp, readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PendingMarkers } from './pending-markers';

const STUDY = '1.2.826.0.1.3680043.10.7';

async function markers(): Promise<{ markers: PendingMarkers; dir: string }> {
  const root = await mkdtemp(path.join(tmpdir(), 'pending-'));
  const pending = new PendingMarkers(root);
  await pending.prepare();
  return { markers: pending, dir: path.join(root, '.pending') };
}

describe('PendingMarkers', () => {
  it('marks a study pending until it is cleared, and lists only UIDs', async () => {
    const { markers: pending, dir } = await markers();
    await pending.mark(STUDY);
    await mkdir(path.join(dir, 'not-a-uid'));
    expect(await pending.list()).toEqual([STUDY]);

    await pending.clear(STUDY);
    expect(await pending.list()).toEqual([]);
  });

  it('a directory under a study UID there (found by a fault review) neither fails the study nor stays forever', async () => {
    const { markers: pending, dir } = await markers();
    await mkdir(path.join(dir, STUDY, 'inside'), { recursive: true });

    await pending.mark(STUDY);
    expect((await stat(path.join(dir, STUDY))).isFile()).toBe(true);

    await mkdir(path.join(dir, `${STUDY}.1`, 'inside'), { recursive: true });
    expect(await pending.list()).toEqual(expect.arrayContaining([STUDY, `${STUDY}.1`]));
    await pending.clear(`${STUDY}.1`);
    expect(await readdir(dir)).toEqual([STUDY]);
  });
});
