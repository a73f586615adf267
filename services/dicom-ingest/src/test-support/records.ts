import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { IndexRecord } from '../studies/study-index';

/** An index record with plausible values; tests override what they look at. */
export function indexRecord(overrides: Partial<IndexRecord> & Pick<IndexRecord, 'sopInstanceUid' | 'seriesInstanceUid'>): IndexRecord {
  return {
    sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
    transferSyntaxUid: '1.2.840.10008.1.2.1',
    storagePath: `1.2.3/${overrides.seriesInstanceUid}/${overrides.sopInstanceUid}.dcm`,
    sizeBytes: 1000,
    receivedAt: '2026-01-01T10:00:00.000Z',
    study: { '0020000D': { vr: 'UI', Value: ['1.2.3'] } },
    series: { '0020000E': { vr: 'UI', Value: [overrides.seriesInstanceUid] } },
    instance: { '00080018': { vr: 'UI', Value: [overrides.sopInstanceUid] } },
    ...overrides,
  };
}

/** Puts a file of the record's size at its storage path under `root`, as a stored instance would be. */
export async function placeFileOf(root: string, record: IndexRecord): Promise<IndexRecord> {
  const file = path.join(root, record.storagePath);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, Buffer.alloc(record.sizeBytes));
  return record;
}
