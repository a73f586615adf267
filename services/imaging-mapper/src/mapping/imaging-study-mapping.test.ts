import type { DicomAttribute } from '@imaging-facade/dicom';
import type { ImagingStudy, ImagingStudySeries, ImagingStudySeriesInstance } from '@medplum/fhirtypes';
import { DicomDataset, type Keyword } from './mapped-attributes';
import { ACCESSION_NUMBER_TYPE as ACCESSION_TYPE, dicomUidIdentifier as studyIdentifier } from '@imaging-facade/fhir';
import { IMAGING_STUDY_ROWS, imagingStudyFromSnapshot, INSTANCE_ROWS, LOCAL_ACCESSION_SYSTEM_BASE, SERIES_ROWS, seriesImageLaterality } from './imaging-study-mapping';
import { applyRows, type MappingContext, type MappingRow } from './mapping-table';
import { mergeImagingStudy } from '../fhir/merge';
import { validateR4 } from '../test-support/fhir-validation';
import { expectElements } from '../test-support/expect-elements';
import { attr, dataset, studySnapshot } from '../test-support/study-events';

const UID = '1.2.826.0.1.3680043.8.498.1';
const SCT = 'http://snomed.info/sct';
const PARTICIPATION = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';

/** A sequence of items, each given by keyword. */
const sq = (...items: Array<Partial<Record<Keyword, DicomAttribute>>>): DicomAttribute => attr('SQ', ...items.map(dataset));
/** A code sequence item (Code Sequence Macro). */
const code = (value: string, scheme?: string, meaning?: string): Partial<Record<Keyword, DicomAttribute>> => ({
  CodeValue: attr('SH', value),
  ...(scheme ? { CodingSchemeDesignator: attr('SH', scheme) } : {}),
  ...(meaning ? { CodeMeaning: attr('LO', meaning) } : {}),
});
const role = (code: string, display: string) => ({ coding: [{ system: PARTICIPATION, code, display }] });

function apply<T>(rows: readonly MappingRow<T>[], attributes: Partial<Record<Keyword, DicomAttribute>>, target: T, timeZone?: string) {
  const skipped: Keyword[] = [];
  const context: MappingContext = { defaultPatientIdSystem: 'urn:x', timeZone, skip: (keyword) => skipped.push(keyword) };
  return { result: applyRows(rows, new DicomDataset(dataset(attributes)), target, context), skipped };
}

describe('a study time without TimezoneOffsetFromUTC, on a node in Europe/Paris (FACADE_TIME_ZONE)', () => {
  it.each([
    ['winter', '20240105', '2024-01-05T10:15:00+01:00'],
    ['summer', '20240705', '2024-07-05T10:15:00+02:00'],
  ])('keeps the time, in %s with the offset the zone had then', (_season, studyDate, started) => {
    const attributes = { StudyDate: attr('DA', studyDate), StudyTime: attr('TM', '101500') };
    expect(apply(IMAGING_STUDY_ROWS, attributes, { resourceType: 'ImagingStudy' } as ImagingStudy, 'Europe/Paris').result.started).toBe(started);
  });
  it('an offset written wrong (0100, no sign) says the zone is not known: the date alone, not the node\'s zone', () => {
    const attributes = { StudyDate: attr('DA', '20240105'), StudyTime: attr('TM', '101500'), TimezoneOffsetFromUTC: attr('SH', '0100') };
    const { result, skipped } = apply(IMAGING_STUDY_ROWS, attributes, { resourceType: 'ImagingStudy' } as ImagingStudy, 'Europe/Paris');
    expect([result.started, skipped]).toEqual(['2024-01-05', ['TimezoneOffsetFromUTC']]);
  });
});

describe("an accession number without an issuer, on a node that names its RIS's system (FACADE_ACCESSION_NUMBER_SYSTEM)", () => {
  const rows = (attributes: Partial<Record<Keyword, DicomAttribute>>) => {
    const context: MappingContext = { defaultPatientIdSystem: 'urn:x', defaultAccessionNumberSystem: 'urn:oid:1.2.250.1.999.1.2', skip: () => undefined };
    return applyRows(IMAGING_STUDY_ROWS, new DicomDataset(dataset(attributes)), { resourceType: 'ImagingStudy' } as ImagingStudy, context);
  };
  it('gets that system', () => {
    expect(rows({ AccessionNumber: attr('SH', 'ACC-1') }).identifier?.[1]).toEqual({ type: { coding: [ACCESSION_TYPE] }, system: 'urn:oid:1.2.250.1.999.1.2', value: 'ACC-1' });
  });
  it('an issuer the instance names still wins', () => {
    const issued = rows({ AccessionNumber: attr('SH', 'ACC-1'), IssuerOfAccessionNumberSequence: sq({ UniversalEntityID: attr('UT', '1.2.3.4'), UniversalEntityIDType: attr('CS', 'ISO') }) });
    expect(issued.identifier?.[1]?.system).toBe('urn:oid:1.2.3.4');
  });
});

