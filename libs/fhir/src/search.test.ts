import {
  conditionalReference,
  conditionalUrl,
  escapeSearchValue,
  identifierToken,
  searchQuery,
  weakEtag,
} from './search';

describe('search helpers', () => {
  it.each([
    ['plain', 'abc', 'abc'],
    ['pipe', 'a|b', 'a\\|b'],
    ['comma', 'a,b', 'a\\,b'],
    ['dollar', 'a$b', 'a\\$b'],
    ['backslash', 'a\\b', 'a\\\\b'],
    ['all of them', '\\|,$', '\\\\\\|\\,\\$'],
  ])('escapes a value with %s', (_situation, value, escaped) => {
    expect(escapeSearchValue(value)).toBe(escaped);
  });

  it.each([
    ['system and value', { system: 'urn:dicom:uid', value: 'urn:oid:1.2.3' }, 'urn:dicom:uid|urn:oid:1.2.3'],
    ['a value with a pipe', { system: 'https://h.example/mrn', value: 'A|1' }, 'https://h.example/mrn|A\\|1'],
    ['no system: any system', { value: 'PID-1' }, 'PID-1'],
  ])('identifierToken: %s', (_situation, identifier, token) => {
    expect(identifierToken(identifier)).toBe(token);
  });

  it('identifierToken refuses an identifier without value', () => {
    expect(() => identifierToken({ system: 'urn:x' })).toThrow(/needs a value/);
  });

  it('percent-encodes a query string', () => {
    expect(searchQuery({ identifier: 'urn:dicom:uid|urn:oid:1.2', _count: '2' })).toBe(
      'identifier=urn%3Adicom%3Auid%7Curn%3Aoid%3A1.2&_count=2',
    );
    expect(searchQuery({ identifier: 'a b&c=d' })).toBe('identifier=a%20b%26c%3Dd');
  });

  it('builds a conditional URL and a conditional reference', () => {
    expect(conditionalUrl('ImagingStudy', { identifier: 'urn:dicom:uid|urn:oid:1.2' })).toBe(
      'ImagingStudy?identifier=urn%3Adicom%3Auid%7Curn%3Aoid%3A1.2',
    );
    expect(conditionalReference('Patient', { system: 'urn:oid:1.2', value: 'P1' })).toEqual({
      reference: 'Patient?identifier=urn%3Aoid%3A1.2%7CP1',
    });
  });

  it('makes a weak ETag for If-Match', () => {
    expect(weakEtag('3')).toBe('W/"3"');
  });
});
