import type { StudyCompletedV1Data } from '@imaging-facade/events';
import type {
  Coding,
  Identifier,
  ImagingStudy,
  ImagingStudySeries,
  ImagingStudySeriesInstance,
} from '@medplum/fhirtypes';
import { DicomDataset, type Keyword } from './dicom-dataset';
import {
  dicomDateToFhir,
  dicomIntegerToUnsignedInt,
  dicomOffsetToFhir,
  dicomTimeToFhir,
  fhirDateTime,
  modalityCode,
} from './dicom-values';
import { applyRows, type DerivedElement, type MappingContext, type MappingRow } from './mapping-table';

/** DICOM's own code system for modalities (PS3.16, Coding Scheme Designator DCM). */
export const DCM_SYSTEM = 'http://dicom.nema.org/resources/ontology/DCM';

/** Modality "Other", for a series whose Modality is missing or malformed: R4 requires series.modality. */
export const OTHER_MODALITY = 'OT';

/** The ImagingStudy's business identifier: the StudyInstanceUID as a URN, as FHIR R4 recommends. */
export function studyIdentifier(studyInstanceUid: string): Identifier {
  return { system: 'urn:dicom:uid', value: `urn:oid:${studyInstanceUid}` };
}

export function modalityCoding(code: string): Coding {
  return { system: DCM_SYSTEM, code };
}

export const IMAGING_STUDY_ROWS: readonly MappingRow<ImagingStudy>[] = [
  {
    dicom: ['StudyInstanceUID'],
    fhir: 'ImagingStudy.identifier',
    rule: '`{system: urn:dicom:uid, value: urn:oid:<StudyInstanceUID>}`',
    map: (source, study) => {
      study.identifier = [studyIdentifier(source.text('StudyInstanceUID') ?? '')];
    },
  },
  {
    dicom: [],
    fhir: 'ImagingStudy.status',
    rule: 'always `available` (the study has stored instances)',
    map: (_source, study) => {
      study.status = 'available';
    },
  },
  {
    dicom: ['StudyDate', 'StudyTime', 'TimezoneOffsetFromUTC'],
    fhir: 'ImagingStudy.started',
    rule:
      'DA + TM + offset → `YYYY-MM-DDThh:mm:ss[.f]±hh:mm`; without a (valid) time or offset → the date alone, ' +
      'since a FHIR dateTime with a time needs a zone; no valid date → left out',
    map: (source, study, context) => {
      const dateText = source.text('StudyDate');
      if (!dateText) {
        return;
      }
      const date = dicomDateToFhir(dateText);
      if (!date) {
        context.skip('StudyDate');
        return;
      }
      study.started = fhirDateTime(
        date,
        convert(source, 'StudyTime', dicomTimeToFhir, context),
        convert(source, 'TimezoneOffsetFromUTC', dicomOffsetToFhir, context),
      );
    },
  },
];

export const SERIES_ROWS: readonly MappingRow<ImagingStudySeries>[] = [
  {
    dicom: ['SeriesInstanceUID'],
    fhir: 'ImagingStudy.series.uid',
    rule: 'as is',
    map: (source, series) => {
      series.uid = source.text('SeriesInstanceUID') ?? '';
    },
  },
  {
    dicom: ['SeriesNumber'],
    fhir: 'ImagingStudy.series.number',
    rule: 'IS → unsignedInt; not a non-negative integer → left out',
    map: (source, series, context) => {
      const number = convertValue(source, 'SeriesNumber', context);
      if (number !== undefined) {
        series.number = number;
      }
    },
  },
  {
    dicom: ['Modality'],
    fhir: 'ImagingStudy.series.modality',
    rule: `Coding \`{system: ${DCM_SYSTEM}, code: <Modality>}\`; missing or malformed → \`${OTHER_MODALITY}\` (the element is required)`,
    map: (source, series, context) => {
      const code = convert(source, 'Modality', modalityCode, context);
      if (source.text('Modality') === undefined) {
        context.skip('Modality');
      }
      series.modality = modalityCoding(code ?? OTHER_MODALITY);
    },
  },
];

