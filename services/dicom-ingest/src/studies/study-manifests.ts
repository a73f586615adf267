import { createHash, randomUUID } from 'node:crypto';
import { open, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { KEY_OBJECT_SELECTION_SOP_CLASS, type DicomJson } from '@imaging-facade/dicom';
import type { StudyCompletedV1Data, StudyManifest } from '@imaging-facade/events';
import { fsyncDirectory, writeDurably } from '../storage/fs-durable';
import type { InstanceFiles } from '../storage/instance-files';
import { EXPLICIT_VR_LITTLE_ENDIAN, type ManifestRetrieval } from './kos-writer';
import { writeKosHere, type ManifestWrite } from './kos-thread';

/**
 * Keeps one manifest (kos-writer.ts) per study on disk, next to the study's instances and laid out
 * like them: `<root>/<StudyUID>/<manifest series>/<manifest SOP Instance UID>.dcm`, so that it is
 * retrieved like any instance. The manifest is the node's own derived object: its UIDs are derived
 * from what it references (the same instances give the same manifest, so replaying a study changes
 * nothing), and a newer manifest replaces the previous one. `<root>/<StudyUID>/manifest.json`
 * records the current one and when it was made.
 *
 * Crash safety: the new file is written and fsynced under `.incoming`, renamed into place, then the
 * record is replaced atomically, then older manifests are removed. A crash in between leaves at
 * worst an older file, removed by the next update.
 */
export class StudyManifests {
  private readonly clock: () => Date;
  private readonly writeKos: ManifestWrite;

  /** `write` makes the manifest's bytes: in the service, on the manifest thread (ManifestThread). */
  constructor(
    private readonly files: Pick<InstanceFiles, 'root' | 'newIncomingPath' | 'commit' | 'discard'>,
    private readonly retrieve: ManifestRetrieval,
    options: { clock?: () => Date; write?: ManifestWrite } = {},
  ) {
    this.clock = options.clock ?? (() => new Date());
    this.writeKos = options.write ?? writeKosHere;
  }

  /**
   * The study's manifest for exactly the instances of `snapshot`, written if it is not the current
   * one already. Throws ManifestBuildError when the study's attributes cannot be written (the study
   * is then published without a manifest), any other error when the disk fails (retry).
   */
  async update(snapshot: StudyCompletedV1Data): Promise<StudyManifest> {
    const studyUid = snapshot.studyInstanceUid;
    const seriesInstanceUid = manifestSeriesUid(studyUid, this.retrieve.locationUid);
    const series = snapshot.series
      .filter((item) => item.seriesInstanceUid !== seriesInstanceUid)
      .map((item) => ({
        seriesInstanceUid: item.seriesInstanceUid,
        instances: item.instances.map(({ sopInstanceUid, sopClassUid }) => ({ sopInstanceUid, sopClassUid })),
      }));
    const sopInstanceUid = manifestInstanceUid(studyUid, snapshot.study, series, this.retrieve);
    const referencedInstances = series.reduce((sum, item) => sum + item.instances.length, 0);

    const current = await this.current(studyUid);
    if (current?.sopInstanceUid === sopInstanceUid && (await this.exists(current.storagePath))) {
      return current;
    }

    const createdAt = laterThan(this.clock(), current?.createdAt);
    const bytes = await this.writeKos({
      studyInstanceUid: studyUid,
      seriesInstanceUid,
      sopInstanceUid,
      createdAt,
      study: snapshot.study,
      series,
      retrieve: this.retrieve,
    });
    const incoming = this.files.newIncomingPath();
    try {
      await writeDurably(incoming, bytes);
      const storagePath = await this.files.commit(incoming, studyUid, seriesInstanceUid, sopInstanceUid);
      const manifest: StudyManifest = {
        seriesInstanceUid,
        sopInstanceUid,
        sopClassUid: KEY_OBJECT_SELECTION_SOP_CLASS,
        transferSyntaxUid: EXPLICIT_VR_LITTLE_ENDIAN,
        storagePath,
        createdAt: createdAt.toISOString(),
        referencedInstances,
      };
      await this.record(studyUid, manifest);
      await this.removeOthers(studyUid, seriesInstanceUid, sopInstanceUid);
      return manifest;
    } catch (error) {
      await this.files.discard(incoming).catch(() => undefined);
      throw error;
    }
  }

  /** The study's current manifest, as recorded; undefined when there is none (or it is unreadable). */
  async current(studyUid: string): Promise<StudyManifest | undefined> {
    try {
      return JSON.parse(await readFile(this.recordPath(studyUid), 'utf8')) as StudyManifest;
    } catch {
      return undefined;
    }
  }

  private recordPath(studyUid: string): string {
    return path.join(this.files.root, studyUid, 'manifest.json');
  }

  private async exists(storagePath: string): Promise<boolean> {
    try {
      await (await open(path.join(this.files.root, storagePath), 'r')).close();
      return true;
    } catch {
      return false;
    }
  }

  private async record(studyUid: string, manifest: StudyManifest): Promise<void> {
    const target = this.recordPath(studyUid);
    const temporary = `${target}.${randomUUID()}.tmp`;
    await writeDurably(temporary, Buffer.from(`${JSON.stringify(manifest)}\n`));
    await rename(temporary, target);
    await fsyncDirectory(path.dirname(target));
  }

  private async removeOthers(studyUid: string, seriesUid: string, keep: string): Promise<void> {
    const dir = path.join(this.files.root, studyUid, seriesUid);
    const names = await readdir(dir).catch(() => [] as string[]);
    const stale = names.filter((name) => name.endsWith('.dcm') && name !== `${keep}.dcm`);
    await Promise.all(stale.map((name) => rm(path.join(dir, name), { force: true })));
    if (stale.length > 0) {
      await fsyncDirectory(dir);
    }
  }
}

/**
 * The new manifest's creation time: now, or just after the manifest it replaces when the clock says
 * otherwise. The mapper keeps, of two manifests, the one made later; a clock stepped back (an NTP
 * correction, a virtual machine resumed) left the index on the older manifest until the clock caught
 * up (found by a fault-injection review, 2026-12-07).
 */
export function laterThan(now: Date, previous: string | undefined): Date {
  const previousTime = previous === undefined ? Number.NaN : Date.parse(previous);
  return Number.isFinite(previousTime) && previousTime >= now.getTime() ? new Date(previousTime + 1) : now;
}

/** The series of the node's manifests of a study: one per study and node, whatever it references. */
export function manifestSeriesUid(studyUid: string, locationUid: string): string {
  return nameBasedUid(`urn:imaging-facade:manifest-series:${locationUid}:${studyUid}`);
}

/**
 * The manifest's SOP Instance UID, derived from everything it says: the same instances, patient and
 * study attributes and retrieval settings give the same UID; any change, a new one.
 */
export function manifestInstanceUid(
  studyUid: string,
  study: DicomJson,
  series: ReadonlyArray<{ seriesInstanceUid: string; instances: ReadonlyArray<{ sopInstanceUid: string; sopClassUid: string }> }>,
  retrieve: ManifestRetrieval,
): string {
  const references = series
    .flatMap((item) => item.instances.map((instance) => `${item.seriesInstanceUid}/${instance.sopInstanceUid}/${instance.sopClassUid}`))
    .sort();
  const settings = `${retrieve.locationUid}|${retrieve.aeTitle}|${retrieve.dicomWebBaseUrl ?? ''}`;
  return nameBasedUid(`urn:imaging-facade:manifest:${studyUid}:${settings}:${JSON.stringify(study)}:${references.join(',')}`);
}

/**
 * A UID under 2.25 (PS3.5 B.2) of the name-based (version 5, SHA-1) UUID of `name`: at most 44
 * characters, and the same name always gives the same UID.
 */
export function nameBasedUid(name: string): string {
  const bytes = createHash('sha1').update(name, 'utf8').digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  return `2.25.${BigInt(`0x${bytes.toString('hex')}`).toString()}`;
}
