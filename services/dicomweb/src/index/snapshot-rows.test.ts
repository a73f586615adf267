import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { StudyCompletedV1Data } from '@imaging-facade/events';
import { SAMPLES } from '../../../../test/support/sample-files';
import { rowsOfSnapshot } from './snapshot-rows';

/**
 * The files a snapshot names, as the index reads them: a file gone or unreadable leaves its instance
 * out and says why, the rest of the study is indexed; the storage away fails the snapshot (retried).
 */

const STUDY = '2.25.100';
const SERIES = '2.25.101';
const CT = '1.2.840.10008.5.1.4.1.1.2';

function snapshotOf(sops: string[]): StudyCompletedV1Data {
  return {
    studyInstanceUid: STUDY,
    study: { '0020000D': { vr: 'UI', Value: [STUDY] }, '00100020': { vr: 'LO', Value: ['P1'] } },
    series: [
      {
        seriesInstanceUid: SERIES,
        attributes: { '00080060': { vr: 'CS', Value: ['CT'] } },
        instances: sops.map((sop) => ({ sopInstanceUid: sop, sopClassUid: CT, transferSyntaxUid: '1.2.840.10008.1.2.1', attributes: {} })),
      },
    ],
    firstReceivedAt: '2026-12-07T10:00:00.000Z',
    lastReceivedAt: '2026-12-07T10:00:05.000Z',
  };
}

/** How each instance's file is put in place. */
const FILES: [string, (file: string) => void][] = [
  ['2.25.1', (file) => copyFileSync(SAMPLES.ctExplicitLittle, file)],
  ['2.25.2', () => undefined],
  ['2.25.3', (file) => writeFileSync(file, readFileSync(SAMPLES.ctExplicitLittle).subarray(0, 30_000))],
  ['2.25.4', (file) => mkdirSync(file)],
  ['2.25.5', (file) => {
    // A deflated dataset whose first compressed byte says a block type deflate does not have.
    const bytes = readFileSync(SAMPLES.deflated);
    bytes[132 + 12 + bytes.readUInt32LE(132 + 8)] = 0xff;
    writeFileSync(file, bytes);
  }],
];

let storageDir: string;

beforeEach(() => {
  storageDir = mkdtempSync('/tmp/facade-snapshot-rows-');
  mkdirSync(path.join(storageDir, STUDY, SERIES), { recursive: true });
  for (const [sop, place] of FILES) {
    place(path.join(storageDir, STUDY, SERIES, `${sop}.dcm`));
  }
});

afterEach(() => rmSync(storageDir, { recursive: true, force: true }));

test('a file gone or unreadable leaves its instance out, with the reason; the others are indexed and counted', async () => {
  const rows = await rowsOfSnapshot(snapshotOf(FILES.map(([sop]) => sop)), { storageDir, defaultPatientIdSystem: 'urn:oid:2.25.9' });
  expect(rows.instances.map((row) => row.sopUid)).toEqual(['2.25.1']);
  expect(rows.missing).toEqual(['2.25.2']);
  expect(rows.unreadable).toEqual([
    { sopInstanceUid: '2.25.3', reason: 'the dataset ends in the middle of an element' },
    { sopInstanceUid: '2.25.4', reason: 'EISDIR' },
    { sopInstanceUid: '2.25.5', reason: 'invalid block type' },
  ]);
  expect(rows.series[0]?.numberOfInstances).toBe(1);
  expect(rows.study.numberOfInstances).toBe(1);
});

test.each([
  ['not there (a volume not mounted)', (_away: string) => undefined, 'ENOENT'],
  ['a file in its place', (away: string) => writeFileSync(away, 'not a directory'), 'ENOTDIR'],
  ['empty (the mount point of a volume not mounted)', (away: string) => mkdirSync(away), 'ENOENT'],
])('with the storage directory %s, the snapshot fails with the system error (retried by the consumer), leaving nothing out', async (_situation, place, code) => {
  const away = path.join(storageDir, 'away');
  place(away);
  await expect(rowsOfSnapshot(snapshotOf(['2.25.1', '2.25.4']), { storageDir: away, defaultPatientIdSystem: 'urn:oid:2.25.9' })).rejects.toMatchObject({ code });
});

test('every file of the snapshot refused by the system (a restore with the wrong owner): the storage\'s fault, retried, nothing left out', async () => {
  const refused = ['2.25.6', '2.25.7'];
  for (const sop of refused) mkdirSync(path.join(storageDir, STUDY, SERIES, `${sop}.dcm`));
  await expect(rowsOfSnapshot(snapshotOf(refused), { storageDir, defaultPatientIdSystem: 'urn:oid:2.25.9' })).rejects.toMatchObject({ code: 'ESTORAGE', message: expect.stringContaining('EISDIR') });
});

test('a series whose every file is left out is not listed', async () => {
  const snapshot = snapshotOf(['2.25.1']);
  const other = { seriesInstanceUid: '2.25.102', attributes: {}, instances: [{ sopInstanceUid: '2.25.2', sopClassUid: CT, transferSyntaxUid: '1.2.840.10008.1.2.1', attributes: {} }] };
  const rows = await rowsOfSnapshot({ ...snapshot, series: [...snapshot.series, other] }, { storageDir, defaultPatientIdSystem: 'urn:oid:2.25.9' });
  expect(rows.series.map((row) => row.seriesUid)).toEqual([SERIES]);
  expect(rows.missing).toEqual(['2.25.2']);
});
