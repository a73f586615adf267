import { KeyedLock } from './keyed-lock';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('KeyedLock', () => {
  test('tasks of the same key run one after the other, in the order asked, even when one fails', async () => {
    const lock = new KeyedLock();
    const order: string[] = [];
    let releaseFirst!: () => void;
    const first = lock.run('p1', async () => {
      order.push('publish:start');
      await new Promise<void>((resolve) => (releaseFirst = resolve));
      order.push('publish:end');
      throw new Error('failed');
    });
    const second = lock.run('p1', async () => {
      order.push('withdraw');
    });
    await tick();
    expect(order).toEqual(['publish:start']);
    releaseFirst();
    await expect(first).rejects.toThrow('failed');
    await second;
    expect(order).toEqual(['publish:start', 'publish:end', 'withdraw']);
    expect(lock.size).toBe(0);
  });

  test('tasks of different keys do not wait for each other', async () => {
    const lock = new KeyedLock();
    let release!: () => void;
    const blocked = lock.run('p1', () => new Promise<void>((resolve) => (release = resolve)));
    await expect(lock.run('p2', async () => 'done')).resolves.toBe('done');
    release();
    await blocked;
  });
});
