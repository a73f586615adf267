import { stat } from 'node:fs/promises';

/**
 * The frames of the instances whose frames were asked for last, kept while they fit in `maxBytes`.
 * A viewer asks a multi-frame instance for its frames one by one (or eight at a time); reading and
 * cutting the instance for each request read a 100 MB, 200-frame file 200 times (1.3 s per 512 KB
 * frame, 1.4 GB at eight at once; a review's probe, 2026-12-07). An entry is keyed by the file and
 * what it was at the time (size, modification time: an instance sent again replaces its file) and by
 * the representation (as stored, or decoded to a syntax); a load under way is shared by the requests
 * that wait for it. An entry counts the file's size until it is loaded, then what `sizeOf` says it
 * holds (decoded frames are larger than the file). What is larger than the whole budget is not kept.
 */
export class FrameCache<Frames> {
  private readonly entries = new Map<string, { bytes: number; frames: Promise<Frames> }>();
  private bytes = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly sizeOf: (frames: Frames) => number,
  ) {}

  /** The frames of `file` in `representation`: `load`'s, once per version of the file while kept. */
  async get(file: string, representation: string, load: () => Promise<Frames>): Promise<Frames> {
    const info = await stat(file);
    if (info.size > this.maxBytes) return load();
    const key = `${info.size}:${info.mtimeMs}:${representation}:${file}`;
    const held = this.entries.get(key);
    if (held) {
      // Most recently used last: the first entry is the one to drop.
      this.entries.delete(key);
      this.entries.set(key, held);
      return held.frames;
    }
    const frames = load();
    const entry = { bytes: info.size, frames };
    this.entries.set(key, entry);
    this.bytes += entry.bytes;
    this.evict();
    frames.then(
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
    return frames;
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
