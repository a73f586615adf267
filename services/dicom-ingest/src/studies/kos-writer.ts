import {
  currentFormDate,
  currentFormTime,
  EXPLICIT_VR_LITTLE_ENDIAN,
  formatDateTime,
  IMPLEMENTATION_VERSION_NAME,
  KEY_OBJECT_SELECTION_SOP_CLASS,
  referenceValueType,
  tagOf,
  tagsOf,
  vrOf,
  writePart10,
  type DicomAttribute,
  type DicomJson,
} from '@imaging-facade/dicom';

/**
 * The node's manifest of a study: a Key Object Selection document (PS3.3 A.35.4) titled
 * (113030, DCM, "Manifest"), as IHE XDS-I.b and RAD MADO use it to publish a study. It references
 * every instance twice, as the IOD requires: in the Current Requested Procedure Evidence Sequence,
 * by series, with where to retrieve them (AE title, Retrieve Location UID, DICOMweb URL), and in the
 * content tree of TID 2010 (one IMAGE, WAVEFORM or COMPOSITE item per instance). Patient and study
 * attributes are those of the study. Written in Explicit VR Little Endian, UTF-8.
 */

export { EXPLICIT_VR_LITTLE_ENDIAN };
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
  constructor(
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`manifest cannot be built: ${reason}`, options);
    this.name = 'ManifestBuildError';
  }
}

/**
 * Patient (C.7.1.1) and General Study (C.7.2.1) attributes copied from the study; `true` marks
 * type 2 attributes, present even when empty.
 */
const COPIED_STUDY_ATTRIBUTES: ReadonlyArray<[keyword: string, type2: boolean]> = [
  ['StudyDate', true],
  ['StudyTime', true],
  ['AccessionNumber', true],
  ['IssuerOfAccessionNumberSequence', false],
  ['ReferringPhysicianName', true],
  ['TimezoneOffsetFromUTC', false],
  ['StudyDescription', false],
  ['ProcedureCodeSequence', false],
  ['PatientName', true],
  ['PatientID', true],
  ['IssuerOfPatientID', false],
  ['IssuerOfPatientIDQualifiersSequence', false],
  ['PatientBirthDate', true],
  ['PatientSex', true],
  ['OtherPatientIDsSequence', false],
  ['StudyID', true],
];

const TAG = tagsOf(['TimezoneOffsetFromUTC', 'AccessionNumber', 'IssuerOfAccessionNumberSequence', 'RequestedProcedureDescription']);

type Dataset = DicomJson;
type Element = DicomAttribute;

/** An element of a VR; without values, an empty one (dcmjs needs `Value: []` for that, not a missing Value). */
const el = (vr: string, ...values: unknown[]): Element => ({ vr, Value: values });
/** An attribute by keyword, its VR from the dictionary. */
const attr = (keyword: string, ...values: unknown[]): Dataset => {
  const tag = tagOf(keyword);
  return { [tag]: el(vrOf(tag) ?? 'UN', ...values) };
};
const code = (value: string, scheme: string, meaning: string): Dataset => ({
  ...attr('CodeValue', value),
  ...attr('CodingSchemeDesignator', scheme),
  ...attr('CodeMeaning', meaning),
});

/** The manifest as a dcmjs dataset (DICOM JSON with the VR of every element). */
export function kosDataset(content: ManifestContent): Dataset {
  const copied = copyStudyAttributes(content.study);
  const offset = textOf(content.study[TAG.TimezoneOffsetFromUTC]);
  const created = formatDateTime(content.createdAt, offset);
  const accession = textOf(content.study[TAG.AccessionNumber]);
  const instances = content.series.reduce((sum, series) => sum + series.instances.length, 0);

  const dataset: Dataset = {
    ...copied,
    ...attr('SpecificCharacterSet', 'ISO_IR 192'), // dcmjs writes text as UTF-8
    ...attr('InstanceCreationDate', created.date),
    ...attr('InstanceCreationTime', created.time),
    ...attr('SOPClassUID', KEY_OBJECT_SELECTION_SOP_CLASS),
    ...attr('SOPInstanceUID', content.sopInstanceUid),
    ...attr('ContentDate', created.date),
    ...attr('ContentTime', created.time),
    ...attr('Modality', MANIFEST_MODALITY),
    ...attr('Manufacturer', MANUFACTURER),
    ...attr('SeriesDescription', 'Manifest'),
    ...attr('ManufacturerModelName', 'dicom-ingest'),
    ...attr('ReferencedPerformedProcedureStepSequence'), // type 2
    ...attr('SoftwareVersions', IMPLEMENTATION_VERSION_NAME),
    ...attr('StudyInstanceUID', content.studyInstanceUid),
    ...attr('SeriesInstanceUID', content.seriesInstanceUid),
    ...attr('SeriesNumber', MANIFEST_SERIES_NUMBER),
    ...attr('InstanceNumber', 1),
    ...attr('ValueType', 'CONTAINER'),
    ...attr('ConceptNameCodeSequence', code('113030', 'DCM', 'Manifest')),
    ...attr('ContinuityOfContent', 'SEPARATE'),
    ...attr('CurrentRequestedProcedureEvidenceSequence', evidence(content)),
    ...attr('ContentTemplateSequence', { ...attr('MappingResource', 'DCMR'), ...attr('TemplateIdentifier', '2010') }),
    ...attr('ContentSequence', ...contentItems(content, instances)),
  };
  if (accession !== undefined) {
    Object.assign(dataset, attr('ReferencedRequestSequence', referencedRequest(content, accession)));
  }
  return dataset;
}

