import { chooseMultipart, chooseSingle, multipartChoices, parseAccept } from './accept';

describe('Accept negotiation (PS3.18 8.7)', () => {
  test.each([
    ['no Accept: the default representation, explicit VR little endian (PS3.18 8.7.5)', undefined, { partType: 'application/dicom', transferSyntax: '1.2.840.10008.1.2.1' }],
    ['*/*: the same', '*/*', { partType: 'application/dicom', transferSyntax: '1.2.840.10008.1.2.1' }],
    ['the standard default: explicit VR little endian', 'multipart/related; type="application/dicom"', { partType: 'application/dicom', transferSyntax: '1.2.840.10008.1.2.1' }],
    ['any transfer syntax', 'multipart/related; type="application/dicom"; transfer-syntax=*', { partType: 'application/dicom', transferSyntax: '*' }],
    ['unquoted type, as OHIF sends it', 'multipart/related; type=application/dicom; transfer-syntax=*', { partType: 'application/dicom', transferSyntax: '*' }],
    ['a type the server does not give, then one it does', 'multipart/related; type="application/dicom+xml", multipart/related; type="application/dicom"; transfer-syntax=*', { partType: 'application/dicom', transferSyntax: '*' }],
    ['only what the server does not give', 'application/zip', undefined],
    ['decompressed: explicit VR little endian named', 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1', { partType: 'application/dicom', transferSyntax: '1.2.840.10008.1.2.1' }],
    ['a preferred syntax first by quality', 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.80;q=0.5, multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1', { partType: 'application/dicom', transferSyntax: '1.2.840.10008.1.2.1' }],
  ] as const)('%s', (_situation, header, expected) => {
    expect(chooseMultipart(parseAccept(header), ['application/dicom'])).toEqual(expected);
  });

  test.each([
    ['frames: no syntax named, as stored', 'multipart/related; type="application/octet-stream"', '*'],
    ['frames: decompressed', 'multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2.1', '1.2.840.10008.1.2.1'],
  ] as const)('%s', (_situation, header, transferSyntax) => {
    expect(chooseMultipart(parseAccept(header), ['application/octet-stream'])).toEqual({ partType: 'application/octet-stream', transferSyntax });
  });

  test('every acceptable syntax, best first, for the server to take the first it can give', () => {
    const header = 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.80, multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1;q=0.8, */*;q=0.1';
    expect(multipartChoices(parseAccept(header), ['application/dicom']).map((choice) => choice.transferSyntax)).toEqual(['1.2.840.10008.1.2.4.80', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.1', '*']);
  });

  test('*/* prefers the default, explicit VR little endian, and takes instances as stored when that cannot be given', () => {
    expect(multipartChoices(parseAccept('*/*'), ['application/dicom']).map((choice) => choice.transferSyntax)).toEqual(['1.2.840.10008.1.2.1', '*']);
    expect(multipartChoices(parseAccept('*/*'), ['application/octet-stream']).map((choice) => choice.transferSyntax)).toEqual(['*']);
  });

  test('quality orders the choices; q=0 refuses', () => {
    expect(chooseSingle(parseAccept('image/png;q=0.5, image/jpeg'), ['image/jpeg', 'image/png'])).toBe('image/jpeg');
    expect(chooseSingle(parseAccept('image/png, image/jpeg;q=0'), ['image/jpeg', 'image/png'])).toBe('image/png');
    expect(chooseSingle(parseAccept('image/gif'), ['image/jpeg', 'image/png'])).toBeUndefined();
    expect(chooseSingle(parseAccept('image/*'), ['image/jpeg', 'image/png'])).toBe('image/jpeg');
  });

  test('metadata: application/dicom+json or application/json', () => {
    expect(chooseSingle(parseAccept('application/json'), ['application/dicom+json', 'application/json'])).toBe('application/json');
    expect(chooseSingle(parseAccept('application/dicom+xml'), ['application/dicom+json', 'application/json'])).toBeUndefined();
  });
});
