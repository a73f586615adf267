import { data } from 'dcmjs';
import { KEY_OBJECT_SELECTION_SOP_CLASS, type DicomAttribute, type DicomJson } from '@imaging-facade/events';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from './part10';
import { referenceValueType } from './reference-value-type';

/**
 * The node's manifest of a study: a Key Object Selection document (PS3.3 A.35.4) titled
 * (113030, DCM, "Manifest"), as IHE XDS-I.b and RAD MADO use it to publish a study. It references
 * every instance twice, as the IOD requires: in the Current Requested Procedure Evidence Sequence,
 * by series, with where to retrieve them (AE title, Retrieve Location UID, DICOMweb URL), and in the
 * content tree of TID 2010 (one IMAGE, WAVEFORM or COMPOSITE item per instance). Patient and study
 * attributes are those of the study. Written with dcmjs in Explicit VR Little Endian, UTF-8.
 */

export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
export const MANIFEST_MODALITY = 'KO';
/** Series number of the node's manifest series (type 1; chosen high to sort after acquired series). */
export const MANIFEST_SERIES_NUMBER = 9999;
const MANUFACTURER = 'Imaging Facade';

export interface ManifestRetrieval {
  /** The node's AE title: Retrieve AE Title (0008,0054). */
  aeTitle: string;
  /** The node's Retrieve Location UID (0040,E011), its XDS-I.b repositoryUniqueId. */
  locationUid: string;
  /** The node's DICOMweb base URL: Retrieve URL (0008,1190) of each series, when set. */
  dicomWebBaseUrl?: string;
}

export interface ManifestContent {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  createdAt: Date;
  /** Study-level attributes of the study (patient and study modules), DICOM JSON. */
  study: DicomJson;
  series: ReadonlyArray<{
    seriesInstanceUid: string;
    instances: ReadonlyArray<{ sopInstanceUid: string; sopClassUid: string }>;
  }>;
  retrieve: ManifestRetrieval;
}

/** A manifest could not be built from the study's attributes (not an I/O failure). */
export class ManifestBuildError extends Error {
  constructor(reason: string, options?: ErrorOptions) {
    super(`manifest cannot be built: ${reason}`, options);
    this.name = 'ManifestBuildError';
  }
}

/**
 * Patient (C.7.1.1) and General Study (C.7.2.1) attributes copied from the study; `true` marks
 * type 2 attributes, present even when empty.
 */
const COPIED_STUDY_ATTRIBUTES: ReadonlyArray<[tag: string, type2: boolean]> = [
  ['00080020', true], // StudyDate
  ['00080030', true], // StudyTime
  ['00080050', true], // AccessionNumber
  ['00080051', false], // IssuerOfAccessionNumberSequence
  ['00080090', true], // ReferringPhysicianName
  ['00080201', false], // TimezoneOffsetFromUTC
  ['00081030', false], // StudyDescription
  ['00081032', false], // ProcedureCodeSequence
  ['00100010', true], // PatientName
  ['00100020', true], // PatientID
  ['00100021', false], // IssuerOfPatientID
  ['00100024', false], // IssuerOfPatientIDQualifiersSequence
  ['00100030', true], // PatientBirthDate
  ['00100040', true], // PatientSex
  ['00101002', false], // OtherPatientIDsSequence
  ['00200010', true], // StudyID
];

type Dataset = data.DcmjsDataset;
type Element = data.DcmjsElement;

/** An element; without values, an empty one (dcmjs needs `Value: []` for that, not a missing Value). */
const el = (vr: string, ...values: unknown[]): Element => ({ vr, Value: values });
const code = (value: string, scheme: string, meaning: string): Dataset => ({
  '00080100': el('SH', value),
  '00080102': el('SH', scheme),
  '00080104': el('LO', meaning),
});

