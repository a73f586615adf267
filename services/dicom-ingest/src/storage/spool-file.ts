import { closeSync, constants, fdatasync, open, write, writev } from 'node:fs';
import { Writable } from 'node:stream';
import { crc32 } from 'node:zlib';

/**
 * Big enough that the first write of a dataset (one PDV, at most one PDU) never reports
 * back-pressure: dcmjs-dimse 0.3.3 awaits 'drain' only after the first write of a dataset and then
 * handles the rest of that PDU late, which could reorder fragments.
 */
export const SPOOL_HIGH_WATER_MARK = 8 * 1024 * 1024;

/** Dataset bytes kept in memory while writing: most headers end well before, so parsing needs no read. */
const HEAD_CAPTURE = 64 * 1024;

type WriteCallback = (error: Error | null | undefined) => void;

/**
 * A Part 10 file being received: the file meta header is written first, then every dataset
 * fragment as it arrives, so that no instance is ever held whole in memory. After `end()`, `done`
 * resolves once every byte is on disk (an fdatasync, or writes through an O_DSYNC handle when the
 * whole file goes out at once); the file is closed right after, on the main thread (a close costs a
 * few µs; a trip to libuv's pool for it cost ten times that), once no call on it is under way, so
 * that its descriptor is never reused under a write. `done` rejects when the stream fails or is
 * destroyed before its end (an aborted association).
 */
export class SpoolFile extends Writable {
  /** The file opened plainly: for a dataset written in parts, made durable by one fdatasync at its end. */
  private file: number | undefined;
  /** The file opened with O_DSYNC, when made ahead (SpoolPool): a dataset written whole goes out through it. */
  private durableFile: number | undefined;
  /** Settles once the call on the file under way (a write, the fdatasync) has returned. */
  private underWay: Promise<unknown> = Promise.resolve();
  /** Set when the whole file went out in writes through `durableFile`: nothing is left to fdatasync. */
  private writtenDurably = false;
  private position = 0;
  private acceptedBytes = 0;
  private readonly headChunks: Buffer[] = [];
  private headBytes = 0;
  /** CRC-32 of every byte handed over so far, the file meta header included. */
  private checksum: number;
  readonly done: Promise<void>;
  /**
   * Resolves once every byte is written and the sync has started (the fdatasync, or the one O_DSYNC write), or the stream failed: work
   * for the main thread is best done then, while the disk syncs, not before the writes are issued.
   */
  readonly syncing: Promise<void>;
  private syncStarted: () => void = () => undefined;

  /**
   * `opened`: the file was made ahead and is open with O_DSYNC (a SpoolPool file, empty, its
   * directory entry durable once this resolves); this stream owns the descriptor from then on, and
   * opens the file plainly too if the dataset comes in parts. Without it, the file is created here.
   */
  constructor(
    readonly path: string,
    private readonly metaHeader: Buffer,
    private readonly opened?: Promise<number>,
  ) {
    super({ highWaterMark: SPOOL_HIGH_WATER_MARK, decodeStrings: true });
    this.checksum = crc32(metaHeader);
    this.done = new Promise<void>((resolve, reject) => {
      this.once('error', reject);
      this.once('finish', resolve);
      this.once('close', () => {
        if (!this.writableFinished) {
          reject(new Error('the dataset was not received completely'));
        }
      });
    });
    this.syncing = new Promise<void>((resolve) => {
      this.syncStarted = resolve;
    });
    void this.done.catch(() => undefined).finally(() => this.syncStarted());
    // Queued while the file opens, with the first fragments: they go to disk in one writev.
    super.write(metaHeader);
    // 'done' is awaited only for stores that reach the end; an aborted one must not raise an unhandled rejection.
    this.done.catch(() => undefined);
  }

  /** Byte offset of the dataset in the file (right after the file meta header). */
  get datasetOffset(): number {
    return this.metaHeader.length;
  }

  /** Size of the Part 10 file with every byte handed over so far, whether already on disk or still queued. */
  get size(): number {
    return this.metaHeader.length + this.acceptedBytes;
  }

  /**
   * CRC-32 (zlib's) of the Part 10 file with every byte handed over so far: known before the bytes
   * are on disk, so that the study index can take the file's line while the file is still being
   * written, and a restart can tell whether the file it names became durable.
   */
  get crc32(): number {
    return this.checksum;
  }

