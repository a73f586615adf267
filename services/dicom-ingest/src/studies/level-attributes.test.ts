import { tagOf, type DicomJson } from '@imaging-facade/dicom';
import { maySharePatient, supplementedAttributes } from './level-attributes';

const text = (keyword: string, vr: string, value?: string): DicomJson => ({
  [tagOf(keyword)]: value === undefined ? { vr } : { vr, Value: [value] },
});
const attributes = (...parts: DicomJson[]): DicomJson => Object.assign({}, ...parts) as DicomJson;

const description = (value?: string) => text('StudyDescription', 'LO', value);
const referrer = (value: string): DicomJson => ({ [tagOf('ReferringPhysicianName')]: { vr: 'PN', Value: [{ Alphabetic: value }] } });
const patientId = (value: string) => text('PatientID', 'LO', value);
const issuer = (value: string) => text('IssuerOfPatientID', 'LO', value);
const accession = (value?: string) => text('AccessionNumber', 'SH', value);
const accessionIssuer = (value: string): DicomJson => ({
  [tagOf('IssuerOfAccessionNumberSequence')]: { vr: 'SQ', Value: [text('LocalNamespaceEntityID', 'UT', value)] },
});
const studyDate = (value: string) => text('StudyDate', 'DA', value);
const studyTime = (value: string) => text('StudyTime', 'TM', value);

describe('supplementedAttributes (newest first)', () => {
  it.each<[string, DicomJson[], DicomJson]>([
    ['nothing held: nothing', [], {}],
    ['one instance: its attributes', [description('CT THORAX')], description('CT THORAX')],
    ['the newest value wins over an older one', [description('corrected'), description('first')], description('corrected')],
    ['absent in the newest: the newest older value', [referrer('A'), description('new'), description('old')], attributes(referrer('A'), description('new'))],
    ['empty in the newest (type 2): filled', [description(), description('CT THORAX')], description('CT THORAX')],
    ['empty text counts as empty', [text('StudyDescription', 'LO', ''), description('CT THORAX')], description('CT THORAX')],
    ['empty everywhere: stays as the newest has it', [description(), description()], description()],
    [
      'the patient identifiers come whole from the newest, never filled',
      [patientId('123'), attributes(patientId('123'), issuer('HOSP'))],
      patientId('123'),
    ],
    [
      'an accession number and its issuer are taken together, from one instance',
      [attributes(accession('A2'), description('x')), attributes(accession('A1'), accessionIssuer('RIS'))],
      attributes(accession('A2'), description('x')),
    ],
    [
      'both absent: both taken from the instance that has them',
      [description('x'), attributes(accession('A1'), accessionIssuer('RIS'))],
      attributes(description('x'), accession('A1'), accessionIssuer('RIS')),
    ],
    [
      'a study date and time from one instance, not a date of one and a time of another',
      [studyTime('101500'), attributes(studyDate('20260101'), studyTime('090000'))],
      attributes(studyDate('20260101'), studyTime('090000')),
    ],
    [
      'a date without time taken with its instance\'s lack of time, not beside the newest\'s time zone offset',
      [attributes(text('TimezoneOffsetFromUTC', 'SH', '+0100')), studyDate('20260101')],
      studyDate('20260101'),
    ],
  ])('%s', (_case, newestFirst, expected) => {
    expect(supplementedAttributes(newestFirst)).toEqual(expected);
  });

  it('keeps the newest attributes in their order, filled ones after them (the manifest UID is derived from them)', () => {
    const newest = attributes(patientId('1'), description());
    expect(Object.keys(supplementedAttributes([newest, attributes(referrer('A'), description('d'))]))).toEqual([
      tagOf('PatientID'),
      tagOf('StudyDescription'),
      tagOf('ReferringPhysicianName'),
    ]);
  });
});

describe('maySharePatient', () => {
  it.each<[string, DicomJson, DicomJson, boolean]>([
    ['the same Patient ID', patientId('123'), attributes(patientId('123'), description('x')), true],
    ['the same Patient ID and issuer', attributes(patientId('123'), issuer('HOSP')), attributes(patientId('123'), issuer('HOSP')), true],
    ['the same Patient ID, the issuer named by one only (a dose report from another system)', attributes(patientId('123'), issuer('HOSP')), patientId('123'), true],
    ['the same Patient ID under two issuers', attributes(patientId('123'), issuer('HOSP')), attributes(patientId('123'), issuer('CLINIC')), false],
    ['another Patient ID', patientId('123'), patientId('1234'), false],
  ])('%s: %s', (_case, one, other, expected) => {
    expect(maySharePatient(one, other)).toBe(expected);
    expect(maySharePatient(other, one)).toBe(expected);
  });
});
