import { constants, createReadStream } from 'node:fs';
import { mkdir, open, rename, stat, truncate, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { z } from 'zod';
import { dicomJsonSchema, dicomUidSchema } from '@imaging-facade/dicom';
import { fsyncDirectory, hasErrorCode, IDLE_NAME_CHECK_MS, removeDurably, stillNamed, writeDurably } from '../storage/fs-durable';
import { KeyedGroupCommit } from '../storage/group-commit';
import { supersededPlaces } from './instance-places';
import { SharedAttributes } from './shared-attributes';

/**
 * What the study-completed snapshot is built from: one line per received instance in
 * `<root>/<StudyUID>/study-index.ndjson`, appended and fsynced before the instance is acknowledged.
 * An instance received again gets a new line; readers keep the last line of each SOP Instance UID,
 * whatever series it came with, and `compact` drops the older lines once the study is published,
 * with the files of the places the instance left (`supersededPlaces`). The file holds patient data (the
 * study-level attributes), like the instances next to it. It is also the outbox of the
 * instance-stored events (see InstanceOutbox), which is why it records the AE titles.
 */
export const indexRecordSchema = z.object({
  sopInstanceUid: dicomUidSchema,
  seriesInstanceUid: dicomUidSchema,
  sopClassUid: dicomUidSchema,
  transferSyntaxUid: dicomUidSchema,
  storagePath: z.string().min(1),
  /**
   * The spool file the instance was written into before it was renamed to `storagePath` (absent in
   * indexes written before spool files). Both relative to the storage root.
   */
  spoolPath: z.string().min(1).optional(),
  sizeBytes: z.number().int().nonnegative(),
  /**
   * CRC-32 (zlib's) of the Part 10 file (absent in indexes written before lines could precede their
   * files). The line is written while the file is: after a crash, a spool file is taken as the
   * line's only if its size and checksum match (see `dropUnplaced`).
   */
  crc32: z.number().int().nonnegative().optional(),
  receivedAt: z.iso.datetime({ offset: true }),
  study: dicomJsonSchema,
  series: dicomJsonSchema,
  instance: dicomJsonSchema,
  /** The content tree of a radiation dose report (see InstanceHeader.content). */
  content: dicomJsonSchema.optional(),
  /** The association the instance came on (absent in indexes written before they were recorded). */
  callingAeTitle: z.string().optional(),
  calledAeTitle: z.string().optional(),
});

export type IndexRecord = z.infer<typeof indexRecordSchema>;

/** A line as read: its study and series attributes are checked apart, once per distinct value (see SharedAttributes). */
const indexLineSchema = indexRecordSchema.extend({ study: z.unknown(), series: z.unknown() });

export interface IndexContents {
  records: IndexRecord[];
  /** Lines that could not be read (a torn last line after a crash is expected, anything else is not). */
  unreadableLines: number;
}

const INDEX_FILE = 'study-index.ndjson';

/** One line of an index (without its newline) and the byte offset it starts at. */
export interface IndexLine {
  text: string;
  start: number;
}

/** Complete lines of an index from a byte offset on, and the offset right after the last of them. */
export interface IndexTail {
  lines: IndexLine[];
  end: number;
  /** The read stopped at its size limit, before the end the file had: more complete lines may follow. */
  more: boolean;
}

/** Reads at most this much of an index at once when draining it. */
const TAIL_CHUNK = 1024 * 1024;

/** Appends that are durable when the write returns (see `write`). */
const APPEND_DURABLY = constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | constants.O_DSYNC;

/** Index files kept open for appending; past this, the least recently appended one is closed. */
const MAX_OPEN_INDEXES = 64;

export class StudyIndex {
  /** Appends of concurrent associations to one study share one durable write (group commit). */
  private readonly writes = new KeyedGroupCommit<string>((studyUid, lines) => this.write(studyUid, lines));
  /** Studies whose index file has a durable directory entry (written by this process). Bounded, cleared when full. */
  private readonly knownEntries = new Set<string>();
  /**
   * Index files open for appending, most recently appended last. Opening and closing the file for
   * every line cost more than its durable write. A handle is only used and closed
   * inside its study's group commit, so never under a write of the same study.
   */
  private readonly appending = new Map<string, FileHandle>();
  /** When each open index was last appended to (ms): one idle for longer is checked before it is used again. */
  private readonly lastAppend = new Map<string, number>();

  constructor(private readonly root: string) {}

  indexPath(studyUid: string): string {
    return path.join(this.root, studyUid, INDEX_FILE);
  }

  /** Appends one record durably. The study directory exists: the instance file was committed first. */
  async append(studyUid: string, record: IndexRecord): Promise<void> {
    await this.writes.add(studyUid, `${JSON.stringify(record)}\n`);
  }

  private async write(studyUid: string, lines: string[]): Promise<void> {
    const file = await this.appendHandle(studyUid);
    try {
      // Opened with O_DSYNC: the write returns once the lines (and the file's size) are durable, as
      // a write and an fdatasync would, in one call. The first write of this process to an index
      // may have created it: its entry in the study directory is made durable too (once; the study
      // directory's own entry is durable already).
      await Promise.all([appendWhole(file, Buffer.from(lines.join(''))), this.knownEntries.has(studyUid) ? undefined : fsyncDirectory(path.dirname(this.indexPath(studyUid)))]);
    } catch (error) {
      // The next append starts from a fresh open (the file may have been removed or replaced).
      await this.closeHandle(studyUid);
      throw error;
    }
    if (this.knownEntries.size >= 10_000) {
      this.knownEntries.clear();
    }
    this.knownEntries.add(studyUid);
  }

  private async appendHandle(studyUid: string): Promise<FileHandle> {
    const cached = this.appending.get(studyUid);
    const now = Date.now();
    const idle = now - (this.lastAppend.get(studyUid) ?? now) >= IDLE_NAME_CHECK_MS;
    if (cached !== undefined && idle && !stillNamed(cached.fd)) {
      // Removed since its last append (the study directory deleted): lines appended to it would be
      // lost. The file made again needs its directory entry made durable again too.
      await this.closeHandle(studyUid);
      this.knownEntries.delete(studyUid);
    } else if (cached !== undefined) {
      // Most recently appended last: the first entry is the one to close when too many are open.
      this.appending.delete(studyUid);
      this.appending.set(studyUid, cached);
      this.lastAppend.set(studyUid, now);
      return cached;
    }
    const file = await this.openForAppend(this.indexPath(studyUid));
    try {
      await cutTornTail(file);
    } catch (error) {
      await file.close().catch(() => undefined);
      throw error;
    }
    this.appending.set(studyUid, file);
    this.lastAppend.set(studyUid, now);
    const oldest = this.appending.keys().next().value;
    if (this.appending.size > MAX_OPEN_INDEXES && oldest !== undefined) {
      // Closed between that study's writes, not during one.
      void this.writes.exclusive(oldest, () => this.closeHandle(oldest)).catch(() => undefined);
    }
    return file;
  }

  /**
   * Closes every index kept open for appending, each between its study's writes (at shutdown,
   * once nothing appends any more; an append after it opens the file again).
   */
  async close(): Promise<void> {
    await Promise.all([...this.appending.keys()].map((studyUid) => this.writes.exclusive(studyUid, () => this.closeHandle(studyUid))));
  }

  /** Opens an index for durable appends (a seam for tests that make the disk fail). */
  protected openForAppend(file: string): Promise<FileHandle> {
    return open(file, APPEND_DURABLY, 0o640);
  }

  /** Closes the study's append handle, if open. Called inside its group commit only. */
  private async closeHandle(studyUid: string): Promise<void> {
    const file = this.appending.get(studyUid);
    if (file === undefined) {
      return;
    }
    this.appending.delete(studyUid);
    this.lastAppend.delete(studyUid);
    await file.close().catch(() => undefined);
  }

  /** Every readable record, in the order received, after every append already made. */
  read(studyUid: string): Promise<IndexContents> {
    return this.writes.exclusive(studyUid, () => this.readNow(studyUid));
  }

  /** Size in bytes of the index (0 when the study has none). */
  async size(studyUid: string): Promise<number> {
    try {
      return (await stat(this.indexPath(studyUid))).size;
    } catch (error) {
      if (isMissing(error)) {
        return 0;
      }
      throw error;
    }
  }

  /** The complete lines from `offset` on (up to about 1 MB of them), for the outbox. */
  async readFrom(studyUid: string, offset: number): Promise<IndexTail> {
    let file: FileHandle;
    try {
      file = await open(this.indexPath(studyUid), 'r');
    } catch (error) {
      if (isMissing(error)) {
        return { lines: [], end: offset, more: false };
      }
      throw error;
    }
    try {
      const available = Math.max(0, (await file.stat()).size - offset);
      const length = Math.min(TAIL_CHUNK, available);
      const more = length < available;
      if (length === 0) {
        return { lines: [], end: offset, more };
      }
      const buffer = Buffer.allocUnsafe(length);
      const { bytesRead } = await file.read(buffer, 0, length, offset);
      const lastNewline = buffer.subarray(0, bytesRead).lastIndexOf(0x0a);
      if (lastNewline < 0) {
        return { lines: [], end: offset, more };
      }
      const lines: IndexLine[] = [];
      for (let start = 0; start < lastNewline; ) {
        const newline = buffer.indexOf(0x0a, start);
        if (newline > start) {
          lines.push({ text: buffer.toString('utf8', start, newline), start: offset + start });
        }
        start = newline + 1;
      }
      return { lines, end: offset + lastNewline + 1, more };
    } finally {
      await file.close();
    }
  }

  /**
   * Rewrites the index with only the last record of each instance (issue: it grew with every
   * re-send), atomically, leaving out the void lines (by spool file, see LineSettlement). An
   * instance sent again with another series had two places: the file in the place its last record
   * does not name is removed first (`supersededPlaces`). Returns the index's size afterwards.
   */
  compact(studyUid: string, voidSpoolPaths: ReadonlySet<string> = new Set()): Promise<number> {
    return this.writes.exclusive(studyUid, async () => {
      const { records, unreadableLines } = await this.readNow(studyUid);
      const last = new Map<string, IndexRecord>();
      for (const record of records) {
        if (record.spoolPath !== undefined && voidSpoolPaths.has(record.spoolPath)) {
          continue;
        }
        last.delete(record.sopInstanceUid);
        last.set(record.sopInstanceUid, record);
      }
      // Published: its appends are over for now; the next one opens the file again.
      await this.closeHandle(studyUid);
      if (last.size === records.length && unreadableLines === 0) {
        return this.size(studyUid);
      }
      // Before the lines naming them are dropped: the study is still pending, so a crash in between
      // leaves lines without a file, which the next start drops (`dropUnplaced`). The other way
      // round, it would leave files that no line names.
      await this.removePlaces(supersededPlaces(records, last));
      return this.replace(studyUid, [...last.values()]);
    });
  }

  /**
   * Published with nothing to drop (one readable line per instance, none void, as the snapshot's
   * read found it): the index stays as it is, and is closed until the next append opens it again.
   */
  release(studyUid: string): Promise<void> {
    return this.writes.exclusive(studyUid, () => this.closeHandle(studyUid));
  }

  /**
   * At the start after a crash, for a study still pending: finishes the renames a crash undid and
   * drops the lines that name no durable file. A line is written while its spool file is, and the
   * file is renamed to its place after both are durable; the renames' directory entries are fsynced
   * later (before the study is published). So, per place, in the order of the lines:
   * - the last line whose spool file is still there with the size and checksum recorded is the
   *   newest durable copy, unless the place already holds the file of a later line (its earlier
   *   rename failed, a later one did not);
   * - otherwise the line whose size (and, when sizes alone do not tell, checksum) the file in place
   *   has is kept;
   * - every other line of the place is dropped: superseded, or its file never became durable (an
   *   instance never answered with success, or refused because its file could not be written).
   * Then, per instance, the last of the lines kept wins (one place per instance, `supersededPlaces`):
   * its spool file, if that is where its copy is, is renamed into place, and the files of its other
   * places are removed with their lines (it was sent again with another series).
   * Returns how many lines were dropped.
   */
  dropUnplaced(studyUid: string): Promise<number> {
    return this.writes.exclusive(studyUid, async () => {
      const { records } = await this.readNow(studyUid);
      const byPlace = new Map<string, IndexRecord[]>();
      for (const record of records) {
        byPlace.set(record.storagePath, [...(byPlace.get(record.storagePath) ?? []), record]);
      }
      // Per place, the line whose copy is durable, and whether that copy is still its spool file.
      const durable = new Map<IndexRecord, { spooled: boolean }>();
      for (const [place, lines] of byPlace) {
        const spooled = await this.lastSpooled(lines);
        const owner = spooled === undefined ? await this.placedOwner(place, lines, false) : await this.placedOwner(place, lines.slice(lines.indexOf(spooled) + 1), true);
        if (owner !== undefined) {
          durable.set(owner, { spooled: false });
        } else if (spooled?.spoolPath !== undefined) {
          durable.set(spooled, { spooled: true });
        }
      }
      const held = new Map<string, IndexRecord>();
      for (const record of records.filter((line) => durable.has(line))) {
        held.set(record.sopInstanceUid, record);
      }
      const touched = new Set<string>();
      for (const line of held.values()) {
        if (durable.get(line)?.spooled === true && line.spoolPath !== undefined) {
          const target = path.join(this.root, line.storagePath);
          await mkdir(path.dirname(target), { recursive: true });
          await rename(path.join(this.root, line.spoolPath), target);
          // Series and study directories alike: the rename may have recreated either.
          touched.add(path.dirname(target));
          touched.add(path.dirname(path.dirname(target)));
          touched.add(path.dirname(path.join(this.root, line.spoolPath)));
        }
      }
      // The copies that win are durable in their places before any other copy is removed.
      await Promise.all([...touched].map((dir) => fsyncDirectory(dir)));
      await this.removePlaces(supersededPlaces(records, held));
      const kept = records.filter((record) => held.get(record.sopInstanceUid) === record);
      if (kept.length < records.length) {
        await this.replace(studyUid, kept);
      }
      return records.length - kept.length;
    });
  }

  /** Removes the files in these places (relative to the root) durably, and a series directory they leave empty. */
  private removePlaces(places: readonly string[]): Promise<void> {
    return removeDurably(places.map((place) => path.join(this.root, place)));
  }

  /** The last of these lines whose spool file is there with its size and checksum (looked for from the last line back). */
  private async lastSpooled(lines: IndexRecord[]): Promise<IndexRecord | undefined> {
    for (const line of [...lines].reverse()) {
      if (line.spoolPath !== undefined && (await this.matches(line.spoolPath, line.sizeBytes, line.crc32))) {
        return line;
      }
    }
    return undefined;
  }

  /**
   * The line, among these, whose file is in `place`: the last one of its size. The file's checksum
   * tells when sizes alone do not: when lines of that size carry different checksums (a re-send of
   * the same size with other content), or when `mayBeOlder` (a durable spool file precedes these
   * lines, so the file in place may be older than all of them, e.g. a copy published earlier).
   */
  private async placedOwner(place: string, lines: IndexRecord[], mayBeOlder: boolean): Promise<IndexRecord | undefined> {
    const size = await this.sizeOf(place);
    const candidates = lines.filter((line) => line.sizeBytes === size);
    if (candidates.length === 0 || (!mayBeOlder && new Set(candidates.map((line) => line.crc32)).size <= 1)) {
      return candidates.at(-1);
    }
    const checksum = await crc32Of(path.join(this.root, place));
    return [...candidates].reverse().find((line) => line.crc32 === undefined || line.crc32 === checksum);
  }

  /** The file has this size, and this CRC-32 when one is given. */
  private async matches(relative: string, sizeBytes: number, checksum: number | undefined): Promise<boolean> {
    if ((await this.sizeOf(relative)) !== sizeBytes) {
      return false;
    }
    return checksum === undefined || (await crc32Of(path.join(this.root, relative))) === checksum;
  }

  private async sizeOf(relative: string): Promise<number | undefined> {
    try {
      return (await stat(path.join(this.root, relative))).size;
    } catch (error) {
      if (isMissing(error)) {
        return undefined;
      }
      throw error;
    }
  }

  /** Rewrites the index atomically: a new file fsynced, renamed over the old one, the directory fsynced. Returns its size. */
  private async replace(studyUid: string, records: IndexRecord[]): Promise<number> {
    const target = this.indexPath(studyUid);
    const text = records.map((record) => `${JSON.stringify(record)}\n`).join('');
    const temporary = `${target}.compacting`;
    await writeDurably(temporary, Buffer.from(text));
    // A handle on the file being replaced would append to the old one.
    await this.closeHandle(studyUid);
    await rename(temporary, target);
    await fsyncDirectory(path.dirname(target));
    return Buffer.byteLength(text);
  }

  /** Streamed: a large study's index is not read at once. */
  private async readNow(studyUid: string): Promise<IndexContents> {
    const records: IndexRecord[] = [];
    const shared = new SharedAttributes();
    let unreadableLines = 0;
    const take = (line: string): void => {
      if (line.length === 0) {
        return;
      }
      const parsed = parseLine(line, shared);
      if (parsed === undefined) {
        unreadableLines++;
      } else {
        records.push(parsed);
      }
    };
    let file: FileHandle;
    try {
      file = await open(this.indexPath(studyUid), 'r');
    } catch (error) {
      if (isMissing(error)) {
        return { records: [], unreadableLines: 0 };
      }
      throw error;
    }
    try {
      let rest = '';
      for await (const chunk of file.createReadStream({ encoding: 'utf8', autoClose: false })) {
        const lines = (rest + (chunk as string)).split('\n');
        rest = lines.pop() ?? '';
        lines.forEach(take);
      }
      take(rest);
    } finally {
      await file.close();
    }
    return { records, unreadableLines };
  }

  /**
   * Cuts a line torn by a crash during an append, so that the next append does not glue a good
   * record to it. That line's instance was never acknowledged: the sender sends it again.
   */
  repair(studyUid: string): Promise<boolean> {
    return this.writes.exclusive(studyUid, () => this.repairNow(studyUid));
  }

  private async repairNow(studyUid: string): Promise<boolean> {
    const file = this.indexPath(studyUid);
    let size: number;
    try {
      size = (await stat(file)).size;
    } catch (error) {
      if (isMissing(error)) {
        return false;
      }
      throw error;
    }
    const keep = await lengthUpToLastNewline(file, size);
    if (keep === size) {
      return false;
    }
    await truncate(file, keep);
    const handle = await open(file, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    return true;
  }
}

function parseLine(line: string, shared: SharedAttributes): IndexRecord | undefined {
  let result;
  try {
    result = indexLineSchema.safeParse(JSON.parse(line));
  } catch {
    return undefined;
  }
  if (!result.success) {
    return undefined;
  }
  const study = shared.study(result.data.study);
  const series = shared.series(result.data.seriesInstanceUid, result.data.series);
  // Spread over the parsed line: study and series keep their place among its keys.
  return study === undefined || series === undefined ? undefined : { ...result.data, study, series };
}

async function lengthUpToLastNewline(file: string, size: number): Promise<number> {
  const handle = await open(file, 'r');
  try {
    const chunk = Buffer.alloc(64 * 1024);
    for (let end = size; end > 0; ) {
      const start = Math.max(0, end - chunk.length);
      const { bytesRead } = await handle.read(chunk, 0, end - start, start);
      const newline = chunk.subarray(0, bytesRead).lastIndexOf(0x0a);
      if (newline >= 0) {
        return start + newline + 1;
      }
      end = start;
    }
    return 0;
  } finally {
    await handle.close();
  }
}

/** CRC-32 (zlib's) of a whole file, read in a stream. */
async function crc32Of(file: string): Promise<number> {
  let checksum = 0;
  for await (const chunk of createReadStream(file)) {
    checksum = crc32(chunk as Buffer, checksum);
  }
  return checksum;
}

function isMissing(error: unknown): boolean {
  return hasErrorCode(error, 'ENOENT');
}

/**
 * Appends every byte of `data`, or none. A write may return short without an error (ext4 out of
 * blocks mid-write, as a review reproduced on a full disk): the rest is written on, and when a
 * write fails the bytes already appended are cut off again, so that no caller is answered for a
 * line that is not whole, and the next append does not glue onto a torn one.
 */
async function appendWhole(file: FileHandle, data: Buffer): Promise<void> {
  let written = 0;
  try {
    while (written < data.length) {
      const { bytesWritten } = await file.write(data, written, data.length - written);
      if (bytesWritten <= 0) {
        throw Object.assign(new Error('the index took no more bytes (disk full?)'), { code: 'ENOSPC' });
      }
      written += bytesWritten;
    }
  } catch (error) {
    if (written > 0) {
      const { size } = await file.stat();
      await file.truncate(size - written);
      await file.datasync();
    }
    throw error;
  }
}

/** How far back a torn last line is looked for: far longer than any index line. */
const TORN_TAIL_MAX = 4 * 1024 * 1024;

/**
 * Cuts an index back to its last complete line when it does not end with one (an append torn by a
 * crash, or one whose cut-back failed), before anything is appended to it. Readers already skip
 * such a line; appending after it would make the next line unreadable too.
 */
async function cutTornTail(file: FileHandle): Promise<void> {
  const { size } = await file.stat();
  if (size === 0) {
    return;
  }
  const length = Math.min(size, TORN_TAIL_MAX);
  const tail = Buffer.alloc(length);
  const { bytesRead } = await file.read(tail, 0, length, size - length);
  if (tail[bytesRead - 1] === 0x0a) {
    return;
  }
  const lastNewline = tail.subarray(0, bytesRead).lastIndexOf(0x0a);
  if (lastNewline < 0 && bytesRead < size) {
    throw new Error(`a study index ends with more than ${TORN_TAIL_MAX} bytes without a line end: damaged, not appended to`);
  }
  await file.truncate(size - bytesRead + lastNewline + 1);
  await file.datasync();
}
