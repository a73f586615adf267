import type { StudyCompletedV1Data } from '@imaging-facade/events';
import { isValidatedReport, textAt, type DicomJson } from '@imaging-facade/dicom';
import { accessionNumberIdentifier, dicomUidIdentifier, VALIDATED_REPORT_URL } from '@imaging-facade/fhir';
import type {
  Coding,
  Identifier,
  ImagingStudy,
  ImagingStudySeries,
  ImagingStudySeriesInstance,
  ImagingStudySeriesPerformer,
  Practitioner,
  Reference,
} from '@medplum/fhirtypes';
import { bodyPartCoding, LATERALITY } from './anatomy';
import { codedConcepts, DCM_SYSTEM } from './dicom-codes';
import { DicomDataset, TAGS, type Keyword } from './mapped-attributes';
import {
  dicomDateToFhir,
  dicomIntegerToUnsignedInt,
  dicomOffsetToFhir,
  dicomTimeToFhir,
  fhirDateTime,
  modalityCode,
  personNameDisplay,
} from './dicom-values';
import { hierarchicDesignator, issuerTextToSystem } from './issuers';
import { applyRows, type DerivedElement, type MappingContext, type MappingRow } from './mapping-table';

export { DCM_SYSTEM } from './dicom-codes';

/** Modality "Other", for a series whose Modality is missing or malformed: R4 requires series.modality. */
export const OTHER_MODALITY = 'OT';

/** Systems made for an accession issuer that is only a local name: `<base><name, percent-encoded>`. */
export const LOCAL_ACCESSION_SYSTEM_BASE = 'https://imagingfacade.org/fhir/sid/accession-number/';

const PARTICIPATION_TYPE = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';

export function modalityCoding(code: string): Coding {
  return { system: DCM_SYSTEM, code };
}

/**
 * AccessionNumber + IssuerOfAccessionNumberSequence → an identifier of type ACSN. The issuer's
 * Universal Entity ID (ISO, URI, UUID) gives the system, else its Local Namespace Entity ID read
 * like an IssuerOfPatientID; the local name is also the assigner. No issuer: the node's
 * FACADE_ACCESSION_NUMBER_SYSTEM, when set.
 */
export function accessionIdentifier(source: DicomDataset, defaultSystem?: string): Identifier | undefined {
  const value = source.text('AccessionNumber');
  if (!value) {
    return undefined;
  }
  const { system: universal, localName } = hierarchicDesignator(source.items('IssuerOfAccessionNumberSequence')[0]);
  const system = universal ?? (localName ? issuerTextToSystem(localName, LOCAL_ACCESSION_SYSTEM_BASE) : defaultSystem);
  return accessionNumberIdentifier(value, system, { assigner: localName });
}

/** A display-only reference to a person named by a PN value. */
function practitioner(value: unknown): Reference<Practitioner> | undefined {
  const display = personNameDisplay(value);
  return display ? { type: 'Practitioner', display } : undefined;
}

function performer(
  code: string,
  display: string,
  actor: ImagingStudySeriesPerformer['actor'],
): ImagingStudySeriesPerformer {
  return { function: { coding: [{ system: PARTICIPATION_TYPE, code, display }] }, actor };
}

