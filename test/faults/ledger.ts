import { execFileSync } from 'node:child_process';
import type { Bundle, ImagingStudy } from '@medplum/fhirtypes';

/**
 * What a hospital's PACS administrator checks after an incident, for each study sent: every instance
 * the node answered with success is in the index exactly once (not lost, not duplicated), its study
 * is one ImagingStudy, and the copy the node keeps on disk is the dataset that was sent, byte for
 * byte (an acknowledgement for anything else is a wrong acknowledgement).
 */

export interface SentStudy {
  studyInstanceUid: string;
  files: Array<{ path: string; sopInstanceUid: string }>;
}

export interface LedgerLine {
  sent: number;
  acknowledged: number;
  /** Acknowledged, but missing from the index or from the node's disk. */
  lost: number;
  /** Instances listed more than once in the index, or kept twice on disk, and extra ImagingStudies. */
  duplicated: number;
  /** Acknowledged, but what the node keeps is not what was sent. */
  wronglyAcknowledged: number;
}

/** Digests of each instance's dataset bytes below `dir`, read by pydicom (an independent reader). */
export function datasetDigests(dir: string): Map<string, string[]> {
  const text = execFileSync('/usr/bin/python3', [`${__dirname}/../support/dataset-digests.py`, dir], { maxBuffer: 256 * 1024 * 1024 }).toString();
  return new Map(Object.entries(JSON.parse(text) as Record<string, string[]>));
}

/** The index's ImagingStudies of one StudyInstanceUID, asked as a plain client (no cache bypass). */
export async function indexedStudies(fhirBaseUrl: string, studyInstanceUid: string): Promise<ImagingStudy[]> {
  const response = await fetch(`${fhirBaseUrl}/ImagingStudy?identifier=${encodeURIComponent(`urn:oid:${studyInstanceUid}`)}`, {
    headers: { accept: 'application/fhir+json', 'cache-control': 'no-cache' },
  });
  if (!response.ok) {
    throw new Error(`ImagingStudy search: HTTP ${response.status}`);
  }
  const bundle = (await response.json()) as Bundle<ImagingStudy>;
  return (bundle.entry ?? []).flatMap((entry) => (entry.resource ? [entry.resource] : []));
}

export function instanceUidsOf(studies: ImagingStudy[]): string[] {
  return studies.flatMap((study) => (study.series ?? []).flatMap((series) => (series.instance ?? []).map((instance) => instance.uid)));
}

export async function ledgerOf(
  studies: SentStudy[],
  acknowledged: ReadonlySet<string>,
  fhirBaseUrl: string,
  stored: Map<string, string[]>,
  sent: Map<string, string[]>,
): Promise<LedgerLine> {
  const line: LedgerLine = { sent: 0, acknowledged: 0, lost: 0, duplicated: 0, wronglyAcknowledged: 0 };
  for (const study of studies) {
    const indexed = await indexedStudies(fhirBaseUrl, study.studyInstanceUid);
    line.duplicated += Math.max(0, indexed.length - 1);
    const counts = new Map<string, number>();
    for (const uid of instanceUidsOf(indexed)) {
      counts.set(uid, (counts.get(uid) ?? 0) + 1);
    }
    for (const file of study.files) {
      line.sent += 1;
      const inIndex = counts.get(file.sopInstanceUid) ?? 0;
      const onDisk = stored.get(file.sopInstanceUid) ?? [];
      line.duplicated += Math.max(0, inIndex - 1) + Math.max(0, onDisk.length - 1);
      if (!acknowledged.has(file.path)) {
        continue;
      }
      line.acknowledged += 1;
      if (inIndex === 0 || onDisk.length === 0) {
        line.lost += 1;
      } else if (!onDisk.every((digest) => (sent.get(file.sopInstanceUid) ?? []).includes(digest))) {
        line.wronglyAcknowledged += 1;
      }
    }
  }
  return line;
}