/** The manifest as a dcmjs dataset (DICOM JSON with the VR of every element). */
export function kosDataset(content: ManifestContent): Dataset {
  const copied = copyStudyAttributes(content.study);
  const offset = textOf(content.study['00080201']);
  const created = dicomDateTime(content.createdAt, offset);
  const accession = textOf(content.study['00080050']);
  const instances = content.series.reduce((sum, series) => sum + series.instances.length, 0);

  const dataset: Dataset = {
    ...copied,
    '00080005': el('CS', 'ISO_IR 192'), // dcmjs writes text as UTF-8
    '00080012': el('DA', created.date), // InstanceCreationDate
    '00080013': el('TM', created.time), // InstanceCreationTime
    '00080016': el('UI', KEY_OBJECT_SELECTION_SOP_CLASS),
    '00080018': el('UI', content.sopInstanceUid),
    '00080023': el('DA', created.date), // ContentDate
    '00080033': el('TM', created.time), // ContentTime
    '00080060': el('CS', MANIFEST_MODALITY),
    '00080070': el('LO', MANUFACTURER),
    '0008103E': el('LO', 'Manifest'), // SeriesDescription
    '00081090': el('LO', 'dicom-ingest'), // ManufacturerModelName
    '00081111': el('SQ'), // ReferencedPerformedProcedureStepSequence (type 2)
    '00181020': el('LO', IMPLEMENTATION_VERSION_NAME), // SoftwareVersions
    '0020000D': el('UI', content.studyInstanceUid),
    '0020000E': el('UI', content.seriesInstanceUid),
    '00200011': el('IS', MANIFEST_SERIES_NUMBER),
    '00200013': el('IS', 1),
    '0040A040': el('CS', 'CONTAINER'),
    '0040A043': el('SQ', code('113030', 'DCM', 'Manifest')),
    '0040A050': el('CS', 'SEPARATE'),
    '0040A375': el('SQ', evidence(content)),
    '0040A504': el('SQ', { '00080105': el('CS', 'DCMR'), '0040DB00': el('CS', '2010') }),
    '0040A730': el('SQ', ...contentItems(content, instances)),
  };
  if (accession !== undefined) {
    dataset['0040A370'] = el('SQ', referencedRequest(content, accession)); // ReferencedRequestSequence
  }
  return dataset;
}

/** The manifest as a Part 10 file (preamble, file meta, dataset). */
export function writeKos(content: ManifestContent): Buffer {
  let dataset: Dataset;
  try {
    dataset = kosDataset(content);
    const dict = new data.DicomDict({
      '00020001': { vr: 'OB', Value: [new Uint8Array([0, 1]).buffer] },
      '00020002': el('UI', KEY_OBJECT_SELECTION_SOP_CLASS),
      '00020003': el('UI', content.sopInstanceUid),
      '00020010': el('UI', EXPLICIT_VR_LITTLE_ENDIAN),
      '00020012': el('UI', IMPLEMENTATION_CLASS_UID),
      '00020013': el('SH', IMPLEMENTATION_VERSION_NAME),
      '00020016': el('AE', content.retrieve.aeTitle),
    });
    dict.dict = dataset;
    return Buffer.from(dict.write());
  } catch (error) {
    throw new ManifestBuildError(error instanceof Error ? error.message : String(error), { cause: error });
  }
}

/** Hierarchical SOP Instance Reference Macro (Table C.17-3): the study, its series, their instances. */
function evidence(content: ManifestContent): Dataset {
  const { aeTitle, locationUid, dicomWebBaseUrl } = content.retrieve;
  const studyPath = `/studies/${content.studyInstanceUid}`;
  return {
    '00081115': el(
      'SQ',
      ...content.series.map((series) => {
        const item: Dataset = {
          '00080054': el('AE', aeTitle), // RetrieveAETitle
          '00081199': el(
            'SQ',
            ...series.instances.map((instance) => ({
              '00081150': el('UI', instance.sopClassUid),
              '00081155': el('UI', instance.sopInstanceUid),
            })),
          ),
          '0020000E': el('UI', series.seriesInstanceUid),
          '0040E011': el('UI', locationUid), // RetrieveLocationUID
        };
        if (dicomWebBaseUrl !== undefined) {
          item['00081190'] = el('UR', `${dicomWebBaseUrl}${studyPath}/series/${series.seriesInstanceUid}`); // RetrieveURL
        }
        return item;
      }),
    ),
    '0020000D': el('UI', content.studyInstanceUid),
  };
}

/** TID 2010: a description, then one reference per instance. */
function contentItems(content: ManifestContent, instances: number): Dataset[] {
  const description: Dataset = {
    '0040A010': el('CS', 'CONTAINS'),
    '0040A040': el('CS', 'TEXT'),
    '0040A043': el('SQ', code('113012', 'DCM', 'Key Object Description')),
    '0040A160': el('UT', `Manifest of the ${instances} instance(s) of the study held by ${content.retrieve.aeTitle}`),
  };
  const references = content.series.flatMap((series) =>
    series.instances.map(
      (instance): Dataset => ({
        '00081199': el('SQ', { '00081150': el('UI', instance.sopClassUid), '00081155': el('UI', instance.sopInstanceUid) }),
        '0040A010': el('CS', 'CONTAINS'),
        '0040A040': el('CS', referenceValueType(instance.sopClassUid)),
      }),
    ),
  );
  return [description, ...references];
}

/** Referenced Request Sequence (C.17.6.2.1): the order, by accession number, as XDS-I.b expects. */
function referencedRequest(content: ManifestContent, accession: string): Dataset {
  const item: Dataset = {
    '00080050': el('SH', accession),
    '0020000D': el('UI', content.studyInstanceUid),
    '00321060': copyOrEmpty(content.study['00321060'], 'LO'), // RequestedProcedureDescription
    '00321064': el('SQ'), // RequestedProcedureCodeSequence
    '00401001': el('SH'), // RequestedProcedureID
    '00402016': el('LO'), // PlacerOrderNumberImagingServiceRequest
    '00402017': el('LO'), // FillerOrderNumberImagingServiceRequest
  };
  const issuer = content.study['00080051'] ? sanitize(content.study['00080051']) : undefined;
  if (issuer) {
    item['00080051'] = issuer;
  }
  return item;
}

