import { stat } from 'node:fs/promises';

/**
 * What was read of the instances whose frames were asked for last, kept while it fits in `maxBytes`.
 * A viewer asks a multi-frame instance for its frames one by one (or eight at a time); reading and
 * cutting the instance for each request read a 100 MB, 200-frame file 200 times (1.3 s per 512 KB
 * frame, 1.4 GB at eight at once; a review's probe, 2026-12-07). An entry is keyed by the file and
 * what it was at the time (size, modification time: an instance sent again replaces its file) and by
 * the representation (its frames as stored or decoded to a syntax, or where its frames are); a load
 * under way is shared by the requests that wait for it. An entry counts what the caller expects it
 * to hold (by default the file's size) until it is loaded, then what `sizeOf` says it holds (decoded
 * frames are larger than the file). What is expected larger than the whole budget is not kept.
 */
export class FrameCache<Value> {
  private readonly entries = new Map<string, { bytes: number; value: Promise<Value> }>();
  private bytes = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly sizeOf: (value: Value) => number,
  ) {}

  /**
   * What `load` gives for `file` in `representation`, loaded once per version of the file while
   * kept. A representation always holds what its own `load` gives (`Loaded`).
   */
  async get<Loaded extends Value>(file: string, representation: string, load: () => Promise<Loaded>, expectedBytes?: number): Promise<Loaded> {
    const info = await stat(file);
    const expected = expectedBytes ?? info.size;
    if (expected > this.maxBytes) return load();
    const key = `${info.size}:${info.mtimeMs}:${representation}:${file}`;
    const held = this.entries.get(key);
    if (held) {
      // Most recently used last: the first entry is the one to drop.
      this.entries.delete(key);
      this.entries.set(key, held);
      return held.value as Promise<Loaded>;
    }
    const value = load();
    const entry = { bytes: expected, value };
    this.entries.set(key, entry);
    this.bytes += entry.bytes;
    this.evict();
    value.then(
      (loaded) => {
        if (this.entries.get(key) !== entry) return;
        const bytes = this.sizeOf(loaded);
        this.bytes += bytes - entry.bytes;
        entry.bytes = bytes;
        this.evict();
      },
      // A failed load is not kept: the next request tries again (and answers its own error).
      () => this.drop(key),
    );
    return value;
  }

  /** Held now, in bytes (for tests and metrics). */
  get heldBytes(): number {
    return this.bytes;
  }

  private evict(): void {
    for (const [oldest] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.drop(oldest);
    }
  }

  private drop(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.bytes -= entry.bytes;
  }
}
