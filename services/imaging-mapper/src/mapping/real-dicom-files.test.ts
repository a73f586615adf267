import { readFileSync } from 'node:fs';
import path from 'node:path';
import { studyCompletedV1DataSchema, type StudyCompletedV1Data } from '@imaging-facade/events';
import type { Coding, HumanName, ImagingStudySeries, ImagingStudySeriesPerformer, Patient } from '@medplum/fhirtypes';
import { DicomDataset, type Keyword } from './mapped-attributes';
import { dicomUidIdentifier as studyIdentifier, VALIDATED_REPORT_URL } from '@imaging-facade/fhir';
import { imagingStudyFromSnapshot } from './imaging-study-mapping';
import { applyRows, type MappingContext } from './mapping-table';
import { mergeImagingStudy } from '../fhir/merge';
import { PATIENT_ROWS } from './patient-mapping';
import { expectElements } from '../test-support/expect-elements';
import { validateR4 } from '../test-support/fhir-validation';

/**
 * Real DICOM files (Debian's pydicom test and character set files) read by dicom-ingest's own
 * extraction path, with pydicom's view of each file: see services/dicom-ingest/src/real-dicom-files.test.ts,
 * which keeps test-support/real-dicom-files.json in step. The expected FHIR values are derived here
 * from pydicom's reading, not from our mapping code.
 */

/** A PN group as pydicom splits it. */
interface PnComponents {
  family: string;
  given: string;
  middle: string;
  prefix: string;
  suffix: string;
}
type PersonName = PnComponents[];

interface PydicomView {
  patient: {
    id: string | null;
    issuer: string | null;
    name: PersonName | null;
    birthDate: string | null;
    sex: string | null;
    otherIds: Array<{ id: string | null; issuer: string | null }>;
  };
  study: {
    uid: string;
    date: string | null;
    time: string | null;
    offset: string | null;
    accession: string | null;
    referrer: PersonName | null;
    readers: PersonName[];
    description: string | null;
    department: string | null;
  };
  series: {
    uid: string;
    number: number | null;
    modality: string | null;
    description: string | null;
    bodyPart: string | null;
    laterality: string | null;
    date: string | null;
    time: string | null;
    institution: string | null;
    station: string | null;
    performers: PersonName[];
    operators: PersonName[];
  };
  instance: {
    uid: string;
    sopClassUid: string;
    number: number | null;
    documentTitle: string | null;
    conceptName: string | null;
    completionFlag: string | null;
    verificationFlag: string | null;
  };
}

interface RealFile {
  file: string;
  snapshot: StudyCompletedV1Data;
  pydicom: PydicomView;
}

const FILES: RealFile[] = JSON.parse(
  readFileSync(path.join(__dirname, '..', 'test-support', 'real-dicom-files.json'), 'utf8'),
) as RealFile[];

const DEFAULT_SYSTEM = 'https://hospital.example/mrn';
const SCT = 'http://snomed.info/sct';
const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const PARTICIPATION = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';
/** The Body Part Examined values of these files, coded as PS3.16 Annex L Table L-1 says. */
const BODY_PARTS: Record<string, Coding> = {
  HEAD: { system: SCT, code: '69536005', display: 'Head' },
  CHEST: { system: SCT, code: '43799004', display: 'Chest' },
};

function map(snapshot: StudyCompletedV1Data) {
  const skipped = new Set<Keyword>();
  const context: MappingContext = { defaultPatientIdSystem: DEFAULT_SYSTEM, skip: (keyword) => skipped.add(keyword) };
  const patient = applyRows(PATIENT_ROWS, new DicomDataset(snapshot.study), { resourceType: 'Patient' } as Patient, context);
  const study = imagingStudyFromSnapshot(snapshot, { reference: 'Patient/1' }, context);
  return { patient, study, skipped };
}

const nonEmpty = (...parts: string[]) => parts.filter((part) => part.trim() !== '');

function humanNames(name: PersonName | null): HumanName[] | undefined {
  const representations = [undefined, 'IDE', 'SYL'];
  const names = (name ?? []).flatMap((group, index): HumanName[] => {
    const human: HumanName = {
      ...(representations[index]
        ? {
            extension: [
              { url: 'http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation', valueCode: representations[index] },
            ],
          }
        : {}),
      ...(group.family ? { family: group.family } : {}),
      ...(nonEmpty(group.given, group.middle).length > 0 ? { given: nonEmpty(group.given, group.middle) } : {}),
      ...(group.prefix ? { prefix: [group.prefix] } : {}),
      ...(group.suffix ? { suffix: [group.suffix] } : {}),
    };
    return nonEmpty(group.family, group.given, group.middle, group.prefix, group.suffix).length > 0 ? [human] : [];
  });
  return names.length > 0 ? names : undefined;
}

function display(name: PersonName | null): string | undefined {
  const alphabetic = name?.[0];
  return alphabetic
    ? nonEmpty(alphabetic.prefix, alphabetic.given, alphabetic.middle, alphabetic.family, alphabetic.suffix).join(' ') || undefined
    : undefined;
}

function fhirDate(da: string | null): string | undefined {
  const match = da ? /^(\d{4})(\d{2})(\d{2})$/.exec(da) : null;
  return match ? `${match[1]}-${match[2]}-${match[3]}` : undefined;
}

