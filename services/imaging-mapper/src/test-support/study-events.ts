import { randomUUID } from 'node:crypto';
import type { DicomAttribute, DicomJson } from '@imaging-facade/dicom';
import type { StudyCompletedV1Data } from '@imaging-facade/events';
import { TAGS, type Keyword } from '../mapping/mapped-attributes';

/** A fresh UID under the UUID-derived root 2.25 (PS3.5 B.2). */
export function newUid(): string {
  return `2.25.${BigInt(`0x${randomUUID().replace(/-/g, '')}`).toString()}`;
}

/** A DICOM JSON dataset from keyword → attribute. */
export function dataset(attributes: Partial<Record<Keyword, DicomAttribute>>): DicomJson {
  return Object.fromEntries(Object.entries(attributes).map(([keyword, value]) => [TAGS[keyword as Keyword], value]));
}

export const attr = (vr: string, ...values: unknown[]): DicomAttribute =>
  values.length > 0 ? { vr, Value: values } : { vr };

export interface SeriesSpec {
  uid?: string;
  number?: number;
  modality?: string;
  instances: number;
  sopClassUid?: string;
}

const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';

/** A study-completed snapshot: one patient, the series as specified, instances numbered from 1. */
export function studySnapshot(options: {
  studyInstanceUid?: string;
  patient?: Partial<Record<Keyword, DicomAttribute>>;
  series: SeriesSpec[];
}): StudyCompletedV1Data {
  const studyInstanceUid = options.studyInstanceUid ?? newUid();
  return {
    studyInstanceUid,
    study: dataset({
      PatientName: attr('PN', { Alphabetic: 'Doe^Jane' }),
      PatientID: attr('LO', 'PID-0001'),
      PatientBirthDate: attr('DA', '19800215'),
      PatientSex: attr('CS', 'F'),
      StudyInstanceUID: attr('UI', studyInstanceUid),
      StudyDate: attr('DA', '20240105'),
      StudyTime: attr('TM', '101500'),
      TimezoneOffsetFromUTC: attr('SH', '+0100'),
      ...options.patient,
    }),
    series: options.series.map((spec, index) => {
      const seriesInstanceUid = spec.uid ?? newUid();
      const sopClassUid = spec.sopClassUid ?? CT_IMAGE_STORAGE;
      return {
        seriesInstanceUid,
        attributes: dataset({
          SeriesInstanceUID: attr('UI', seriesInstanceUid),
          SeriesNumber: attr('IS', spec.number ?? index + 1),
          Modality: attr('CS', spec.modality ?? 'CT'),
        }),
        instances: Array.from({ length: spec.instances }, (_, instanceIndex) => {
          const sopInstanceUid = `${seriesInstanceUid}.${instanceIndex + 1}`;
          return {
            sopInstanceUid,
            sopClassUid,
            transferSyntaxUid: '1.2.840.10008.1.2.1',
            attributes: dataset({
              SOPClassUID: attr('UI', sopClassUid),
              SOPInstanceUID: attr('UI', sopInstanceUid),
              InstanceNumber: attr('IS', instanceIndex + 1),
            }),
          };
        }),
      };
    }),
    firstReceivedAt: '2024-01-05T10:15:00.000Z',
    lastReceivedAt: '2024-01-05T10:16:00.000Z',
  };
}

/** The same snapshot with some series only (an older snapshot of the same study). */
export function withSeries(snapshot: StudyCompletedV1Data, count: number): StudyCompletedV1Data {
  return { ...snapshot, series: snapshot.series.slice(0, count) };
}
