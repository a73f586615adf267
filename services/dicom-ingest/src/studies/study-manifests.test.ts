import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { StudyCompletedV1Data } from '@imaging-facade/events';
import { InstanceFiles } from '../storage/instance-files';
import { ManifestBuildError } from './kos-writer';
import { silenceDcmjs } from '@imaging-facade/dicom';
import { manifestSeriesUid, nameBasedUid, StudyManifests } from './study-manifests';
import { runPydicom } from '../../../../test/support/sample-files';

const STUDY = '1.2.826.0.1.3680043.10.1';
const RETRIEVE = { aeTitle: 'FACADE', locationUid: '1.2.840.99.1', dicomWebBaseUrl: 'http://node-a/dicomweb' };

function snapshot(seriesCount: number): StudyCompletedV1Data {
  return {
    studyInstanceUid: STUDY,
    study: {
      '0020000D': { vr: 'UI', Value: [STUDY] },
      '00100020': { vr: 'LO', Value: ['PID-1'] },
      '00100010': { vr: 'PN', Value: [{ Alphabetic: 'Doe^Jane' }] },
    },
    series: Array.from({ length: seriesCount }, (_, index) => ({
      seriesInstanceUid: `${STUDY}.${index + 1}`,
      attributes: {},
      instances: [1, 2].map((number) => ({
        sopInstanceUid: `${STUDY}.${index + 1}.${number}`,
        sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
        transferSyntaxUid: '1.2.840.10008.1.2.1',
        attributes: {},
      })),
    })),
    firstReceivedAt: '2024-01-05T10:00:00.000Z',
    lastReceivedAt: '2024-01-05T10:01:00.000Z',
  };
}

async function setup() {
  const root = await mkdtemp(path.join(tmpdir(), 'manifests-'));
  const files = new InstanceFiles(root);
  await files.prepare();
  let now = new Date('2024-01-05T12:00:00.000Z');
  const manifests = new StudyManifests(files, RETRIEVE, { clock: () => now });
  const seriesDir = path.join(root, STUDY, manifestSeriesUid(STUDY, RETRIEVE.locationUid));
  return {
    root,
    manifests,
    seriesDir,
    advance: (ms: number) => {
      now = new Date(now.getTime() + ms);
    },
  };
}

const referencedSops = (file: string) =>
  runPydicom<string[]>(
    `import json, sys, pydicom
ds = pydicom.dcmread(sys.argv[1])
print(json.dumps(sorted(r.ReferencedSOPInstanceUID for e in ds.CurrentRequestedProcedureEvidenceSequence for s in e.ReferencedSeriesSequence for r in s.ReferencedSOPSequence)))`,
    [file],
  );