describe('the ImagingStudy rows', () => {
  const date = { StudyDate: attr('DA', '20240105') };
  it.each<[string, Partial<Record<Keyword, DicomAttribute>>, Partial<ImagingStudy>, Keyword[]]>([
    [
      'StudyInstanceUID → identifier',
      { StudyInstanceUID: attr('UI', UID) },
      { identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:${UID}` }] },
      [],
    ],
    ['status is available', {}, { status: 'available' }, []],
    [
      'date, time and offset',
      { ...date, StudyTime: attr('TM', '101500'), TimezoneOffsetFromUTC: attr('SH', '+0100') },
      { started: '2024-01-05T10:15:00+01:00' },
      [],
    ],
    [
      'a negative offset and fractional seconds',
      { ...date, StudyTime: attr('TM', '235959.5'), TimezoneOffsetFromUTC: attr('SH', '-0500') },
      { started: '2024-01-05T23:59:59.5-05:00' },
      [],
    ],
    [
      'date and time without an offset: the date alone',
      { ...date, StudyTime: attr('TM', '101500') },
      { started: '2024-01-05' },
      [],
    ],
    ['a date without a time', { ...date, TimezoneOffsetFromUTC: attr('SH', '+0100') }, { started: '2024-01-05' }, []],
    ['an empty time', { ...date, StudyTime: attr('TM') }, { started: '2024-01-05' }, []],
    [
      'a malformed time: the date alone',
      { ...date, StudyTime: attr('TM', '25'), TimezoneOffsetFromUTC: attr('SH', '+0100') },
      { started: '2024-01-05' },
      ['StudyTime'],
    ],
    [
      'a malformed offset: the date alone',
      { ...date, StudyTime: attr('TM', '1015'), TimezoneOffsetFromUTC: attr('SH', 'CET') },
      { started: '2024-01-05' },
      ['TimezoneOffsetFromUTC'],
    ],
    [
      'a date of the wrong length: no started',
      { StudyDate: attr('DA', '240105'), StudyTime: attr('TM', '1015') },
      { started: undefined },
      ['StudyDate'],
    ],
    ['no date: no started', { StudyTime: attr('TM', '1015') }, { started: undefined }, []],
    [
      'AccessionNumber without an issuer: type ACSN, no system',
      { StudyInstanceUID: attr('UI', UID), AccessionNumber: attr('SH', 'ACC-1') },
      { identifier: [studyIdentifier(UID), { type: { coding: [ACCESSION_TYPE] }, value: 'ACC-1' }] },
      [],
    ],
    [
      'AccessionNumber with an ISO issuer: urn:oid system, local name as assigner',
      {
        StudyInstanceUID: attr('UI', UID),
        AccessionNumber: attr('SH', 'ACC-1'),
        IssuerOfAccessionNumberSequence: sq({
          LocalNamespaceEntityID: attr('UT', 'RIS NORD'),
          UniversalEntityID: attr('UT', '1.2.250.1.999.1'),
          UniversalEntityIDType: attr('CS', 'ISO'),
        }),
      },
      {
        identifier: [
          studyIdentifier(UID),
          {
            type: { coding: [ACCESSION_TYPE] },
            system: 'urn:oid:1.2.250.1.999.1',
            value: 'ACC-1',
            assigner: { display: 'RIS NORD' },
          },
        ],
      },
      [],
    ],
    [
      'AccessionNumber with a URI issuer',
      {
        AccessionNumber: attr('SH', 'ACC-1'),
        IssuerOfAccessionNumberSequence: sq({
          UniversalEntityID: attr('UT', 'https://ris.example/accession'),
          UniversalEntityIDType: attr('CS', 'URI'),
        }),
      },
      { identifier: [studyIdentifier(''), { type: { coding: [ACCESSION_TYPE] }, system: 'https://ris.example/accession', value: 'ACC-1' }] },
      [],
    ],
    [
      'AccessionNumber with a UUID issuer',
      {
        AccessionNumber: attr('SH', 'ACC-1'),
        IssuerOfAccessionNumberSequence: sq({
          UniversalEntityID: attr('UT', 'A0B1C2D3-0000-4000-8000-000000000001'),
          UniversalEntityIDType: attr('CS', 'UUID'),
        }),
      },
      {
        identifier: [
          studyIdentifier(''),
          { type: { coding: [ACCESSION_TYPE] }, system: 'urn:uuid:a0b1c2d3-0000-4000-8000-000000000001', value: 'ACC-1' },
        ],
      },
      [],
    ],
    [
      'AccessionNumber with a local issuer only: a system of ours',
      {
        AccessionNumber: attr('SH', 'ACC-1'),
        IssuerOfAccessionNumberSequence: sq({ LocalNamespaceEntityID: attr('UT', 'RIS NORD') }),
      },
      {
        identifier: [
          studyIdentifier(''),
          {
            type: { coding: [ACCESSION_TYPE] },
            system: `${LOCAL_ACCESSION_SYSTEM_BASE}RIS%20NORD`,
            value: 'ACC-1',
            assigner: { display: 'RIS NORD' },
          },
        ],
      },
      [],
    ],
    [
      'AccessionNumber whose issuer is a DNS name: the local name still serves',
      {
        AccessionNumber: attr('SH', 'ACC-1'),
        IssuerOfAccessionNumberSequence: sq({
          LocalNamespaceEntityID: attr('UT', '1.2.3'),
          UniversalEntityID: attr('UT', 'ris.example'),
          UniversalEntityIDType: attr('CS', 'DNS'),
        }),
      },
      {
        identifier: [
          studyIdentifier(''),
          { type: { coding: [ACCESSION_TYPE] }, system: 'urn:oid:1.2.3', value: 'ACC-1', assigner: { display: '1.2.3' } },
        ],
      },
      [],
    ],
    [
      'an ISO issuer that is not an OID is not a system',
      {
        AccessionNumber: attr('SH', 'ACC-1'),
        IssuerOfAccessionNumberSequence: sq({ UniversalEntityID: attr('UT', 'not an oid'), UniversalEntityIDType: attr('CS', 'ISO') }),
      },
      { identifier: [studyIdentifier(''), { type: { coding: [ACCESSION_TYPE] }, value: 'ACC-1' }] },
      [],
    ],
    ['an empty AccessionNumber: no identifier', { AccessionNumber: attr('SH') }, { identifier: [studyIdentifier('')] }, []],
    [
      'ReferringPhysicianName → referrer display, Western order',
      { ReferringPhysicianName: attr('PN', { Alphabetic: 'Curie^Marie^Sklodowska^Dr^PhD' }) },
      { referrer: { type: 'Practitioner', display: 'Dr Marie Sklodowska Curie PhD' } },
      [],
    ],
    [
      'a referrer with only an ideographic name keeps family first',
      { ReferringPhysicianName: attr('PN', { Ideographic: '山田^太郎' }) },
      { referrer: { type: 'Practitioner', display: '山田 太郎' } },
      [],
    ],
    ['an empty referrer: none', { ReferringPhysicianName: attr('PN', { Alphabetic: '^^^^' }) }, { referrer: undefined }, []],
    [
      'NameOfPhysiciansReadingStudy → one interpreter per value',
      { NameOfPhysiciansReadingStudy: attr('PN', { Alphabetic: 'House^Gregory' }, { Alphabetic: 'Wilson^James' }) },
      {
        interpreter: [
          { type: 'Practitioner', display: 'Gregory House' },
          { type: 'Practitioner', display: 'James Wilson' },
        ],
      },
      [],
    ],
    ['StudyDescription → description', { StudyDescription: attr('LO', 'Scanner thoracique') }, { description: 'Scanner thoracique' }, []],
    [
      'ProcedureCodeSequence → procedureCode, LOINC and RadLex',
      { ProcedureCodeSequence: sq(code('24627-2', 'LN', 'CT Chest'), code('RPID16', 'RADLEX', 'CT Chest wo IV Contrast')) },
      {
        procedureCode: [
          { coding: [{ system: 'http://loinc.org', code: '24627-2', display: 'CT Chest' }] },
          { coding: [{ system: 'http://www.radlex.org', code: 'RPID16', display: 'CT Chest wo IV Contrast' }] },
        ],
      },
      [],
    ],
    [
      'a procedure code of a private scheme keeps its code under our namespace',
      { ProcedureCodeSequence: sq(code('TDM-THX', '99CHU', 'TDM thorax')) },
      {
        procedureCode: [
          {
            coding: [{ system: 'https://imagingfacade.org/fhir/CodeSystem/dicom-csd/99CHU', code: 'TDM-THX', display: 'TDM thorax' }],
          },
        ],
      },
      [],
    ],
    [
      'a procedure code without a scheme keeps its meaning as text, and says so',
      { ProcedureCodeSequence: sq(code('X1', undefined, 'Chest CT')) },
      { procedureCode: [{ text: 'Chest CT' }] },
      ['ProcedureCodeSequence'],
    ],
    [
      'a procedure code item with nothing usable is left out',
      { ProcedureCodeSequence: sq({ CodingSchemeDesignator: attr('SH', 'LN') }) },
      { procedureCode: undefined },
      ['ProcedureCodeSequence'],
    ],
    [
      'ReasonForRequestedProcedureCodeSequence and the free-text reason → one reasonCode',
      {
        ReasonForRequestedProcedureCodeSequence: sq(code('233604007', 'SCT', 'Pneumonia')),
        ReasonForTheRequestedProcedure: attr('LO', 'suspicion de pneumopathie'),
      },
      { reasonCode: [{ coding: [{ system: SCT, code: '233604007', display: 'Pneumonia' }], text: 'suspicion de pneumopathie' }] },
      [],
    ],
    [
      'a free-text reason alone → reasonCode.text',
      { ReasonForTheRequestedProcedure: attr('LO', 'douleur thoracique') },
      { reasonCode: [{ text: 'douleur thoracique' }] },
      [],
    ],
    [
      'two coded reasons and a text → three reasonCodes',
      {
        ReasonForRequestedProcedureCodeSequence: sq(code('233604007', 'SCT', 'Pneumonia'), code('29857009', 'SCT', 'Chest pain')),
        ReasonForTheRequestedProcedure: attr('LO', 'fièvre'),
      },
      {
        reasonCode: [
          { coding: [{ system: SCT, code: '233604007', display: 'Pneumonia' }] },
          { coding: [{ system: SCT, code: '29857009', display: 'Chest pain' }] },
          { text: 'fièvre' },
        ],
      },
      [],
    ],
    [
      'InstitutionalDepartmentName → location display',
      { InstitutionalDepartmentName: attr('LO', 'Imagerie médicale') },
      { location: { type: 'Location', display: 'Imagerie médicale' } },
      [],
    ],
    [
      'a sequence of the wrong JSON shape is no sequence',
      { ProcedureCodeSequence: { vr: 'SQ', Value: ['oops', 3, null] }, IssuerOfAccessionNumberSequence: { vr: 'SQ', Value: [[]] } },
      { procedureCode: undefined },
      [],
    ],
  ])('%s', (_situation, attributes, expected, skipped) => {
    const { result, skipped: actual } = apply(IMAGING_STUDY_ROWS, attributes, {
      resourceType: 'ImagingStudy',
      status: 'registered',
      subject: {},
    } as ImagingStudy);
    expectElements(result, expected);
    expect(actual).toEqual(skipped);
  });
});

describe('the series rows', () => {
  const CT = { Modality: attr('CS', 'CT') };
  it.each<[string, Partial<Record<Keyword, DicomAttribute>>, Partial<ImagingStudySeries>, Keyword[]]>([
    ['SeriesInstanceUID → uid', { SeriesInstanceUID: attr('UI', UID) }, { uid: UID }, ['Modality']],
    ['SeriesNumber', { SeriesNumber: attr('IS', 3) }, { number: 3 }, ['Modality']],
    ['a SeriesNumber as text', { SeriesNumber: attr('IS', '3') }, { number: 3 }, ['Modality']],
    [
      'a negative SeriesNumber is left out',
      { SeriesNumber: attr('IS', -3) },
      { number: undefined },
      ['SeriesNumber', 'Modality'],
    ],
    ['an empty SeriesNumber is absent', { SeriesNumber: attr('IS') }, { number: undefined }, ['Modality']],
    [
      'Modality → DCM coding',
      { Modality: attr('CS', 'MR') },
      { modality: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'MR' } },
      [],
    ],
    [
      'no Modality: OT, since the element is required',
      {},
      { modality: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'OT' } },
      ['Modality'],
    ],
    [
      'a malformed Modality: OT',
      { Modality: attr('CS', 'C T') },
      { modality: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'OT' } },
      ['Modality'],
    ],
    ['SeriesDescription', { ...CT, SeriesDescription: attr('LO', 'Thorax 1.25mm') }, { description: 'Thorax 1.25mm' }, []],
    ...(
      [
        ['HEAD', '69536005', 'Head'],
        ['CHEST', '43799004', 'Chest'],
        ['ABDOMEN', '818981001', 'Abdomen'],
        ['PELVIS', '816092008', 'Pelvis'],
        ['SPINE', '421060004', 'Spine'],
        ['CSPINE', '122494005', 'Cervical spine'],
        ['TSPINE', '122495006', 'Thoracic spine'],
        ['LSPINE', '122496007', 'Lumbar spine'],
        ['KNEE', '72696002', 'Knee'],
        ['HAND', '85562004', 'Hand'],
        ['FOOT', '56459004', 'Foot'],
        ['BREAST', '76752008', 'Breast'],
        ['HEART', '80891009', 'Heart'],
        ['NECK', '45048000', 'Neck'],
        ['SKULL', '89546000', 'Skull'],
        ['EXTREMITY', '66019005', 'Extremity'],
        ['SHOULDER', '16982005', 'Shoulder'],
        ['HIP', '24136001', 'Hip joint'],
        ['ELBOW', '16953009', 'Elbow joint'],
        ['WRIST', '74670003', 'Wrist joint'],
        ['ANKLE', '70258002', 'Ankle joint'],
        ['WHOLEBODY', '38266002', 'Entire body'],
        ['ABDOMENPELVIS', '818982008', 'Abdomen and Pelvis'],
        ['CHESTABDPELVIS', '416775004', 'Chest, Abdomen and Pelvis'],
        ['HEADNECK', '774007', 'Head and Neck'],
      ] as const
    ).map(([term, sctCode, meaning]): [string, Partial<Record<Keyword, DicomAttribute>>, Partial<ImagingStudySeries>, Keyword[]] => [
      `BodyPartExamined ${term} → SNOMED CT ${sctCode}`,
      { ...CT, BodyPartExamined: attr('CS', term) },
      { bodySite: { system: SCT, code: sctCode, display: meaning } },
      [],
    ]),
    ['a body part in lower case is still known', { ...CT, BodyPartExamined: attr('CS', 'chest') }, { bodySite: { system: SCT, code: '43799004', display: 'Chest' } }, []],
    ['an unknown body part is kept as display', { ...CT, BodyPartExamined: attr('CS', 'WHOLE BODY') }, { bodySite: { display: 'WHOLE BODY' } }, []],
    ['an empty body part: none', { ...CT, BodyPartExamined: attr('CS') }, { bodySite: undefined }, []],
    ['Laterality R → Right', { ...CT, Laterality: attr('CS', 'R') }, { laterality: { system: SCT, code: '24028007', display: 'Right' } }, []],
    ['Laterality L → Left', { ...CT, Laterality: attr('CS', 'L') }, { laterality: { system: SCT, code: '7771000', display: 'Left' } }, []],
    ['Laterality B → Right and left', { ...CT, Laterality: attr('CS', 'B') }, { laterality: { system: SCT, code: '51440002', display: 'Right and left' } }, []],
    ['Laterality U (unpaired) → none, and nothing to say', { ...CT, Laterality: attr('CS', 'U') }, { laterality: undefined }, []],
    ['an unknown Laterality is left out', { ...CT, Laterality: attr('CS', 'X') }, { laterality: undefined }, ['Laterality']],
    ['no Laterality: the images\' side (a mammography series)', { ...CT, ImageLaterality: attr('CS', 'L') }, { laterality: { system: SCT, code: '7771000', display: 'Left' } }, []],
    ['Laterality wins over the images\' side', { ...CT, Laterality: attr('CS', 'R'), ImageLaterality: attr('CS', 'B') }, { laterality: { system: SCT, code: '24028007', display: 'Right' } }, []],
    ['an unknown side of the images is left out', { ...CT, ImageLaterality: attr('CS', 'X') }, { laterality: undefined }, ['ImageLaterality']],
    [
      'SeriesDate + SeriesTime with the offset',
      { ...CT, SeriesDate: attr('DA', '20240105'), SeriesTime: attr('TM', '101700.25'), TimezoneOffsetFromUTC: attr('SH', '+0100') },
      { started: '2024-01-05T10:17:00.25+01:00' },
      [],
    ],
    ['a SeriesDate alone', { ...CT, SeriesDate: attr('DA', '20240105') }, { started: '2024-01-05' }, []],
    ['a malformed SeriesDate is left out', { ...CT, SeriesDate: attr('DA', '2024-01-05') }, { started: undefined }, ['SeriesDate']],
    [
      'performing physicians, operators, institution and station → performers',
      {
        ...CT,
        PerformingPhysicianName: attr('PN', { Alphabetic: 'Martin^Claire^^Dr' }),
        OperatorsName: attr('PN', { Alphabetic: 'Durand^Paul' }, { Alphabetic: 'Petit^Léa' }),
        InstitutionName: attr('LO', 'CHU Nord'),
        StationName: attr('SH', 'CT01'),
      },
      {
        performer: [
          { function: role('PRF', 'performer'), actor: { type: 'Practitioner', display: 'Dr Claire Martin' } },
          { function: role('SPRF', 'secondary performer'), actor: { type: 'Practitioner', display: 'Paul Durand' } },
          { function: role('SPRF', 'secondary performer'), actor: { type: 'Practitioner', display: 'Léa Petit' } },
          { function: role('LOC', 'location'), actor: { type: 'Organization', display: 'CHU Nord' } },
          { function: role('DEV', 'device'), actor: { type: 'Device', display: 'CT01' } },
        ],
      },
      [],
    ],
    [
      'empty names and an empty institution give no performer',
      { ...CT, PerformingPhysicianName: attr('PN', null, { Alphabetic: '' }), InstitutionName: attr('LO', '  ') },
      { performer: undefined },
      [],
    ],
  ])('%s', (_situation, attributes, expected, skipped) => {
    const { result, skipped: actual } = apply(SERIES_ROWS, attributes, {} as ImagingStudySeries);
    expectElements(result, expected);
    expect(actual).toEqual(skipped);
  });
});

describe('the instance rows', () => {
  it.each<[string, Partial<Record<Keyword, DicomAttribute>>, Partial<ImagingStudySeriesInstance>, Keyword[]]>([
    ['SOPInstanceUID → uid', { SOPInstanceUID: attr('UI', UID) }, { uid: UID }, []],
    [
      'SOPClassUID → sopClass',
      { SOPClassUID: attr('UI', '1.2.840.10008.5.1.4.1.1.2') },
      { sopClass: { system: 'urn:ietf:rfc:3986', code: 'urn:oid:1.2.840.10008.5.1.4.1.1.2' } },
      [],
    ],
    ['InstanceNumber', { InstanceNumber: attr('IS', 12) }, { number: 12 }, []],
    [
      'a fractional InstanceNumber is left out',
      { InstanceNumber: attr('IS', '1.5') },
      { number: undefined },
      ['InstanceNumber'],
    ],
    [
      'a structured report: the title is its concept name',
      { ConceptNameCodeSequence: sq(code('18748-4', 'LN', 'Diagnostic imaging report')) },
      { title: 'Diagnostic imaging report' },
      [],
    ],
    [
      'a key object selection: the title is its document title code',
      { ConceptNameCodeSequence: sq(code('113000', 'DCM', 'Of Interest')) },
      { title: 'Of Interest' },
      [],
    ],
    [
      'an encapsulated document: DocumentTitle wins',
      { DocumentTitle: attr('ST', 'Compte rendu'), ConceptNameCodeSequence: sq(code('18748-4', 'LN', 'Diagnostic imaging report')) },
      { title: 'Compte rendu' },
      [],
    ],
    ['an image has no title', {}, { title: undefined }, []],
  ])('%s', (_situation, attributes, expected, skipped) => {
    const { result, skipped: actual } = apply(INSTANCE_ROWS, attributes, {} as ImagingStudySeriesInstance);
    expectElements(result, expected);
    expect(actual).toEqual(skipped);
  });
});

describe("a series' side from its images' Image Laterality", () => {
  const sides = (...values: Array<string | undefined>) => values.map((value) => (value === undefined ? {} : dataset({ ImageLaterality: attr('CS', value) })));
  it.each<[string, Array<string | undefined>, string | undefined]>([
    ['no image says', [undefined, undefined], undefined],
    ['one side in all', ['L', 'L'], 'L'],
    ['one side, the others silent', ['R', undefined], 'R'],
    ['both sides (the four screening views in one series)', ['R', 'L', 'R', 'L'], 'B'],
    ['unpaired says nothing', ['U', 'L'], 'L'],
    ['lower case', ['l'], 'L'],
  ])('%s', (_case, values, expected) => {
    expect(seriesImageLaterality(sides(...values))).toBe(expected);
  });

  it('a mammography series without Laterality gets its images\' side', () => {
    const snapshot = studySnapshot({ series: [{ modality: 'MG', instances: 2 }] });
    for (const instance of snapshot.series[0]!.instances) {
      instance.attributes = { ...instance.attributes, ...dataset({ ImageLaterality: attr('CS', 'L') }) };
    }
    const study = imagingStudyFromSnapshot(snapshot, { reference: 'Patient/1' }, { defaultPatientIdSystem: 'urn:x', skip: () => undefined });
    expect(study.series?.[0]?.laterality).toEqual({ system: 'http://snomed.info/sct', code: '7771000', display: 'Left' });
  });
});

describe('a whole snapshot', () => {
  const context: MappingContext = { defaultPatientIdSystem: 'urn:x', skip: () => undefined };
  const subject = { reference: 'Patient/1' };

  it('becomes an ImagingStudy with every series and instance, valid R4 once merged', () => {
    const snapshot = studySnapshot({
      series: [
        { number: 1, modality: 'CT', instances: 2 },
        { number: 2, modality: 'SR', instances: 1, sopClassUid: '1.2.840.10008.5.1.4.1.1.88.22' },
      ],
    });
    const study = mergeImagingStudy(undefined, imagingStudyFromSnapshot(snapshot, subject, context));
    expect(study).toEqual({
      resourceType: 'ImagingStudy',
      identifier: [studyIdentifier(snapshot.studyInstanceUid)],
      status: 'available',
      modality: [
        { system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'CT' },
        { system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'SR' },
      ],
      subject,
      started: '2024-01-05T10:15:00+01:00',
      numberOfSeries: 2,
      numberOfInstances: 3,
      series: [
        expect.objectContaining({ uid: snapshot.series[0]!.seriesInstanceUid, number: 1, numberOfInstances: 2 }),
        expect.objectContaining({ uid: snapshot.series[1]!.seriesInstanceUid, number: 2, numberOfInstances: 1 }),
      ],
    });
    expect(study.series![1]!.instance).toEqual([
      {
        uid: snapshot.series[1]!.instances[0]!.sopInstanceUid,
        sopClass: { system: 'urn:ietf:rfc:3986', code: 'urn:oid:1.2.840.10008.5.1.4.1.1.88.22' },
        number: 1,
      },
    ]);
    expect(validateR4(study)).toEqual([]);
  });

  it('with every element DICOM carries becomes a valid R4 ImagingStudy', () => {
    const snapshot = studySnapshot({
      series: [
        { number: 1, modality: 'CT', instances: 2 },
        { number: 2, modality: 'SR', instances: 1, sopClassUid: '1.2.840.10008.5.1.4.1.1.88.22' },
      ],
      patient: {
        AccessionNumber: attr('SH', 'ACC-1'),
        IssuerOfAccessionNumberSequence: sq({
          LocalNamespaceEntityID: attr('UT', 'RIS'),
          UniversalEntityID: attr('UT', '1.2.250.1.999.1'),
          UniversalEntityIDType: attr('CS', 'ISO'),
        }),
        ReferringPhysicianName: attr('PN', { Alphabetic: 'Martin^Claire^^Dr' }),
        NameOfPhysiciansReadingStudy: attr('PN', { Alphabetic: 'House^Gregory' }),
        StudyDescription: attr('LO', 'Scanner thoracique'),
        ProcedureCodeSequence: sq(code('24627-2', 'LN', 'CT Chest'), code('T-D3000', 'SRT', 'Chest')),
        ReasonForRequestedProcedureCodeSequence: sq(code('233604007', 'SCT', 'Pneumonia')),
        ReasonForTheRequestedProcedure: attr('LO', 'fièvre'),
        InstitutionalDepartmentName: attr('LO', 'Radiologie'),
      },
    });
    snapshot.series[0]!.attributes = {
      ...snapshot.series[0]!.attributes,
      ...dataset({
        SeriesDescription: attr('LO', 'Thorax'),
        BodyPartExamined: attr('CS', 'CHEST'),
        Laterality: attr('CS', 'R'),
        SeriesDate: attr('DA', '20240105'),
        SeriesTime: attr('TM', '101700'),
        PerformingPhysicianName: attr('PN', { Alphabetic: 'Curie^Marie' }),
        OperatorsName: attr('PN', { Alphabetic: 'Durand^Paul' }),
        InstitutionName: attr('LO', 'CHU Nord'),
        StationName: attr('SH', 'CT01'),
      }),
    };
    snapshot.series[1]!.instances[0]!.attributes = {
      ...snapshot.series[1]!.instances[0]!.attributes,
      ...dataset({ ConceptNameCodeSequence: sq(code('18748-4', 'LN', 'Diagnostic imaging report')) }),
    };

    const study = mergeImagingStudy(undefined, imagingStudyFromSnapshot(snapshot, subject, context));

    expect(study.identifier).toHaveLength(2);
    expect(study.procedureCode?.[1]).toEqual({ coding: [{ system: 'http://snomed.info/srt', code: 'T-D3000', display: 'Chest' }] });
    expect(study.series![0]!.started).toBe('2024-01-05T10:17:00+01:00');
    expect(study.series![0]!.performer).toHaveLength(4);
    expect(study.series![1]!.instance![0]!.title).toBe('Diagnostic imaging report');
    expect(validateR4(study)).toEqual([]);
  });

  it('never throws on empty, partial or oddly typed values of the new elements, and stays valid R4', () => {
    const snapshot = studySnapshot({
      series: [{ instances: 1 }],
      patient: {
        StudyDate: attr('DA'),
        AccessionNumber: { vr: 'SH', Value: [{}] },
        IssuerOfAccessionNumberSequence: { vr: 'SQ', Value: [{ '00400032': { vr: 'UT', Value: [42] } }] },
        ReferringPhysicianName: { vr: 'PN', Value: [['x']] },
        NameOfPhysiciansReadingStudy: { vr: 'PN', Value: [null, 7, { Alphabetic: 12 }] },
        ProcedureCodeSequence: { vr: 'SQ', Value: [{ '00080100': { vr: 'SH' } }, 'x'] },
        ReasonForRequestedProcedureCodeSequence: { vr: 'SQ' },
        ReasonForTheRequestedProcedure: { vr: 'LO', Value: [''] },
        StudyDescription: { vr: 'LO', Value: [null] },
      },
    });
    snapshot.series[0]!.attributes = dataset({
      Modality: attr('CS', 'MR'),
      BodyPartExamined: { vr: 'CS', Value: [7] },
      Laterality: { vr: 'CS', Value: [{}] },
      SeriesDate: { vr: 'DA', Value: ['2024'] },
      PerformingPhysicianName: { vr: 'PN', Value: ['^^'] },
      InstitutionName: { vr: 'LO', Value: [false] },
      StationName: { vr: 'XX', Value: ['x'.repeat(70)] },
    });
    snapshot.series[0]!.instances[0]!.attributes = dataset({
      ConceptNameCodeSequence: { vr: 'SQ', Value: [{}] },
      DocumentTitle: { vr: 'ST' },
    });

    const study = mergeImagingStudy(undefined, imagingStudyFromSnapshot(snapshot, subject, context));

    expect(study.series![0]!.bodySite).toEqual({ display: '7' });
    expect(validateR4(study)).toEqual([]);
  });

  it('takes the UIDs from the validated event fields, not from the attributes', () => {
    const snapshot = studySnapshot({ series: [{ instances: 1 }] });
    const series = snapshot.series[0]!;
    series.attributes = dataset({ SeriesInstanceUID: attr('UI', '9.9.9') });
    series.instances[0]!.attributes = dataset({
      SOPInstanceUID: attr('UI', '9.9.9.1'),
      SOPClassUID: attr('UI', '9.9'),
    });
    const study = imagingStudyFromSnapshot(snapshot, subject, context);
    expect(study.series![0]!.uid).toBe(series.seriesInstanceUid);
    expect(study.series![0]!.instance![0]!.uid).toBe(series.instances[0]!.sopInstanceUid);
    expect(study.series![0]!.instance![0]!.sopClass.code).toBe(`urn:oid:${series.instances[0]!.sopClassUid}`);
  });

  it('never throws on attributes of the wrong JSON type, and the result is still valid R4', () => {
    const snapshot = studySnapshot({
      series: [{ instances: 1 }],
      patient: {
        StudyDate: { vr: 'DA', Value: [20240105] },
        StudyTime: { vr: 'TM', Value: [{}] },
        TimezoneOffsetFromUTC: { vr: 'SH', Value: [null] },
      },
    });
    snapshot.series[0]!.attributes = dataset({
      Modality: { vr: 'CS', Value: [['CT']] },
      SeriesNumber: { vr: 'IS', Value: ['x'] },
    });
    snapshot.series[0]!.instances[0]!.attributes = dataset({ InstanceNumber: { vr: 'IS', Value: [{ n: 1 }] } });
    const study = mergeImagingStudy(undefined, imagingStudyFromSnapshot(snapshot, subject, context));
    expect(study.started).toBe('2024-01-05');
    expect(study.series![0]!.modality.code).toBe('OT');
    expect(validateR4(study)).toEqual([]);
  });
});