export const INSTANCE_ROWS: readonly MappingRow<ImagingStudySeriesInstance>[] = [
  {
    dicom: ['SOPInstanceUID'],
    fhir: 'ImagingStudy.series.instance.uid',
    rule: 'as is',
    map: (source, instance) => {
      instance.uid = source.text('SOPInstanceUID') ?? '';
    },
  },
  {
    dicom: ['SOPClassUID'],
    fhir: 'ImagingStudy.series.instance.sopClass',
    rule: 'Coding `{system: urn:ietf:rfc:3986, code: urn:oid:<SOPClassUID>}`',
    map: (source, instance) => {
      instance.sopClass = { system: 'urn:ietf:rfc:3986', code: `urn:oid:${source.text('SOPClassUID') ?? ''}` };
    },
  },
  {
    dicom: ['InstanceNumber'],
    fhir: 'ImagingStudy.series.instance.number',
    rule: 'IS → unsignedInt; not a non-negative integer → left out',
    map: (source, instance, context) => {
      const number = convertValue(source, 'InstanceNumber', context);
      if (number !== undefined) {
        instance.number = number;
      }
    },
  },
];

/** Elements computed from the whole (merged) study; see merge.ts. */
export const DERIVED_ELEMENTS: readonly DerivedElement[] = [
  {
    fhir: 'ImagingStudy.subject',
    rule: 'a stored study keeps its subject; otherwise the Patient found by identifier, else the one created in the same transaction',
  },
  { fhir: 'ImagingStudy.modality', rule: 'distinct series modalities, sorted by code' },
  { fhir: 'ImagingStudy.numberOfSeries', rule: 'number of series' },
  { fhir: 'ImagingStudy.numberOfInstances', rule: 'sum of the series’ numberOfInstances' },
  { fhir: 'ImagingStudy.series.numberOfInstances', rule: 'number of instances listed in the series' },
];

/**
 * The ImagingStudy a snapshot describes on its own (counts and modality list are added by the
 * merge). UIDs come from the validated event fields, which win over the attributes.
 */
export function imagingStudyFromSnapshot(
  data: StudyCompletedV1Data,
  subject: ImagingStudy['subject'],
  context: MappingContext,
): ImagingStudy {
  const study = applyRows(
    IMAGING_STUDY_ROWS,
    DicomDataset.withUids(data.study, { StudyInstanceUID: data.studyInstanceUid }),
    { resourceType: 'ImagingStudy', status: 'available', subject },
    context,
  );
  study.series = data.series.map((series) => {
    // The rows set uid and modality, the two required elements.
    const mapped = applyRows(
      SERIES_ROWS,
      DicomDataset.withUids(series.attributes, { SeriesInstanceUID: series.seriesInstanceUid }),
      {} as ImagingStudySeries,
      context,
    );
    mapped.instance = series.instances.map((instance) =>
      applyRows(
        INSTANCE_ROWS,
        DicomDataset.withUids(instance.attributes, {
          SOPInstanceUID: instance.sopInstanceUid,
          SOPClassUID: instance.sopClassUid,
        }),
        {} as ImagingStudySeriesInstance,
        context,
      ),
    );
    return mapped;
  });
  return study;
}

/** Converts a text attribute; a present value that does not convert is recorded as skipped. */
function convert<T>(
  source: DicomDataset,
  keyword: Keyword,
  converter: (text: string) => T | undefined,
  context: MappingContext,
): T | undefined {
  const text = source.text(keyword);
  if (text === undefined) {
    return undefined;
  }
  const value = converter(text);
  if (value === undefined) {
    context.skip(keyword);
  }
  return value;
}

function convertValue(
  source: DicomDataset,
  keyword: 'SeriesNumber' | 'InstanceNumber',
  context: MappingContext,
): number | undefined {
  const raw = source.first(keyword);
  if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) {
    return undefined;
  }
  const number = dicomIntegerToUnsignedInt(raw);
  if (number === undefined) {
    context.skip(keyword);
  }
  return number;
}
