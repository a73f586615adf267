import { opendir } from 'node:fs/promises';
import path from 'node:path';
import { currentFormDate, MalformedDatasetError, readPart10, TruncatedDatasetError, tagOf, textAt, type DicomJson } from '@imaging-facade/dicom';
import { patientIdentifierOfStudy } from '@imaging-facade/consent';
import type { StudyCompletedV1Data } from '@imaging-facade/events';
import type { IndexedStudy, InstanceRow, SeriesRow } from './study-index-db';

/**
 * A study snapshot (imaging.study-completed.v1) → the rows of the index. Each instance's full
 * metadata is read once, here, from the file the node keeps (libs/dicom's reader: text decoded per
 * character set, binary values as BulkDataURIs), so that QIDO-RS and WADO-RS metadata never read a
 * file. BulkDataURIs are kept relative to BULK_BASE and completed with the public base when served.
 */

export const BULK_BASE = '@@DICOMWEB_BASE@@';

const TAG = {
  PatientID: tagOf('PatientID'),
  PatientName: tagOf('PatientName'),
  StudyDate: tagOf('StudyDate'),
  AccessionNumber: tagOf('AccessionNumber'),
  Modality: tagOf('Modality'),
  SeriesNumber: tagOf('SeriesNumber'),
  InstanceNumber: tagOf('InstanceNumber'),
  SeriesInstanceUID: tagOf('SeriesInstanceUID'),
} as const;

export interface SnapshotRowsOptions {
  storageDir: string;
  defaultPatientIdSystem: string;
}

/** Where an instance is: the snapshot says so; snapshots from before it did follow the ingest's layout. */
function storagePathOf(studyUid: string, seriesUid: string, sopUid: string, given: string | undefined): string {
  return given ?? path.posix.join(studyUid, seriesUid, `${sopUid}.dcm`);
}

export function instanceUrlPath(studyUid: string, seriesUid: string, sopUid: string): string {
  return `/studies/${studyUid}/series/${seriesUid}/instances/${sopUid}`;
}

/** An instance's metadata, or why the index leaves it out. */
type InstanceFile = { dataset: DicomJson } | { leftOut: 'missing' } | { leftOut: 'unreadable'; reason: string };

/**
 * File system errors that concern the one file when the storage directory itself is there (a
 * directory in its place, a permission or a bad block): reading it again will not help.
 */
const FILE_FAULTS = new Set(['EACCES', 'EPERM', 'EISDIR', 'ENOTDIR', 'ELOOP', 'ENAMETOOLONG', 'EIO']);

function systemErrorCode(error: unknown): string | undefined {
  const { code, syscall } = error as NodeJS.ErrnoException;
  return typeof code === 'string' && typeof syscall === 'string' ? code : undefined;
}

/** Bytes that are not a readable dataset: what the reader or zlib (a deflated dataset) say. */
function isUnreadableDataset(error: unknown): error is Error {
  const code = (error as NodeJS.ErrnoException).code;
  return error instanceof MalformedDatasetError || error instanceof TruncatedDatasetError || (typeof code === 'string' && code.startsWith('Z_'));
}

/** The storage directory holds something: an empty one is a volume not mounted (its mount point), not the node's storage. */
async function storageIsThere(storageDir: string): Promise<boolean> {
  try {
    const dir = await opendir(storageDir);
    try {
      return (await dir.read()) !== null;
    } finally {
      await dir.close();
    }
  } catch {
    return false;
  }
}

/** Every file of a snapshot refused by the system: the storage's fault (a restore with the wrong owner), retried. */
export class StorageUnreadableError extends Error {
  readonly code = 'ESTORAGE';
  constructor(reason: string) {
    super(`no file of the study could be read (${reason}): the storage is taken to be unavailable, and the snapshot is retried`);
    this.name = 'StorageUnreadableError';
  }
}

