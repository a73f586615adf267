import { randomInt } from 'node:crypto';
import type { DicomJson } from '@imaging-facade/dicom';
import type { StudyCompletedV1Data } from '@imaging-facade/events';

/** A fresh DICOM UID under a test root, unique enough for one test run. */
export function testUid(): string {
  return `2.25.${Date.now()}${randomInt(1_000_000_000)}`;
}

export interface SnapshotPlan {
  studyInstanceUid?: string;
  patientId?: string;
  issuer?: string;
  patientName?: string;
  birthDate?: string;
  accessionNumber?: string;
  studyDate?: string;
  description?: string;
  modalities?: string[];
  lastReceivedAt?: string;
}

/** A study-completed snapshot as dicom-ingest would publish it, with the study attributes asked for. */
export function studySnapshot(plan: SnapshotPlan = {}): StudyCompletedV1Data {
  const studyInstanceUid = plan.studyInstanceUid ?? testUid();
  const study: DicomJson = { '0020000D': { vr: 'UI', Value: [studyInstanceUid] } };
  const text = (tag: string, vr: string, value: string | undefined) => {
    if (value !== undefined) study[tag] = { vr, Value: [value] };
  };
  text('00100020', 'LO', plan.patientId);
  text('00100021', 'LO', plan.issuer);
  text('00100030', 'DA', plan.birthDate);
  text('00080050', 'SH', plan.accessionNumber);
  text('00080020', 'DA', plan.studyDate);
  text('00081030', 'LO', plan.description);
  if (plan.patientName !== undefined) study['00100010'] = { vr: 'PN', Value: [{ Alphabetic: plan.patientName }] };
  const at = plan.lastReceivedAt ?? new Date().toISOString();
  return {
    studyInstanceUid,
    study,
    series: (plan.modalities ?? ['CT']).map((modality) => ({
      seriesInstanceUid: testUid(),
      attributes: { '00080060': { vr: 'CS', Value: [modality] } },
      instances: [{ sopInstanceUid: testUid(), sopClassUid: '1.2.840.10008.5.1.4.1.1.2', transferSyntaxUid: '1.2.840.10008.1.2.1', attributes: {} }],
    })),
    firstReceivedAt: at,
    lastReceivedAt: at,
  };
}