function fhirDateTime(da: string | null, tm: string | null, offset: string | null): string | undefined {
  const date = fhirDate(da);
  const time = tm ? /^(\d{2})(\d{2})(\d{2})(\.\d+)?$/.exec(tm) : null;
  const zone = offset ? /^([+-]\d{2})(\d{2})$/.exec(offset) : null;
  if (!date || !time || !zone) {
    return date;
  }
  return `${date}T${time[1]}:${time[2]}:${time[3]}${time[4] ?? ''}${zone[1]}:${zone[2]}`;
}

function performers(view: PydicomView): ImagingStudySeriesPerformer[] | undefined {
  const role = (code: string, label: string) => ({ coding: [{ system: PARTICIPATION, code, display: label }] });
  const list: ImagingStudySeriesPerformer[] = [
    ...view.series.performers.map((name) => ({
      function: role('PRF', 'performer'),
      actor: { type: 'Practitioner' as const, display: display(name)! },
    })),
    ...view.series.operators.map((name) => ({
      function: role('SPRF', 'secondary performer'),
      actor: { type: 'Practitioner' as const, display: display(name)! },
    })),
    ...(view.series.institution
      ? [{ function: role('LOC', 'location'), actor: { type: 'Organization' as const, display: view.series.institution } }]
      : []),
    ...(view.series.station
      ? [{ function: role('DEV', 'device'), actor: { type: 'Device' as const, display: view.series.station } }]
      : []),
  ];
  return list.length > 0 ? list : undefined;
}

describe('real DICOM files, through the ingest and the mapper', () => {
  it('the fixture holds valid study-completed events of every file', () => {
    expect(FILES.length).toBeGreaterThanOrEqual(25);
    expect(FILES.filter(({ pydicom }) => pydicom.instance.verificationFlag === 'VERIFIED').map(({ file }) => file)).toEqual(['test-SR.dcm']);
    for (const { snapshot } of FILES) {
      expect(studyCompletedV1DataSchema.safeParse(snapshot).success).toBe(true);
    }
  });

  it.each(FILES.filter(({ pydicom }) => pydicom.patient.id !== null))(
    '$file: the Patient has the identifier, names in every representation, birth date and gender pydicom reads',
    ({ snapshot, pydicom }) => {
      const { patient, skipped } = map(snapshot);

      expect(patient).toEqual({
        resourceType: 'Patient',
        identifier: [{ system: DEFAULT_SYSTEM, value: pydicom.patient.id }],
        ...(humanNames(pydicom.patient.name) ? { name: humanNames(pydicom.patient.name) } : {}),
        ...(fhirDate(pydicom.patient.birthDate) ? { birthDate: fhirDate(pydicom.patient.birthDate) } : {}),
        gender: ({ M: 'male', F: 'female', O: 'other' } as Record<string, Patient['gender']>)[pydicom.patient.sex ?? ''] ?? 'unknown',
      });
      // Other patient IDs without an issuer are left out, and said so.
      expect(skipped.has('OtherPatientIDsSequence')).toBe(pydicom.patient.otherIds.some(({ issuer }) => issuer === null));
      expect(validateR4(patient)).toEqual([]);
    },
  );

  it.each(FILES)('$file: the ImagingStudy has every study, series and instance element pydicom reads', ({ snapshot, pydicom }) => {
    const { study } = map(snapshot);
    const { study: s, series: se, instance: i } = pydicom;

    expectElements(study, {
      identifier: [
        studyIdentifier(s.uid),
        ...(s.accession
          ? [
              {
                type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'ACSN', display: 'Accession ID' }] },
                value: s.accession,
              },
            ]
          : []),
      ],
      started: fhirDateTime(s.date, s.time, s.offset),
      referrer: display(s.referrer) ? { type: 'Practitioner', display: display(s.referrer) } : undefined,
      interpreter: s.readers.length > 0 ? s.readers.map((name) => ({ type: 'Practitioner', display: display(name) })) : undefined,
      description: s.description ?? undefined,
      location: s.department ? { type: 'Location', display: s.department } : undefined,
    });
    const expectedSeries: ImagingStudySeries = {
      uid: se.uid,
      ...(se.number !== null ? { number: se.number } : {}),
      modality: { system: DCM, code: se.modality ?? 'OT' },
      ...(se.description ? { description: se.description } : {}),
      ...(se.bodyPart ? { bodySite: BODY_PARTS[se.bodyPart] ?? { display: se.bodyPart } } : {}),
      ...(fhirDateTime(se.date, se.time, s.offset) ? { started: fhirDateTime(se.date, se.time, s.offset) } : {}),
      ...(performers(pydicom) ? { performer: performers(pydicom) } : {}),
      instance: [
        {
          uid: i.uid,
          sopClass: { system: 'urn:ietf:rfc:3986', code: `urn:oid:${i.sopClassUid}` },
          ...(i.number !== null ? { number: i.number } : {}),
          ...((i.documentTitle ?? i.conceptName) ? { title: i.documentTitle ?? i.conceptName! } : {}),
          // A report signed off (the files hold one Comprehensive SR, COMPLETE and VERIFIED, and drafts).
          ...(i.sopClassUid.startsWith('1.2.840.10008.5.1.4.1.1.88.') && i.completionFlag === 'COMPLETE' && i.verificationFlag === 'VERIFIED'
            ? { extension: [{ url: VALIDATED_REPORT_URL, valueBoolean: true }] }
            : {}),
        },
      ],
    };
    expect(study.series).toEqual([expectedSeries]);
    expect(validateR4(mergeImagingStudy(undefined, study))).toEqual([]);
  });
});
