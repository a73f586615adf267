import type { DicomJson } from '@imaging-facade/dicom';
import type { ManifestContent } from '../studies/kos-writer';

/** A study's manifest content for tests: three series of varied SOP classes, a UTF-8 patient, an accession. */
export const CT = '1.2.840.10008.5.1.4.1.1.2';
export const MR = '1.2.840.10008.5.1.4.1.1.4';
export const ENHANCED_CT = '1.2.840.10008.5.1.4.1.1.2.1';
export const SEGMENTATION = '1.2.840.10008.5.1.4.1.1.66.4';
export const RT_DOSE = '1.2.840.10008.5.1.4.1.1.481.2';
export const RDSR = '1.2.840.10008.5.1.4.1.1.88.67';
export const KOS = '1.2.840.10008.5.1.4.1.1.88.59';
export const GSPS = '1.2.840.10008.5.1.4.1.1.11.1';
export const PDF = '1.2.840.10008.5.1.4.1.1.104.1';
export const ECG = '1.2.840.10008.5.1.4.1.1.9.1.1';
export const RT_PLAN = '1.2.840.10008.5.1.4.1.1.481.5';
export const PRIVATE = '1.3.46.670589.2.5.1.1';

export const study: DicomJson = {
  '00080020': { vr: 'DA', Value: ['20240105'] },
  '00080030': { vr: 'TM', Value: ['101500'] },
  '00080050': { vr: 'SH', Value: ['ACC-42'] },
  '00080201': { vr: 'SH', Value: ['+0100'] },
  '00081030': { vr: 'LO', Value: ['CT thorax'] },
  '00100010': { vr: 'PN', Value: [{ Alphabetic: 'Müller^Zoë', Ideographic: '山田^太郎' }] },
  '00100020': { vr: 'LO', Value: ['PID-1'] },
  '00100021': { vr: 'LO', Value: ['1.2.250.1.71.4.2.7'] },
  '00100030': { vr: 'DA', Value: ['19800215'] },
  '00100040': { vr: 'CS', Value: ['F'] },
  '00101002': {
    vr: 'SQ',
    Value: [{ '00100020': { vr: 'LO', Value: ['279035121518989'] }, '00100021': { vr: 'LO', Value: ['1.2.250.1.213.1.4.8'] } }],
  },
  '0020000D': { vr: 'UI', Value: ['1.2.3'] },
  '00200010': { vr: 'SH', Value: ['S1'] },
  // Attributes a manifest cannot carry faithfully are left out, not fatal.
  '00080080': { vr: 'LO', Value: ['Not copied'] },
};

export function manifest(overrides: Partial<ManifestContent> = {}): ManifestContent {
  return {
    studyInstanceUid: '1.2.3',
    seriesInstanceUid: '1.2.3.999',
    sopInstanceUid: '1.2.3.999.1',
    createdAt: new Date('2024-01-05T12:00:00.250Z'),
    study,
    series: [
      {
        seriesInstanceUid: '1.2.3.1',
        instances: [
          { sopInstanceUid: '1.2.3.1.1', sopClassUid: CT },
          { sopInstanceUid: '1.2.3.1.2', sopClassUid: CT },
        ],
      },
      { seriesInstanceUid: '1.2.3.2', instances: [{ sopInstanceUid: '1.2.3.2.1', sopClassUid: MR }] },
      {
        seriesInstanceUid: '1.2.3.3',
        instances: [
          { sopInstanceUid: '1.2.3.3.1', sopClassUid: RDSR },
          { sopInstanceUid: '1.2.3.3.2', sopClassUid: GSPS },
          { sopInstanceUid: '1.2.3.3.3', sopClassUid: ECG },
          { sopInstanceUid: '1.2.3.3.4', sopClassUid: PDF },
        ],
      },
    ],
    retrieve: { aeTitle: 'FACADE', locationUid: '1.2.840.99.1', dicomWebBaseUrl: 'http://node-a:8010/dicomweb' },
    ...overrides,
  };
}