export const IMAGING_STUDY_ROWS: readonly MappingRow<ImagingStudy>[] = [
  {
    dicom: ['StudyInstanceUID'],
    fhir: 'ImagingStudy.identifier',
    rule: '`{system: urn:dicom:uid, value: urn:oid:<StudyInstanceUID>}`',
    map: (source, study) => {
      study.identifier = [dicomUidIdentifier(source.text('StudyInstanceUID') ?? '')];
    },
  },
  {
    dicom: ['AccessionNumber', 'IssuerOfAccessionNumberSequence'],
    fhir: 'ImagingStudy.identifier',
    rule:
      'type ACSN (`http://terminology.hl7.org/CodeSystem/v2-0203`), value = AccessionNumber; system = the issuer’s ' +
      'Universal Entity ID (ISO → `urn:oid:`, URI as is, UUID → `urn:uuid:`), else its Local Namespace Entity ID ' +
      `(OID → \`urn:oid:\`, URI as is, other text → \`${LOCAL_ACCESSION_SYSTEM_BASE}<text, percent-encoded>\`), ` +
      'else FACADE_ACCESSION_NUMBER_SYSTEM when set, else none; the Local Namespace Entity ID also → `assigner.display`',
    map: (source, study, context) => {
      const accession = accessionIdentifier(source, context.defaultAccessionNumberSystem);
      if (accession) {
        study.identifier = [...(study.identifier ?? []), accession];
      }
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
      'DA + TM + offset → `YYYY-MM-DDThh:mm:ss[.f]±hh:mm`; without an offset, the time is local time of the node ' +
      '(FACADE_TIME_ZONE) and gets the offset that zone had then; an offset written wrong (`0100`) → the date alone (the zone is not known); ' +
      'without a (valid) time → the date alone; no valid date → left out; ' +
      'the ACR-NEMA forms `YYYY.MM.DD` and `HH:MM:SS`, which PS3.5 6.2 asks readers to accept, are read',
    map: (source, study, context) => {
      const started = dateTime(source, 'StudyDate', 'StudyTime', context);
      if (started) {
        study.started = started;
      }
    },
  },
  {
    dicom: ['ReferringPhysicianName'],
    fhir: 'ImagingStudy.referrer',
    rule: '`{type: Practitioner, display: <name>}`, the alphabetic group as “prefix given middle family suffix”',
    map: (source, study) => {
      const referrer = practitioner(source.first('ReferringPhysicianName'));
      if (referrer) {
        study.referrer = referrer;
      }
    },
  },
  {
    dicom: ['NameOfPhysiciansReadingStudy'],
    fhir: 'ImagingStudy.interpreter',
    rule: 'one `{type: Practitioner, display: <name>}` per value',
    map: (source, study) => {
      const interpreters = source
        .values('NameOfPhysiciansReadingStudy')
        .map(practitioner)
        .filter((reference): reference is Reference<Practitioner> => reference !== undefined);
      if (interpreters.length > 0) {
        study.interpreter = interpreters;
      }
    },
  },
  {
    dicom: ['ProcedureCodeSequence'],
    fhir: 'ImagingStudy.procedureCode',
    rule: 'one CodeableConcept per item (see “Coded entries” below)',
    map: (source, study, context) => {
      const procedures = codedConcepts(source, 'ProcedureCodeSequence', context);
      if (procedures.length > 0) {
        study.procedureCode = procedures;
      }
    },
  },
  {
    dicom: ['InstitutionalDepartmentName'],
    fhir: 'ImagingStudy.location',
    rule: '`{type: Location, display: <department>}`, as the R4 DICOM mapping of `location` says',
    map: (source, study) => {
      const department = source.text('InstitutionalDepartmentName');
      if (department) {
        study.location = { type: 'Location', display: department };
      }
    },
  },
  {
    dicom: ['ReasonForRequestedProcedureCodeSequence', 'ReasonForTheRequestedProcedure'],
    fhir: 'ImagingStudy.reasonCode',
    rule:
      'one CodeableConcept per item of the code sequence; the free-text reason becomes the `text` of the only one, ' +
      'or a CodeableConcept of its own',
    map: (source, study, context) => {
      const reasons = codedConcepts(source, 'ReasonForRequestedProcedureCodeSequence', context);
      const text = source.text('ReasonForTheRequestedProcedure');
      if (text && reasons.length === 1 && !reasons[0]!.text) {
        reasons[0] = { ...reasons[0], text };
      } else if (text) {
        reasons.push({ text });
      }
      if (reasons.length > 0) {
        study.reasonCode = reasons;
      }
    },
  },
  {
    dicom: ['StudyDescription'],
    fhir: 'ImagingStudy.description',
    rule: 'as is',
    map: (source, study) => {
      const description = source.text('StudyDescription');
      if (description) {
        study.description = description;
      }
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
  {
    dicom: ['SeriesDescription'],
    fhir: 'ImagingStudy.series.description',
    rule: 'as is',
    map: (source, series) => {
      const description = source.text('SeriesDescription');
      if (description) {
        series.description = description;
      }
    },
  },
  {
    dicom: ['BodyPartExamined'],
    fhir: 'ImagingStudy.series.bodySite',
    rule:
      'SNOMED CT Coding per DICOM PS3.16 Annex L (e.g. CHEST → 43799004 Chest, HEAD → 69536005 Head); a term ' +
      'not in the table → `{display: <term>}`',
    map: (source, series) => {
      const term = source.text('BodyPartExamined');
      if (term) {
        series.bodySite = bodyPartCoding(term).coding;
      }
    },
  },
  {
    dicom: ['Laterality', 'ImageLaterality'],
    fhir: 'ImagingStudy.series.laterality',
    rule:
      'SNOMED CT (PS3.16 CID 244): R → 24028007 Right, L → 7771000 Left, B → 51440002 Right and left; ' +
      'U (unpaired) → none; anything else → left out. Without Laterality (a mammography series), the ' +
      "instances' Image Laterality: one side in all → that side, both sides → B",
    map: (source, series, context) => {
      const keyword = source.text('Laterality') ? 'Laterality' : 'ImageLaterality';
      const value = source.text(keyword);
      if (!value) {
        return;
      }
      const coding = LATERALITY[value.toUpperCase()];
      if (coding) {
        series.laterality = coding;
      } else if (coding === undefined) {
        context.skip(keyword);
      }
    },
  },
  {
    dicom: ['SeriesDate', 'SeriesTime', 'TimezoneOffsetFromUTC'],
    fhir: 'ImagingStudy.series.started',
    rule: 'as `started`, with the study’s TimezoneOffsetFromUTC',
    map: (source, series, context) => {
      const started = dateTime(source, 'SeriesDate', 'SeriesTime', context);
      if (started) {
        series.started = started;
      }
    },
  },
  {
    dicom: ['PerformingPhysicianName', 'OperatorsName', 'InstitutionName', 'StationName'],
    fhir: 'ImagingStudy.series.performer',
    rule:
      'display-only actors with a v3-ParticipationType function, as the FHIR imaging mappings assign them: ' +
      'each PerformingPhysicianName → PRF + Practitioner; each OperatorsName → SPRF + Practitioner; ' +
      'InstitutionName → LOC + Organization; StationName → DEV + Device',
    map: (source, series) => {
      const performers: ImagingStudySeriesPerformer[] = [];
      for (const name of source.values('PerformingPhysicianName')) {
        const actor = practitioner(name);
        if (actor) {
          performers.push(performer('PRF', 'performer', actor));
        }
      }
      for (const name of source.values('OperatorsName')) {
        const actor = practitioner(name);
        if (actor) {
          performers.push(performer('SPRF', 'secondary performer', actor));
        }
      }
      const institution = source.text('InstitutionName');
      if (institution) {
        performers.push(performer('LOC', 'location', { type: 'Organization', display: institution }));
      }
      const station = source.text('StationName');
      if (station) {
        performers.push(performer('DEV', 'device', { type: 'Device', display: station }));
      }
      if (performers.length > 0) {
        series.performer = performers;
      }
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
  {
    dicom: ['DocumentTitle', 'ConceptNameCodeSequence'],
    fhir: 'ImagingStudy.series.instance.title',
    rule:
      'DocumentTitle (encapsulated documents), else the Code Meaning of ConceptNameCodeSequence (the document title ' +
      'of a structured report or key object selection)',
    map: (source, instance) => {
      const title =
        source.text('DocumentTitle') ??
        source
          .items('ConceptNameCodeSequence')
          .map((item) => item.text('CodeMeaning'))
          .find((meaning) => meaning !== undefined);
      if (title) {
        instance.title = title;
      }
    },
  },
  {
    dicom: ['SOPClassUID', 'CompletionFlag', 'VerificationFlag'],
    fhir: 'ImagingStudy.series.instance.extension (validated-report)',
    rule:
      `a report signed off: a structured report COMPLETE and VERIFIED, an encapsulated PDF or CDA VERIFIED → \`{url: ${VALIDATED_REPORT_URL}, valueBoolean: true}\`; ` +
      'anything else → left out (a referrer sees the study once it has one, see the README)',
    map: (source, instance) => {
      if (isValidatedReport(source.text('SOPClassUID') ?? '', source.raw)) {
        instance.extension = [{ url: VALIDATED_REPORT_URL, valueBoolean: true }];
      }
    },
  },
];

/** Elements computed from the whole (merged) study; see merge.ts. */
export const DERIVED_ELEMENTS: readonly DerivedElement[] = [
  {
    fhir: 'ImagingStudy.subject',
    rule: 'a stored study keeps its subject, unless its Patient carries the same issuer\'s identifier with another value only (the Patient ID corrected at the source: the study, its manifest and dose move); otherwise the Patient found by identifier, else the one created in the same transaction',
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
  // TimezoneOffsetFromUTC belongs to each instance; the event carries it with the study attributes.
  const offset = data.study[TAGS.TimezoneOffsetFromUTC];
  study.series = data.series.map((series) => {
    const imageLaterality = seriesImageLaterality(series.instances.map((instance) => instance.attributes));
    // The rows set uid and modality, the two required elements.
    const mapped = applyRows(
      SERIES_ROWS,
      DicomDataset.withUids(
        {
          ...(offset ? { [TAGS.TimezoneOffsetFromUTC]: offset } : {}),
          ...(imageLaterality ? { [TAGS.ImageLaterality]: { vr: 'CS', Value: [imageLaterality] } } : {}),
          ...series.attributes,
        },
        { SeriesInstanceUID: series.seriesInstanceUid },
      ),
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

/**
 * The side a series' images show, from their Image Laterality (an instance attribute): the one side
 * they all show, B when they show both (a series of the four screening views), undefined when none
 * says (U, unpaired, says none). A value that is no side is kept, for the row to report.
 */
export function seriesImageLaterality(instances: readonly DicomJson[]): string | undefined {
  const sides = new Set(
    instances.map((attributes) => textAt(attributes, TAGS.ImageLaterality)?.toUpperCase()).filter((side): side is string => side !== undefined && side !== 'U'),
  );
  if (sides.size <= 1) {
    return [...sides][0];
  }
  return [...sides].every((side) => side === 'R' || side === 'L' || side === 'B') ? 'B' : [...sides].sort().join('\\');
}

/** DA + TM + TimezoneOffsetFromUTC → a FHIR dateTime; a present date that is not one is recorded as skipped. */
function dateTime(
  source: DicomDataset,
  dateKeyword: 'StudyDate' | 'SeriesDate',
  timeKeyword: 'StudyTime' | 'SeriesTime',
  context: MappingContext,
): string | undefined {
  const dateText = source.text(dateKeyword);
  if (!dateText) {
    return undefined;
  }
  const date = dicomDateToFhir(dateText);
  if (!date) {
    context.skip(dateKeyword);
    return undefined;
  }
  const offset = convert(source, 'TimezoneOffsetFromUTC', dicomOffsetToFhir, context);
  // An offset the modality gave but wrote wrong (`0100`): its zone is not the node's, and is unknown.
  const zoneUnknown = offset === undefined && source.text('TimezoneOffsetFromUTC') !== undefined;
  return fhirDateTime(date, convert(source, timeKeyword, dicomTimeToFhir, context), offset, zoneUnknown ? undefined : context.timeZone);
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