/**
 * One instance's file read. A file that is gone or cannot be read, while the storage directory is
 * there, is left out (said by the caller), so that one bad file neither keeps a rebuilding index at
 * 503 nor holds up the studies after it. Any other failure (the storage directory away or empty,
 * too many open files) is thrown, and the snapshot retried: an unmounted volume must not empty the
 * index.
 */
async function readInstanceFile(storageDir: string, relative: string, urlPath: string): Promise<InstanceFile> {
  const file = path.join(storageDir, relative);
  try {
    const { dataset } = await readPart10(file, { bulkDataUri: (tagPath) => `${BULK_BASE}${urlPath}/bulkdata/${tagPath.join('/')}` });
    return { dataset };
  } catch (error) {
    if (isUnreadableDataset(error)) {
      return { leftOut: 'unreadable', reason: error.message };
    }
    const code = systemErrorCode(error);
    const aboutTheFile = code === 'ENOENT' || (code !== undefined && FILE_FAULTS.has(code));
    if (!aboutTheFile || !(await storageIsThere(storageDir))) {
      throw error;
    }
    return code === 'ENOENT' ? { leftOut: 'missing' } : { leftOut: 'unreadable', reason: code };
  }
}

export interface LeftOut {
  missing: string[];
  unreadable: { sopInstanceUid: string; reason: string }[];
}

function studyDateOf(text: string | undefined): string | null {
  return text === undefined ? null : (currentFormDate(text) ?? text);
}

function numberOrNull(text: string | undefined): number | null {
  const value = text === undefined ? Number.NaN : Number(text);
  return Number.isFinite(value) ? value : null;
}

/**
 * The rows of a snapshot, and the SOP Instance UIDs whose file is missing or unreadable (with the
 * reason): those are left out of the index (said, never silently), since the node cannot serve them.
 */