/** The manifest as a Part 10 file (preamble, file meta, dataset). */
export function writeKos(content: ManifestContent): Buffer {
  try {
    const meta = {
      sopClassUid: KEY_OBJECT_SELECTION_SOP_CLASS,
      sopInstanceUid: content.sopInstanceUid,
      sourceAeTitle: content.retrieve.aeTitle,
    };
    return writePart10(meta, kosDataset(content), { valuesAsReceived: true });
  } catch (error) {
    throw new ManifestBuildError(error instanceof Error ? error.message : String(error), { cause: error });
  }
}

/** Hierarchical SOP Instance Reference Macro (Table C.17-3): the study, its series, their instances. */
function evidence(content: ManifestContent): Dataset {
  const { aeTitle, locationUid, dicomWebBaseUrl } = content.retrieve;
  const studyPath = `/studies/${content.studyInstanceUid}`;
  return {
    ...attr(
      'ReferencedSeriesSequence',
      ...content.series.map((series) => {
        const item: Dataset = {
          ...attr('RetrieveAETitle', aeTitle),
          ...attr(
            'ReferencedSOPSequence',
            ...series.instances.map((instance) => ({
              ...attr('ReferencedSOPClassUID', instance.sopClassUid),
              ...attr('ReferencedSOPInstanceUID', instance.sopInstanceUid),
            })),
          ),
          ...attr('SeriesInstanceUID', series.seriesInstanceUid),
          ...attr('RetrieveLocationUID', locationUid),
        };
        if (dicomWebBaseUrl !== undefined) {
          Object.assign(item, attr('RetrieveURL', `${dicomWebBaseUrl}${studyPath}/series/${series.seriesInstanceUid}`));
        }
        return item;
      }),
    ),
    ...attr('StudyInstanceUID', content.studyInstanceUid),
  };
}

/** TID 2010: a description, then one reference per instance. */
function contentItems(content: ManifestContent, instances: number): Dataset[] {
  const description: Dataset = {
    ...attr('RelationshipType', 'CONTAINS'),
    ...attr('ValueType', 'TEXT'),
    ...attr('ConceptNameCodeSequence', code('113012', 'DCM', 'Key Object Description')),
    ...attr('TextValue', `Manifest of the ${instances} instance(s) of the study held by ${content.retrieve.aeTitle}`),
  };
  const references = content.series.flatMap((series) =>
    series.instances.map(
      (instance): Dataset => ({
        ...attr('ReferencedSOPSequence', { ...attr('ReferencedSOPClassUID', instance.sopClassUid), ...attr('ReferencedSOPInstanceUID', instance.sopInstanceUid) }),
        ...attr('RelationshipType', 'CONTAINS'),
        ...attr('ValueType', referenceValueType(instance.sopClassUid)),
      }),
    ),
  );
  return [description, ...references];
}

/** Referenced Request Sequence (C.17.6.2.1): the order, by accession number, as XDS-I.b expects. */
function referencedRequest(content: ManifestContent, accession: string): Dataset {
  const item: Dataset = {
    ...attr('AccessionNumber', accession),
    ...attr('StudyInstanceUID', content.studyInstanceUid),
    [TAG.RequestedProcedureDescription]: copyOrEmpty(content.study[TAG.RequestedProcedureDescription]),
    ...attr('RequestedProcedureCodeSequence'),
    ...attr('RequestedProcedureID'),
    ...attr('PlacerOrderNumberImagingServiceRequest'),
    ...attr('FillerOrderNumberImagingServiceRequest'),
  };
  const issuerAttribute = content.study[TAG.IssuerOfAccessionNumberSequence];
  const issuer = issuerAttribute ? sanitize(issuerAttribute) : undefined;
  if (issuer) {
    item[TAG.IssuerOfAccessionNumberSequence] = issuer;
  }
  return item;
}

function copyStudyAttributes(study: DicomJson): Dataset {
  const copied: Dataset = {};
  for (const [keyword, type2] of COPIED_STUDY_ATTRIBUTES) {
    const tag = tagOf(keyword);
    const attribute = study[tag] ? sanitize(study[tag]) : undefined;
    if (attribute) {
      copied[tag] = attribute;
    } else if (type2) {
      copied[tag] = el(vrOf(tag) ?? 'LO');
    }
  }
  return copied;
}

function copyOrEmpty(attribute: DicomAttribute | undefined): Element {
  return (attribute && sanitize(attribute)) ?? el('LO');
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
  // A date or time in the ACR-NEMA form (1997.04.24, 14:04:38) is written as today's standard has it;
  // one that is no date or time at all is left out (dcmjs refused the whole manifest for it).
  if (vr === 'DA' || vr === 'TM') {
    const current = vr === 'DA' ? currentFormDate : currentFormTime;
    const written = values.map((value) => (typeof value === 'string' && value.trim() !== '' ? current(value) : ''));
    return written.every((value) => value !== undefined) ? { vr, Value: written } : undefined;
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
