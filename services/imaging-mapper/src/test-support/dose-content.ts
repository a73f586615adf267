import type { DicomAttribute, DicomJson } from '@imaging-facade/dicom';
import type { StudyManifest } from '@imaging-facade/events';

/**
 * Builders of dose report content trees in DICOM JSON, as the ingest carries them in the snapshot
 * (SR_CONTENT_TAGS), following the templates of PS3.16: enough to test the dose mapping table by
 * table without files. The real files are made by test/fixtures/generate-rdsr.py.
 */

type Concept = [code: string, scheme: string, meaning: string];

const attr = (vr: string, ...values: unknown[]): DicomAttribute => ({ vr, Value: values });
const code = ([value, scheme, meaning]: Concept): DicomJson => ({
  '00080100': attr('SH', value),
  '00080102': attr('SH', scheme),
  '00080104': attr('LO', meaning),
});

function item(relationship: string, valueType: string, concept: Concept, rest: DicomJson = {}): DicomJson {
  return {
    '0040A010': attr('CS', relationship),
    '0040A040': attr('CS', valueType),
    '0040A043': attr('SQ', code(concept)),
    ...rest,
  };
}

export const container = (concept: Concept, children: DicomJson[], relationship = 'CONTAINS'): DicomJson =>
  item(relationship, 'CONTAINER', concept, { '0040A050': attr('CS', 'SEPARATE'), '0040A730': attr('SQ', ...children) });
/** A NUM; `scheme`: the unit's coding scheme designator as the modality writes it; `modifiers`: its HAS CONCEPT MOD children. */
export const num = (concept: Concept, value: number | string, unit: string, options: { scheme?: string; modifiers?: DicomJson[] } = {}): DicomJson =>
  item('CONTAINS', 'NUM', concept, {
    '0040A300': attr('SQ', { '0040A30A': attr('DS', value), '004008EA': attr('SQ', code([unit, options.scheme ?? 'UCUM', unit])) }),
    ...(options.modifiers && options.modifiers.length > 0 ? { '0040A730': attr('SQ', ...options.modifiers) } : {}),
  });
export const coded = (concept: Concept, value: Concept, relationship = 'CONTAINS', children: DicomJson[] = []): DicomJson =>
  item(relationship, 'CODE', concept, {
    '0040A168': attr('SQ', code(value)),
    ...(children.length > 0 ? { '0040A730': attr('SQ', ...children) } : {}),
  });
export const text = (concept: Concept, value: string): DicomJson => item('CONTAINS', 'TEXT', concept, { '0040A160': attr('UT', value) });
export const uidref = (concept: Concept, value: string, relationship = 'CONTAINS'): DicomJson =>
  item(relationship, 'UIDREF', concept, { '0040A124': attr('UI', value) });
export const datetime = (concept: Concept, value: string, relationship = 'CONTAINS'): DicomJson =>
  item(relationship, 'DATETIME', concept, { '0040A120': attr('DT', value) });

/** The `content` of an instance: title, template and tree. */
export function reportContent(title: Concept, template: string, children: DicomJson[]): DicomJson {
  return {
    '0040A043': attr('SQ', code(title)),
    '0040A504': attr('SQ', { '00080105': attr('CS', 'DCMR'), '0040DB00': attr('CS', template) }),
    '0040A730': attr('SQ', ...children),
  };
}

export const X_RAY_DOSE_REPORT: Concept = ['113701', 'DCM', 'X-Ray Radiation Dose Report'];
export const PROCEDURE_REPORTED: Concept = ['121058', 'DCM', 'Procedure reported'];
export const IRRADIATION_EVENT_UID: Concept = ['113769', 'DCM', 'Irradiation Event UID'];
export const START_OF_IRRADIATION: Concept = ['113809', 'DCM', 'Start of X-Ray Irradiation'];

export interface CtEvent {
  uid?: string;
  ctdivol: number | string;
  dlp: number | string;
  dlpUnit?: string;
}

/**
 * TID 10011: accumulated DLP, one CT Acquisition per event. `legacy`: SNOMED-RT codes, as older scanners
 * write; `totalUnit`/`unitScheme`: the units as a vendor spells them; `accumulated: false`: no CT
 * Accumulated Dose Data container.
 */