export async function rowsOfSnapshot(snapshot: StudyCompletedV1Data, options: SnapshotRowsOptions): Promise<IndexedStudy & LeftOut> {
  const studyUid = snapshot.studyInstanceUid;
  const missing: string[] = [];
  const unreadable: { sopInstanceUid: string; reason: string }[] = [];
  const metadataOf = async (sopInstanceUid: string, storagePath: string, urlPath: string): Promise<DicomJson | undefined> => {
    const read = await readInstanceFile(options.storageDir, storagePath, urlPath);
    if ('dataset' in read) return read.dataset;
    if (read.leftOut === 'missing') missing.push(sopInstanceUid);
    else unreadable.push({ sopInstanceUid, reason: read.reason });
    return undefined;
  };
  const series: SeriesRow[] = [];
  const instances: InstanceRow[] = [];

  for (const entry of snapshot.series) {
    for (const instance of entry.instances) {
      const storagePath = storagePathOf(studyUid, entry.seriesInstanceUid, instance.sopInstanceUid, instance.storagePath);
      const metadata = await metadataOf(instance.sopInstanceUid, storagePath, instanceUrlPath(studyUid, entry.seriesInstanceUid, instance.sopInstanceUid));
      if (metadata === undefined) {
        continue;
      }
      instances.push({
        studyUid,
        seriesUid: entry.seriesInstanceUid,
        sopUid: instance.sopInstanceUid,
        sopClassUid: instance.sopClassUid,
        instanceNumber: numberOrNull(textAt(instance.attributes, TAG.InstanceNumber)),
        transferSyntaxUid: instance.transferSyntaxUid,
        storagePath,
        sizeBytes: instance.sizeBytes ?? null,
        metadata: JSON.stringify(metadata),
      });
    }
    // A series whose every file was left out is not listed either.
    if (!instances.some((row) => row.seriesUid === entry.seriesInstanceUid)) {
      continue;
    }
    series.push({
      studyUid,
      seriesUid: entry.seriesInstanceUid,
      modality: textAt(entry.attributes, TAG.Modality) ?? null,
      seriesNumber: numberOrNull(textAt(entry.attributes, TAG.SeriesNumber)),
      numberOfInstances: instances.filter((row) => row.seriesUid === entry.seriesInstanceUid).length,
      attributes: JSON.stringify(entry.attributes),
    });
  }

  const held = snapshot.series.reduce((sum, entry) => sum + entry.instances.length, 0);
  if (held > 0 && unreadable.length === held && unreadable.every((item) => /^E[A-Z]+$/.test(item.reason))) {
    throw new StorageUnreadableError([...new Set(unreadable.map((item) => item.reason))].join(', '));
  }

  // The node's own manifest (a KOS): retrieved by the URL its DocumentReference gives, never listed
  // nor counted (LISTED in study-index-db.ts).
  const manifest = snapshot.manifest;
  const manifestMetadata = manifest
    ? await metadataOf(manifest.sopInstanceUid, manifest.storagePath, instanceUrlPath(studyUid, manifest.seriesInstanceUid, manifest.sopInstanceUid))
    : undefined;
  if (manifest && manifestMetadata) {
    const metadata = manifestMetadata;
    instances.push({
      studyUid,
      seriesUid: manifest.seriesInstanceUid,
      sopUid: manifest.sopInstanceUid,
      sopClassUid: manifest.sopClassUid,
      instanceNumber: numberOrNull(textAt(metadata, TAG.InstanceNumber)),
      transferSyntaxUid: manifest.transferSyntaxUid,
      storagePath: manifest.storagePath,
      sizeBytes: null,
      metadata: JSON.stringify(metadata),
      listed: 0,
    });
    const seriesAttributes: DicomJson = Object.fromEntries(
      [TAG.SeriesInstanceUID, TAG.Modality, TAG.SeriesNumber, tagOf('SeriesDescription')].flatMap((tag) => (metadata[tag] ? [[tag, metadata[tag]]] : [])),
    );
    series.push({
      studyUid,
      seriesUid: manifest.seriesInstanceUid,
      modality: textAt(metadata, TAG.Modality) ?? 'KO',
      seriesNumber: numberOrNull(textAt(metadata, TAG.SeriesNumber)),
      numberOfInstances: 1,
      attributes: JSON.stringify(seriesAttributes),
      listed: 0,
    });
  }

  const identifier = patientIdentifierOfStudy(snapshot.study, options.defaultPatientIdSystem);
  const name = snapshot.study[TAG.PatientName]?.Value?.[0];
  const alphabetic = name && typeof name === 'object' && 'Alphabetic' in name ? String((name as { Alphabetic?: unknown }).Alphabetic ?? '') : undefined;
  const listed = { series: series.filter((row) => row.listed !== 0), instances: instances.filter((row) => row.listed !== 0) };
  const modalities = [...new Set(listed.series.map((row) => row.modality).filter((modality): modality is string => !!modality))].sort();
  return {
    missing,
    unreadable,
    leftOut: [...missing.map((sopUid) => ({ sopUid, reason: 'missing' as const })), ...unreadable.map((item) => ({ sopUid: item.sopInstanceUid, reason: 'unreadable' as const }))],
    study: {
      studyUid,
      patientSystem: identifier?.system ?? null,
      patientValue: identifier?.value ?? null,
      patientId: textAt(snapshot.study, TAG.PatientID) ?? null,
      patientNameKey: alphabetic ? alphabetic.toUpperCase() : null,
      // Matched as text by QIDO date ranges: an ACR-NEMA date (1997.04.24) in today's form.
      studyDate: studyDateOf(textAt(snapshot.study, TAG.StudyDate)),
      accession: textAt(snapshot.study, TAG.AccessionNumber) ?? null,
      modalities: modalities.join('\\'),
      numberOfSeries: listed.series.length,
      numberOfInstances: listed.instances.length,
      attributes: JSON.stringify(snapshot.study),
    },
    series,
    instances,
  };
}

