import { accessionNumberIdentifier, accessionNumberOf, dicomUidIdentifier, dicomUidOf, studyIdentityOf, type IdentifierLike } from './imaging-identifiers';

const ACSN = { system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'ACSN', display: 'Accession ID' };

describe('imaging identifiers: writing', () => {
  test.each([
    ['a Study Instance UID', () => dicomUidIdentifier('1.2.840.113619.2.55.3'), { system: 'urn:dicom:uid', value: 'urn:oid:1.2.840.113619.2.55.3' }],
    ['a 2.25 UUID-derived UID', () => dicomUidIdentifier('2.25.42'), { system: 'urn:dicom:uid', value: 'urn:oid:2.25.42' }],
    ['an accession number without issuer: typed ACSN, no system', () => accessionNumberIdentifier('ACC-1'), { type: { coding: [ACSN] }, value: 'ACC-1' }],
    [
      'an accession number with its issuer’s namespace',
      () => accessionNumberIdentifier('ACC-1', 'urn:oid:1.2.250.1.999.8'),
      { type: { coding: [ACSN] }, system: 'urn:oid:1.2.250.1.999.8', value: 'ACC-1' },
    ],
    [
      'an accession number with a named assigner',
      () => accessionNumberIdentifier('ACC-1', 'https://ris.example/accession', { assigner: 'RIS' }),
      { type: { coding: [ACSN] }, system: 'https://ris.example/accession', value: 'ACC-1', assigner: { display: 'RIS' } },
    ],
    [
      'the consent desk’s form: the type without display',
      () => accessionNumberIdentifier('ACC-9', undefined, { withoutDisplay: true }),
      { type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'ACSN' }] }, value: 'ACC-9' },
    ],
  ])('%s', (_case, build, expected) => {
    expect(build()).toEqual(expected);
  });

  test('each identifier is a new object: a caller changing one changes no other', () => {
    const first = accessionNumberIdentifier('A');
    first.type!.coding![0]!.display = 'changed';
    expect(accessionNumberIdentifier('A').type?.coding?.[0]?.display).toBe('Accession ID');
  });
});

describe('imaging identifiers: reading', () => {
  test.each<[string, IdentifierLike | undefined, string | undefined]>([
    ['a DICOM UID identifier', { system: 'urn:dicom:uid', value: 'urn:oid:1.2.3' }, '1.2.3'],
    ['another system', { system: 'urn:ietf:rfc:3986', value: 'urn:oid:1.2.3' }, undefined],
    ['a value that is no OID URN', { system: 'urn:dicom:uid', value: '1.2.3' }, undefined],
    ['no value', { system: 'urn:dicom:uid' }, undefined],
    ['nothing', undefined, undefined],
  ])('dicomUidOf: %s', (_case, identifier, expected) => {
    expect(dicomUidOf(identifier)).toBe(expected);
  });

  test.each<[string, IdentifierLike | undefined, string | undefined]>([
    ['typed ACSN', { type: { coding: [ACSN] }, value: 'A-77' }, 'A-77'],
    ['typed ACSN without the coding’s system (older writers)', { type: { coding: [{ code: 'ACSN' }] }, value: 'A-77' }, 'A-77'],
    ['another type', { type: { coding: [{ system: ACSN.system, code: 'MR' }] }, value: 'A-77' }, undefined],
    ['untyped', { system: 'https://ris.example/accession', value: 'A-77' }, undefined],
    ['typed ACSN without value', { type: { coding: [ACSN] } }, undefined],
  ])('accessionNumberOf: %s', (_case, identifier, expected) => {
    expect(accessionNumberOf(identifier)).toBe(expected);
  });

  test.each<[string, { identifier?: unknown }, ReturnType<typeof studyIdentityOf>]>([
    [
      'UID and accession number, in any order',
      { identifier: [{ type: { coding: [ACSN] }, value: 'A-77' }, { system: 'urn:dicom:uid', value: 'urn:oid:1.2.3' }] },
      { studyInstanceUid: '1.2.3', accessionNumber: 'A-77' },
    ],
    ['the UID alone', { identifier: [{ system: 'urn:dicom:uid', value: 'urn:oid:1.2.3' }] }, { studyInstanceUid: '1.2.3', accessionNumber: undefined }],
    ['an accession number without UID names no study', { identifier: [{ type: { coding: [ACSN] }, value: 'A-77' }] }, undefined],
    ['no identifiers', {}, undefined],
    ['identifiers that are not a list', { identifier: 'urn:oid:1.2.3' }, undefined],
  ])('studyIdentityOf: %s', (_case, imagingStudy, expected) => {
    expect(studyIdentityOf(imagingStudy)).toEqual(expected);
  });

  test('what is written is read back', () => {
    const study = { identifier: [dicomUidIdentifier('1.2.840.1'), accessionNumberIdentifier('ACC-5', 'urn:oid:1.2.3', { assigner: 'RIS' })] };
    expect(studyIdentityOf(study)).toEqual({ studyInstanceUid: '1.2.840.1', accessionNumber: 'ACC-5' });
  });
});