export function ctReport(
  events: CtEvent[],
  options: { total?: number; legacy?: boolean; start?: string; totalUnit?: string; unitScheme?: string; accumulated?: boolean } = {},
): DicomJson {
  const procedure: Concept = options.legacy ? ['P5-08000', 'SRT', 'Computed Tomography X-Ray'] : ['77477000', 'SCT', 'Computed Tomography X-Ray'];
  const total = options.total ?? events.reduce((sum, event) => sum + Number(event.dlp), 0);
  return reportContent(X_RAY_DOSE_REPORT, '10011', [
    coded(PROCEDURE_REPORTED, procedure, 'HAS CONCEPT MOD'),
    datetime(START_OF_IRRADIATION, options.start ?? '20240105101500+0100', 'HAS OBS CONTEXT'),
    ...(options.accumulated === false
      ? []
      : [
          container(['113811', 'DCM', 'CT Accumulated Dose Data'], [
            num(['113812', 'DCM', 'Total Number of Irradiation Events'], events.length, '{events}'),
            num(['113813', 'DCM', 'CT Dose Length Product Total'], total, options.totalUnit ?? 'mGy.cm', { scheme: options.unitScheme ?? 'UCUM' }),
          ]),
        ]),
    ...events.map((event, index) =>
      container(['113819', 'DCM', 'CT Acquisition'], [
        text(['125203', 'DCM', 'Acquisition Protocol'], `Chest ${index + 1}`),
        coded(['123014', 'DCM', 'Target Region'], ['51185008', 'SCT', 'Chest']),
        coded(['113820', 'DCM', 'CT Acquisition Type'], ['116152004', 'SCT', 'Spiral Acquisition']),
        ...(event.uid ? [uidref(IRRADIATION_EVENT_UID, event.uid)] : []),
        container(['113822', 'DCM', 'CT Acquisition Parameters'], [num(['113825', 'DCM', 'Scanning Length'], 300, 'mm')]),
        container(['113829', 'DCM', 'CT Dose'], [
          num(['113830', 'DCM', 'Mean CTDIvol'], event.ctdivol, 'mGy'),
          coded(['113835', 'DCM', 'CTDIw Phantom Type'], ['113691', 'DCM', 'IEC Body Dosimetry Phantom']),
          num(['113838', 'DCM', 'DLP'], event.dlp, event.dlpUnit ?? 'mGy.cm', { scheme: options.unitScheme ?? 'UCUM' }),
        ]),
      ]),
    ),
  ]);
}

export interface ProjectionEvent {
  uid: string;
  start: string;
  /** Dose area product in `dapUnit` (Gy.m2 by default, as modalities report it). */
  dap: number;
  doseRp: number;
  fluoro: boolean;
  /** Irradiation Duration, in `durationUnit` (s by default). */
  duration?: number;
  durationUnit?: string;
}

export type Plane = {
  dap: number;
  doseRp: number;
  fluoroTime: number;
  frames: number;
  dapUnit?: string;
  fluoroTimeUnit?: string;
  framesUnit?: string;
  plane?: Concept;
};

/** TID 10001: accumulated data per plane (in Gy and Gy.m2 unless told), one event container per event. */
export function projectionReport(
  planes: Plane[],
  events: ProjectionEvent[],
): DicomJson {
  return reportContent(X_RAY_DOSE_REPORT, '10001', [
    coded(PROCEDURE_REPORTED, ['113704', 'DCM', 'Projection X-Ray'], 'HAS CONCEPT MOD'),
    datetime(START_OF_IRRADIATION, '20240105101500.000000+0100', 'HAS OBS CONTEXT'),
    ...planes.map((plane) =>
      container(['113702', 'DCM', 'Accumulated X-Ray Dose Data'], [
        coded(['113764', 'DCM', 'Acquisition Plane'], plane.plane ?? ['113622', 'DCM', 'Single Plane'], 'HAS CONCEPT MOD'),
        num(['113722', 'DCM', 'Dose Area Product Total'], plane.dap, plane.dapUnit ?? 'Gy.m2'),
        num(['113725', 'DCM', 'Dose (RP) Total'], plane.doseRp, 'Gy'),
        num(['113730', 'DCM', 'Total Fluoro Time'], plane.fluoroTime, plane.fluoroTimeUnit ?? 's'),
        num(['113731', 'DCM', 'Total Number of Radiographic Frames'], plane.frames, plane.framesUnit ?? '{frames}'),
      ]),
    ),
    ...events.map((event) =>
      container(['113706', 'DCM', 'Irradiation Event X-Ray Data'], [
        uidref(IRRADIATION_EVENT_UID, event.uid),
        datetime(['111526', 'DCM', 'DateTime Started'], event.start),
        coded(['113721', 'DCM', 'Irradiation Event Type'], event.fluoro ? ['P5-06000', 'SRT', 'Fluoroscopy'] : ['113611', 'DCM', 'Stationary Acquisition']),
        num(['122130', 'DCM', 'Dose Area Product'], event.dap, 'Gy.m2'),
        num(['113738', 'DCM', 'Dose (RP)'], event.doseRp, 'Gy'),
        ...(event.duration !== undefined ? [num(['113742', 'DCM', 'Irradiation Duration'], event.duration, event.durationUnit ?? 's')] : []),
      ]),
    ),
  ]);
}

