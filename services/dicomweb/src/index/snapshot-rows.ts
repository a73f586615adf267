import path from 'node:path';
import { currentFormDate, readPart10, tagOf, textAt, type DicomJson } from '@imaging-facade/dicom';
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

/** The instance's metadata; undefined when its file is not in the storage directory. */
async function metadataOf(storageDir: string, relative: string, urlPath: string): Promise<DicomJson | undefined> {
  const file = path.join(storageDir, relative);
  try {
    const { dataset } = await readPart10(file, { bulkDataUri: (tagPath) => `${BULK_BASE}${urlPath}/bulkdata/${tagPath.join('/')}` });
    return dataset;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined;
    }
    throw error;
  }
}

function studyDateOf(text: string | undefined): string | null {
  return text === undefined ? null : (currentFormDate(text) ?? text);
}

function numberOrNull(text: string | undefined): number | null {
  const value = text === undefined ? Number.NaN : Number(text);
  return Number.isFinite(value) ? value : null;
}

/**
 * The rows of a snapshot, and the SOP Instance UIDs whose file is missing: those are left out of the
 * index (said, never silently), since the node cannot serve them.
 */
export async function rowsOfSnapshot(snapshot: StudyCompletedV1Data, options: SnapshotRowsOptions): Promise<IndexedStudy & { missing: string[] }> {
  const studyUid = snapshot.studyInstanceUid;
  const missing: string[] = [];
  const series: SeriesRow[] = [];
  const instances: InstanceRow[] = [];

  for (const entry of snapshot.series) {
    for (const instance of entry.instances) {
      const storagePath = storagePathOf(studyUid, entry.seriesInstanceUid, instance.sopInstanceUid, instance.storagePath);
      const metadata = await metadataOf(options.storageDir, storagePath, instanceUrlPath(studyUid, entry.seriesInstanceUid, instance.sopInstanceUid));
      if (metadata === undefined) {
        missing.push(instance.sopInstanceUid);
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
    series.push({
      studyUid,
      seriesUid: entry.seriesInstanceUid,
      modality: textAt(entry.attributes, TAG.Modality) ?? null,
      seriesNumber: numberOrNull(textAt(entry.attributes, TAG.SeriesNumber)),
      numberOfInstances: instances.filter((row) => row.seriesUid === entry.seriesInstanceUid).length,
      attributes: JSON.stringify(entry.attributes),
    });
  }

  // The node's own manifest (a KOS): retrieved by the URL its DocumentReference gives, never listed
  // nor counted (LISTED in study-index-db.ts).
  const manifest = snapshot.manifest;
  const manifestMetadata = manifest
    ? await metadataOf(options.storageDir, manifest.storagePath, instanceUrlPath(studyUid, manifest.seriesInstanceUid, manifest.sopInstanceUid))
    : undefined;
  if (manifest && manifestMetadata === undefined) {
    missing.push(manifest.sopInstanceUid);
  }
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

