import { open, type FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';

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
 * resolves once every byte is on disk (fsync) and the file is closed; it rejects when the stream
 * fails or is destroyed before its end (an aborted association).
 */
export class SpoolFile extends Writable {
  private file: FileHandle | undefined;
  private position = 0;
  private acceptedBytes = 0;
  private readonly headChunks: Buffer[] = [];
  private headBytes = 0;
  readonly done: Promise<void>;

  constructor(
    readonly path: string,
    private readonly metaHeader: Buffer,
  ) {
    super({ highWaterMark: SPOOL_HIGH_WATER_MARK, decodeStrings: true });
    this.done = new Promise<void>((resolve, reject) => {
      this.once('error', reject);
      this.once('close', () =>
        this.writableFinished ? resolve() : reject(new Error('the dataset was not received completely')),
      );
    });
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
    open(this.path, 'wx', 0o640)
      .then(async (file) => {
        this.file = file;
        await this.writeAll(this.metaHeader);
      })
      .then(() => callback(), callback);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.writeDataset(chunk, callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this.writeDataset(Buffer.concat(chunks.map(({ chunk }) => chunk)), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    // A new file: fdatasync also persists its size, which is all the metadata reading it back needs.
    this.requireFile()
      .datasync()
      .then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const file = this.file;
    this.file = undefined;
    if (file === undefined) {
      callback(error);
      return;
    }
    file.close().then(
      () => callback(error),
      (closeError: unknown) => callback(error ?? (closeError as Error)),
    );
  }

  private writeDataset(bytes: Buffer, callback: (error?: Error | null) => void): void {
    this.writeAll(bytes).then(() => callback(), callback);
  }

  private async writeAll(bytes: Buffer): Promise<void> {
    const file = this.requireFile();
    let offset = 0;
    while (offset < bytes.length) {
      const { bytesWritten } = await file.write(bytes, offset, bytes.length - offset, this.position);
      offset += bytesWritten;
      this.position += bytesWritten;
    }
  }

  private requireFile(): FileHandle {
    if (this.file === undefined) {
      throw new Error('spool file is not open');
    }
    return this.file;
  }
}