export const LATERALITY: Concept = ['272741003', 'SCT', 'Laterality'];
export const BREAST: Readonly<Record<'left' | 'right' | 'both', Concept>> = {
  left: ['80248007', 'SCT', 'Left breast'],
  right: ['73056007', 'SCT', 'Right breast'],
  both: ['63762007', 'SCT', 'Both breasts'],
};
const LEGACY_BREAST: Readonly<Record<'left' | 'right' | 'both', Concept>> = {
  left: ['T-04030', 'SRT', 'Left breast'],
  right: ['T-04020', 'SRT', 'Right breast'],
  both: ['T-04080', 'SRT', 'Both breasts'],
};

export interface MammographyExposure {
  uid: string;
  side: 'left' | 'right';
  agd: number;
}

/**
 * TID 10001 for mammography: TID 10005 Accumulated Average Glandular Dose per breast (a Laterality
 * modifier on each NUM), and one event per exposure with its Laterality and Average Glandular Dose.
 * `legacy`: SNOMED-RT codes (G-C171, T-04030…), as older units write them.
 */
export function mammographyReport(accumulated: Array<{ side: 'left' | 'right' | 'both'; agd: number; unit?: string }>, events: MammographyExposure[], legacy = false): DicomJson {
  const laterality: Concept = legacy ? ['G-C171', 'SRT', 'Laterality'] : LATERALITY;
  const breast = legacy ? LEGACY_BREAST : BREAST;
  return reportContent(X_RAY_DOSE_REPORT, '10001', [
    coded(PROCEDURE_REPORTED, legacy ? ['P5-40010', 'SRT', 'Mammography'] : ['71651007', 'SCT', 'Mammography'], 'HAS CONCEPT MOD'),
    datetime(START_OF_IRRADIATION, '20240105101500+0100', 'HAS OBS CONTEXT'),
    ...(accumulated.length > 0
      ? [
          container(['113702', 'DCM', 'Accumulated X-Ray Dose Data'], [
            coded(['113764', 'DCM', 'Acquisition Plane'], ['113622', 'DCM', 'Single Plane'], 'HAS CONCEPT MOD'),
            ...accumulated.map((dose) =>
              num(['111637', 'DCM', 'Accumulated Average Glandular Dose'], dose.agd, dose.unit ?? 'mGy', {
                modifiers: [coded(laterality, breast[dose.side], 'HAS CONCEPT MOD')],
              }),
            ),
          ]),
        ]
      : []),
    ...events.map((event) =>
      container(['113706', 'DCM', 'Irradiation Event X-Ray Data'], [
        uidref(IRRADIATION_EVENT_UID, event.uid),
        coded(laterality, breast[event.side], 'HAS CONCEPT MOD'),
        coded(['113721', 'DCM', 'Irradiation Event Type'], ['113611', 'DCM', 'Stationary Acquisition']),
        num(['111631', 'DCM', 'Average Glandular Dose'], event.agd, 'mGy'),
      ]),
    ),
  ]);
}

/** TID 10021: one administration. */
export function radiopharmaceuticalReport(activity: number, unit = 'MBq'): DicomJson {
  return reportContent(['113500', 'DCM', 'Radiopharmaceutical Radiation Dose Report'], '10021', [
    container(['113502', 'DCM', 'Radiopharmaceutical Administration'], [
      coded(['349358000', 'SCT', 'Radiopharmaceutical agent'], ['35321007', 'SCT', 'Fluorodeoxyglucose F^18^']),
      coded(['89457008', 'SCT', 'Radionuclide'], ['77004003', 'SCT', '^18^Fluorine']),
      uidref(['113503', 'DCM', 'Radiopharmaceutical Administration Event UID'], '1.2.3.4.5'),
      datetime(['123003', 'DCM', 'Radiopharmaceutical Start DateTime'], '20240105093000+0100'),
      num(['113507', 'DCM', 'Administered activity'], activity, unit),
      coded(['410675002', 'SCT', 'Route of administration'], ['47625008', 'SCT', 'Intravenous route']),
    ]),
  ]);
}

export function manifestOf(studyInstanceUid: string, overrides: Partial<StudyManifest> = {}): StudyManifest {
  const seriesInstanceUid = '2.25.9001';
  const sopInstanceUid = overrides.sopInstanceUid ?? '2.25.9001001';
  return {
    seriesInstanceUid,
    sopInstanceUid,
    sopClassUid: '1.2.840.10008.5.1.4.1.1.88.59',
    transferSyntaxUid: '1.2.840.10008.1.2.1',
    storagePath: `${studyInstanceUid}/${seriesInstanceUid}/${sopInstanceUid}.dcm`,
    createdAt: '2024-01-05T12:00:00.000Z',
    referencedInstances: 3,
    ...overrides,
  };
}
