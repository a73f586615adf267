import { GroupCommit, KeyedGroupCommit } from './group-commit';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('GroupCommit', () => {
  it('items added while a flush runs are flushed together in the next one, each caller resolved after its own flush', async () => {
    const flushes: number[][] = [];
    const gate = deferred();
    const group = new GroupCommit<number>(async (items) => {
      flushes.push([...items]);
      if (flushes.length === 1) {
        await gate.promise;
      }
    });
    const first = group.add(1);
    await new Promise((resolve) => setImmediate(resolve));
    const later = [group.add(2), group.add(3), group.add(4)];
    let laterDone = false;
    void Promise.all(later).then(() => {
      laterDone = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(laterDone).toBe(false);
    gate.resolve();
    await first;
    await Promise.all(later);
    expect(flushes).toEqual([[1], [2, 3, 4]]);
  });

  it('a failed flush rejects its own callers only', async () => {
    let calls = 0;
    const group = new GroupCommit<number>(async () => {
      calls++;
      if (calls === 1) {
        throw new Error('disk error');
      }
    });
    const failing = group.add(1);
    await expect(failing).rejects.toThrow('disk error');
    await expect(group.add(2)).resolves.toBeUndefined();
  });

  it('an exclusive task runs after the open batch and before items added after it', async () => {
    const order: string[] = [];
    const group = new GroupCommit<string>(async (items) => void order.push(`flush ${items.join(',')}`));
    const a = group.add('a');
    const read = group.exclusive(async () => void order.push('read'));
    const b = group.add('b');
    await Promise.all([a, read, b]);
    expect(order).toEqual(['flush a', 'read', 'flush b']);
  });
});

describe('KeyedGroupCommit', () => {
  it('keeps the batches of different keys apart and forgets idle keys', async () => {
    const flushes: string[] = [];
    const groups = new KeyedGroupCommit<string>(async (key, items) => void flushes.push(`${key}:${items.join(',')}`));
    await Promise.all([groups.add('x', '1'), groups.add('y', '2'), groups.add('x', '3')]);
    expect(flushes.sort()).toEqual(['x:1,3', 'y:2']);
    await new Promise((resolve) => setImmediate(resolve));
    expect((groups as unknown as { groups: Map<string, unknown> }).groups.size).toBe(0);
  });
});