  /** The first bytes of the dataset (up to 64 KB), as received. */
  get datasetHead(): Buffer {
    return Buffer.concat(this.headChunks, this.headBytes);
  }

  /**
   * Counts every fragment and keeps the head of the dataset as fragments are handed over, not when
   * they reach the disk: the header can then be parsed while the file is still being written.
   */
  override write(chunk: Buffer, encoding?: BufferEncoding | WriteCallback, callback?: WriteCallback): boolean {
    this.acceptedBytes += chunk.length;
    this.checksum = crc32(chunk, this.checksum);
    if (this.headBytes < HEAD_CAPTURE) {
      const kept = chunk.subarray(0, HEAD_CAPTURE - this.headBytes);
      this.headChunks.push(kept);
      this.headBytes += kept.length;
    }
    if (typeof encoding === 'function') {
      return super.write(chunk, encoding);
    }
    return encoding === undefined ? super.write(chunk, callback) : super.write(chunk, encoding, callback);
  }

  override _construct(callback: (error?: Error | null) => void): void {
    if (this.opened === undefined) {
      open(this.path, 'wx', 0o640, (error, fd) => {
        if (error === null) {
          this.file = fd;
        }
        callback(error);
      });
      return;
    }
    this.opened.then((durable) => {
      this.durableFile = durable;
      callback();
    }, callback);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.writeAll([chunk]).then(() => callback(), callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this.writeAll(chunks.map(({ chunk }) => chunk)).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.writtenDurably) {
      callback();
      return;
    }
    // fdatasync also persists the file's size, which is all the metadata reading it back needs.
    const synced = this.call<void>((done) => fdatasync(this.requireFile(), done));
    this.syncStarted();
    synced.then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // A call may still be under way when the stream is destroyed early (an aborted association):
    // the file is closed once it returned, and no call starts once destroyed (see `call`).
    void this.underWay.then(() => {
      const open = [this.file, this.durableFile].filter((fd) => fd !== undefined);
      this.file = undefined;
      this.durableFile = undefined;
      let closeError: Error | undefined;
      for (const fd of open) {
        try {
          closeSync(fd);
        } catch (failure) {
          closeError ??= failure as Error;
        }
      }
      callback(error ?? closeError);
    });
  }

  /**
   * One writev for the buffers queued together; a short write (rare) is completed byte-wise. When
   * they are the whole file (nothing written yet, and the stream already ended: a dataset received
   * in one go), they go through the O_DSYNC handle, and are durable when the writes return.
   * Otherwise they go through a plain handle, opened at the first such write.
   */
  private async writeAll(buffers: Buffer[]): Promise<void> {
    const whole = this.position === 0 && this.writableEnded && this.durableFile !== undefined;
    const file = whole && this.durableFile !== undefined ? this.durableFile : await this.plainFile();
    const total = buffers.reduce((sum, buffer) => sum + buffer.length, 0);
    const position = this.position;
    const writing = this.call<number>((done) => writev(file, buffers, position, done));
    if (whole) {
      this.writtenDurably = true;
      // The sync runs in this write: the main thread's work may start now (see `syncing`).
      this.syncStarted();
    }
    const bytesWritten = await writing;
    this.position += bytesWritten;
    if (bytesWritten === total) {
      return;
    }
    const rest = Buffer.concat(buffers).subarray(bytesWritten);
    for (let offset = 0; offset < rest.length; ) {
      const [from, position] = [offset, this.position];
      const written = await this.call<number>((done) => write(file, rest, from, rest.length - from, position, done));
      offset += written;
      this.position += written;
    }
  }

  private requireFile(): number {
    if (this.file === undefined) {
      throw new Error('spool file is not open');
    }
    return this.file;
  }

  /** The plain descriptor; a file made ahead is opened plainly on its first write in parts (writes are serial: opened once). */
  private async plainFile(): Promise<number> {
    this.file ??= await this.call<number>((done) => open(this.path, constants.O_WRONLY, done));
    return this.file;
  }

  /** Runs one callback-style call on the file, remembered as under way until it returns; none once destroyed. */
  private call<T>(run: (done: (error: NodeJS.ErrnoException | null, result: T) => void) => void): Promise<T> {
    if (this.destroyed) {
      return Promise.reject(new Error('the spool file was closed'));
    }
    const result = new Promise<T>((resolve, reject) => run((error, value) => (error === null ? resolve(value) : reject(error))));
    this.underWay = result.catch(() => undefined);
    return result;
  }
}