describe('StudyManifests', () => {
  beforeAll(() => silenceDcmjs());
  it('writes the manifest with the study, laid out like an instance, and describes it for the snapshot', async () => {
    const { root, manifests, seriesDir } = await setup();
    const manifest = await manifests.update(snapshot(2));

    expect(manifest).toEqual({
      seriesInstanceUid: path.basename(seriesDir),
      sopInstanceUid: expect.stringMatching(/^2\.25\.\d+$/),
      sopClassUid: '1.2.840.10008.5.1.4.1.1.88.59',
      transferSyntaxUid: '1.2.840.10008.1.2.1',
      storagePath: `${STUDY}/${path.basename(seriesDir)}/${manifest.sopInstanceUid}.dcm`,
      createdAt: '2024-01-05T12:00:00.000Z',
      referencedInstances: 4,
    });
    expect(await readdir(seriesDir)).toEqual([`${manifest.sopInstanceUid}.dcm`]);
    expect(referencedSops(path.join(root, manifest.storagePath))).toEqual(
      snapshot(2).series.flatMap((series) => series.instances.map((instance) => instance.sopInstanceUid)).sort(),
    );
    expect(JSON.parse(await readFile(path.join(root, STUDY, 'manifest.json'), 'utf8'))).toEqual(manifest);
  });

  it('when the same instances come again, keeps the same manifest: same UID, file untouched', async () => {
    const { root, manifests, advance } = await setup();
    const first = await manifests.update(snapshot(2));
    const written = (await stat(path.join(root, first.storagePath))).mtimeMs;
    advance(60_000);

    const again = await manifests.update(snapshot(2));

    expect(again).toEqual(first);
    expect((await stat(path.join(root, first.storagePath))).mtimeMs).toBe(written);
  });

  it('when the study grows, a newer manifest references every instance and replaces the previous one', async () => {
    const { root, manifests, seriesDir, advance } = await setup();
    const first = await manifests.update(snapshot(1));
    advance(60_000);

    const grown = await manifests.update(snapshot(3));

    expect(grown.sopInstanceUid).not.toBe(first.sopInstanceUid);
    expect(grown.seriesInstanceUid).toBe(first.seriesInstanceUid);
    expect(grown.createdAt > first.createdAt).toBe(true);
    expect(grown.referencedInstances).toBe(6);
    expect(await readdir(seriesDir)).toEqual([`${grown.sopInstanceUid}.dcm`]);
    expect(referencedSops(path.join(root, grown.storagePath))).toHaveLength(6);
  });

  it('when the clock was stepped back, the newer manifest is still made after the one it replaces', async () => {
    const { manifests, advance } = await setup();
    const first = await manifests.update(snapshot(1));
    advance(-3_600_000);

    const grown = await manifests.update(snapshot(2));

    expect(Date.parse(grown.createdAt)).toBe(Date.parse(first.createdAt) + 1);
  });

  it('when the patient attributes change, makes a new manifest even for the same instances', async () => {
    const { manifests } = await setup();
    const first = await manifests.update(snapshot(1));
    const renamed = snapshot(1);
    renamed.study['00100010'] = { vr: 'PN', Value: [{ Alphabetic: 'Doe^Janet' }] };
    expect((await manifests.update(renamed)).sopInstanceUid).not.toBe(first.sopInstanceUid);
  });

  it('when its file disappeared, writes it again', async () => {
    const { root, manifests } = await setup();
    const first = await manifests.update(snapshot(1));
    await rm(path.join(root, first.storagePath));
    const again = await manifests.update(snapshot(1));
    expect(again.sopInstanceUid).toBe(first.sopInstanceUid);
    expect((await stat(path.join(root, again.storagePath))).size).toBeGreaterThan(0);
  });

  it('never lists its own manifest series among the instances it references', async () => {
    const { manifests } = await setup();
    const withOwnSeries = snapshot(1);
    withOwnSeries.series.push({
      seriesInstanceUid: manifestSeriesUid(STUDY, RETRIEVE.locationUid),
      attributes: {},
      instances: [{ sopInstanceUid: '1.2.3.4', sopClassUid: '1.2.840.10008.5.1.4.1.1.88.59', transferSyntaxUid: '1.2.840.10008.1.2.1', attributes: {} }],
    });
    expect((await manifests.update(withOwnSeries)).referencedInstances).toBe(2);
  });

  it('when the attributes cannot be encoded, fails with a ManifestBuildError and leaves nothing behind', async () => {
    const { root, manifests } = await setup();
    const broken = snapshot(1);
    broken.study['00080050'] = { vr: 'ZZ', Value: ['x'] };
    await expect(manifests.update(broken)).rejects.toBeInstanceOf(ManifestBuildError);
    expect(await readdir(path.join(root, '.incoming'))).toEqual([]);
  });
});

describe('nameBasedUid', () => {
  it('is a 2.25 UID of at most 64 characters, the same for the same name only', () => {
    const uid = nameBasedUid('urn:example:a');
    expect(uid).toMatch(/^2\.25\.[1-9]\d*$/);
    expect(uid.length).toBeLessThanOrEqual(64);
    expect(nameBasedUid('urn:example:a')).toBe(uid);
    expect(nameBasedUid('urn:example:b')).not.toBe(uid);
  });
});
