import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FrameCache } from './frame-cache';

/** Files of `size` bytes; the "frames" loaded from one are its name, counted per load. */
function setup(maxBytes: number, framesBytes: (name: string) => number = () => 100) {
  const dir = mkdtempSync(path.join(tmpdir(), 'frame-cache-'));
  const file = (name: string, size = 100): string => {
    const at = path.join(dir, name);
    writeFileSync(at, Buffer.alloc(size));
    return at;
  };
  const loads: string[] = [];
  const cache = new FrameCache<string>(maxBytes, framesBytes);
  const get = (at: string, representation = 'stored', expectedBytes?: number) =>
    cache.get(
      at,
      representation,
      async () => {
        loads.push(`${path.basename(at)}/${representation}`);
        return path.basename(at);
      },
      expectedBytes,
    );
  return { cache, file, get, loads };
}

describe('FrameCache', () => {
  test('a file is loaded once per representation while kept; requests under way share the load', async () => {
    const { file, get, loads } = setup(1000);
    const a = file('a');
    await Promise.all([get(a), get(a), get(a)]);
    await get(a, '1.2.840.10008.1.2.1');
    await get(a);
    expect(loads).toEqual(['a/stored', 'a/1.2.840.10008.1.2.1']);
  });

  test('over the budget, the least recently used are dropped, by what their frames hold once loaded', async () => {
    const { cache, file, get, loads } = setup(250, (name) => (name === 'big' ? 200 : 100));
    const [a, b, big] = [file('a'), file('b'), file('big')];
    await get(a);
    await get(b);
    await get(a); // a used last: b is the older
    await get(big); // 100 + 100 + 200 > 250: b, then a, dropped
    expect(cache.heldBytes).toBe(200);
    await get(a);
    await get(b);
    expect(loads).toEqual(['a/stored', 'b/stored', 'big/stored', 'a/stored', 'b/stored']);
  });

  test('a file larger than the budget is loaded for each request, never kept; a failed load is not kept', async () => {
    const { cache, file, get, loads } = setup(150);
    const huge = file('huge', 200);
    await get(huge);
    await get(huge);
    expect(loads).toEqual(['huge/stored', 'huge/stored']);
    const failing = file('failing');
    await expect(cache.get(failing, 'stored', () => Promise.reject(new Error('unreadable')))).rejects.toThrow('unreadable');
    await get(failing);
    expect(loads.at(-1)).toBe('failing/stored');
    expect(cache.heldBytes).toBe(100);
  });

  test('what is expected small (where a large file\'s frames are) is kept whatever the file\'s size, counted by what it holds', async () => {
    const { cache, file, get, loads } = setup(150, () => 10);
    const huge = file('huge', 200);
    await get(huge, 'index', 5);
    await get(huge, 'index', 5);
    expect(loads).toEqual(['huge/index']);
    expect(cache.heldBytes).toBe(10);
  });
});