function copyStudyAttributes(study: DicomJson): Dataset {
  const copied: Dataset = {};
  for (const [tag, type2] of COPIED_STUDY_ATTRIBUTES) {
    const attribute = study[tag] ? sanitize(study[tag]) : undefined;
    if (attribute) {
      copied[tag] = attribute;
    } else if (type2) {
      copied[tag] = el(TYPE2_VRS[tag] ?? 'LO');
    }
  }
  return copied;
}

const TYPE2_VRS: Readonly<Record<string, string>> = {
  '00080020': 'DA',
  '00080030': 'TM',
  '00080050': 'SH',
  '00080090': 'PN',
  '00100010': 'PN',
  '00100020': 'LO',
  '00100030': 'DA',
  '00100040': 'CS',
  '00200010': 'SH',
};

function copyOrEmpty(attribute: DicomAttribute | undefined, vr: string): Element {
  return (attribute && sanitize(attribute)) ?? el(vr);
}

const BINARY_NUMBER_VRS = new Set(['US', 'UL', 'SS', 'SL', 'FL', 'FD', 'SV', 'UV']);
const NUMBER_STRING_VRS = new Set(['IS', 'DS']);

/**
 * A DICOM JSON attribute as dcmjs writes it, or undefined when it cannot be written faithfully
 * (binary or AT values, numbers that are not numbers). Empty string values stay empty.
 */
function sanitize(attribute: DicomAttribute): Element | undefined {
  const { vr } = attribute;
  const values = attribute.Value;
  if (values === undefined || values.length === 0) {
    return el(vr);
  }
  if (vr === 'SQ') {
    return { vr, Value: values.filter(isRecord).map((item) => sanitizeDataset(item as DicomJson)) };
  }
  if (vr === 'AT' || vr.startsWith('O') || vr === 'UN') {
    return undefined;
  }
  if (BINARY_NUMBER_VRS.has(vr)) {
    return values.every((value) => typeof value === 'number' && Number.isFinite(value)) ? { vr, Value: values } : undefined;
  }
  if (NUMBER_STRING_VRS.has(vr)) {
    const numeric = values.every((value) => (typeof value === 'number' && Number.isFinite(value)) || (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))));
    return numeric ? { vr, Value: values } : undefined;
  }
  if (vr === 'PN') {
    return { vr, Value: values.map((value) => (isRecord(value) ? value : { Alphabetic: typeof value === 'string' ? value : '' })) };
  }
  return { vr, Value: values.map((value) => (typeof value === 'string' ? value : value === null ? '' : String(value))) };
}

function sanitizeDataset(item: DicomJson): Dataset {
  const out: Dataset = {};
  for (const [tag, attribute] of Object.entries(item)) {
    const written = sanitize(attribute);
    if (written) {
      out[tag] = written;
    }
  }
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function textOf(attribute: DicomAttribute | undefined): string | undefined {
  const value = attribute?.Value?.[0];
  const text = typeof value === 'string' ? value.trim() : typeof value === 'number' ? String(value) : '';
  return text.length > 0 ? text : undefined;
}

/**
 * DA and TM of `date`. DICOM dates and times are local: with the study's TimezoneOffsetFromUTC
 * (copied into the manifest, where it applies to every DA/TM) they are given in that offset,
 * otherwise in the node's local time, as a modality does.
 */
export function dicomDateTime(date: Date, offset?: string): { date: string; time: string } {
  const match = offset ? /^([+-])(\d{2})(\d{2})$/.exec(offset) : null;
  let parts: number[];
  if (match) {
    const minutes = (Number(match[2]) * 60 + Number(match[3])) * (match[1] === '-' ? -1 : 1);
    const shifted = new Date(date.getTime() + minutes * 60_000);
    parts = [
      shifted.getUTCFullYear(),
      shifted.getUTCMonth() + 1,
      shifted.getUTCDate(),
      shifted.getUTCHours(),
      shifted.getUTCMinutes(),
      shifted.getUTCSeconds(),
      shifted.getUTCMilliseconds(),
    ];
  } else {
    parts = [
      date.getFullYear(),
      date.getMonth() + 1,
      date.getDate(),
      date.getHours(),
      date.getMinutes(),
      date.getSeconds(),
      date.getMilliseconds(),
    ];
  }
  const [year, month, day, hours, minutes, seconds, millis] = parts.map((part) => String(part));
  const two = (text: string | undefined) => (text ?? '').padStart(2, '0');
  return {
    date: `${(year ?? '').padStart(4, '0')}${two(month)}${two(day)}`,
    time: `${two(hours)}${two(minutes)}${two(seconds)}.${(millis ?? '').padStart(3, '0')}`,
  };
}
