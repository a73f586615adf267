import { createReadStream, type ReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream';
import { createInflateRaw } from 'node:zlib';

/** The dataset ended in the middle of an element. */
export class TruncatedDatasetError extends Error {
  constructor() {
    super('the dataset ends in the middle of an element');
    this.name = 'TruncatedDatasetError';
  }
}

/** Forward-only reading of a dataset: the header walker reads what it keeps and skips the rest. */
export interface ByteSource {
  /**
   * The next `length` bytes, and those after them that are in memory already: the walker reads the
   * element headers of a whole window without a call per element.
   */
  readAtLeast(length: number): Promise<Buffer>;
  skip(length: number): Promise<void>;
  atEnd(): Promise<boolean>;
  close(): Promise<void>;
}

const WINDOW = 64 * 1024;

/**
 * A byte range of a file, read through a small window; skipped bytes are never read. `prefix` holds
 * the first bytes of the range when the caller has them in memory already (the head of a dataset
 * captured while it was received): most headers are then read without touching the file.
 */
export class FileByteSource implements ByteSource {
  private file: FileHandle | undefined;
  private window: Buffer;
  private windowStart: number;

  constructor(
    private readonly path: string,
    private position: number,
    private readonly end: number,
    prefix: Buffer = Buffer.alloc(0),
    /** Resolves once the file holds the whole range (it may still be being written). */
    private readonly ready: Promise<void> = Promise.resolve(),
    /** Bytes read at a time: smaller where little is read between skips (the headers of large items). */
    private readonly windowBytes = WINDOW,
  ) {
    this.window = prefix;
    this.windowStart = position;
  }

  async readAtLeast(length: number): Promise<Buffer> {
    if (this.position + length > this.end) {
      throw new TruncatedDatasetError();
    }
    if (this.position < this.windowStart || this.position + length > this.windowStart + this.window.length) {
      await this.fill(Math.max(length, this.windowBytes));
    }
    const from = this.position - this.windowStart;
    const to = Math.min(this.window.length, this.end - this.windowStart);
    this.position = this.windowStart + to;
    return this.window.subarray(from, to);
  }

  async skip(length: number): Promise<void> {
    if (this.position + length > this.end) {
      throw new TruncatedDatasetError();
    }
    this.position += length;
  }

  async atEnd(): Promise<boolean> {
    return this.position >= this.end;
  }

  async close(): Promise<void> {
    await this.file?.close();
    this.file = undefined;
  }

  private async fill(size: number): Promise<void> {
    await this.ready;
    this.file ??= await open(this.path, 'r');
    const wanted = Math.min(size, this.end - this.position);
    // A fresh buffer each time: slices handed out earlier stay valid.
    const buffer = Buffer.alloc(wanted);
    let filled = 0;
    while (filled < wanted) {
      const { bytesRead } = await this.file.read(buffer, filled, wanted - filled, this.position + filled);
      if (bytesRead === 0) {
        throw new TruncatedDatasetError();
      }
      filled += bytesRead;
    }
    this.window = buffer;
    this.windowStart = this.position;
  }
}

/** A deflated dataset (PS3.5 A.5), inflated on the fly from `start` to the end of the file. */
export class InflatingByteSource implements ByteSource {
  private readonly input: ReadStream;
  private readonly inflate = createInflateRaw();
  private readonly chunks: AsyncIterator<Buffer>;
  private pending: Buffer = Buffer.alloc(0);
  private exhausted = false;

  constructor(path: string, start: number) {
    this.input = createReadStream(path, { start, highWaterMark: WINDOW });
    // Errors surface through the iterator; the callback only keeps them from being unhandled.
    pipeline(this.input, this.inflate, () => undefined);
    this.chunks = this.inflate[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  async readAtLeast(length: number): Promise<Buffer> {
    await this.want(length);
    if (this.pending.length < length) {
      throw new TruncatedDatasetError();
    }
    const bytes = this.pending;
    this.pending = Buffer.alloc(0);
    return bytes;
  }

  async skip(length: number): Promise<void> {
    let left = length;
    while (left > 0) {
      if (this.pending.length === 0 && !(await this.pull())) {
        throw new TruncatedDatasetError();
      }
      const taken = Math.min(left, this.pending.length);
      this.pending = this.pending.subarray(taken);
      left -= taken;
    }
  }

  async atEnd(): Promise<boolean> {
    await this.want(1);
    return this.pending.length === 0;
  }

  async close(): Promise<void> {
    this.input.destroy();
    this.inflate.destroy();
  }

  private async want(length: number): Promise<void> {
    while (this.pending.length < length && (await this.pull())) {
      // keep pulling
    }
  }

  private async pull(): Promise<boolean> {
    if (this.exhausted) {
      return false;
    }
    const next = await this.chunks.next();
    if (next.done === true) {
      this.exhausted = true;
      return false;
    }
    this.pending = this.pending.length === 0 ? next.value : Buffer.concat([this.pending, next.value]);
    return true;
  }
}
