import { open, stat, truncate, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { dicomJsonSchema, dicomUidSchema } from '@imaging-facade/dicom';

/**
 * What the study-completed snapshot is built from: one line per received instance in
 * `<root>/<StudyUID>/study-index.ndjson`, appended and fsynced before the instance is acknowledged.
 * An instance received again gets a new line; readers keep the last line of each SOP Instance UID.
 * The file holds patient data (the study-level attributes), like the instances next to it.
 */
export const indexRecordSchema = z.object({
  sopInstanceUid: dicomUidSchema,
  seriesInstanceUid: dicomUidSchema,
  sopClassUid: dicomUidSchema,
  transferSyntaxUid: dicomUidSchema,
  storagePath: z.string().min(1),
  sizeBytes: z.number().int().nonnegative(),
  receivedAt: z.iso.datetime({ offset: true }),
  study: dicomJsonSchema,
  series: dicomJsonSchema,
  instance: dicomJsonSchema,
  /** The content tree of a radiation dose report (see InstanceHeader.content). */
  content: dicomJsonSchema.optional(),
});

export type IndexRecord = z.infer<typeof indexRecordSchema>;

export interface IndexContents {
  records: IndexRecord[];
  /** Lines that could not be read (a torn last line after a crash is expected, anything else is not). */
  unreadableLines: number;
}

const INDEX_FILE = 'study-index.ndjson';

export class StudyIndex {
  constructor(private readonly root: string) {}

  indexPath(studyUid: string): string {
    return path.join(this.root, studyUid, INDEX_FILE);
  }

  /** Appends one record durably. The study directory exists: the instance file was committed first. */
  async append(studyUid: string, record: IndexRecord): Promise<void> {
    const file = await open(this.indexPath(studyUid), 'a', 0o640);
    try {
      await file.write(`${JSON.stringify(record)}\n`);
      await file.datasync();
    } finally {
      await file.close();
    }
  }

  /** Every readable record, in the order received (streamed: a large study's index is not read at once). */
  async read(studyUid: string): Promise<IndexContents> {
    const records: IndexRecord[] = [];
    let unreadableLines = 0;
    const take = (line: string): void => {
      if (line.length === 0) {
        return;
      }
      const parsed = parseLine(line);
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
  async repair(studyUid: string): Promise<boolean> {
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

function parseLine(line: string): IndexRecord | undefined {
  try {
    const result = indexRecordSchema.safeParse(JSON.parse(line));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
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

function isMissing(error: unknown): boolean {
  // Duck-typed: errors from another realm (a test runner's sandbox) are not `instanceof Error`.
  return typeof error === 'object' && error !== null && (error as NodeJS.ErrnoException).code === 'ENOENT';
}
