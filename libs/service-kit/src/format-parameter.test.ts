import { formatRefusal, formatValues, JSON_FORMAT_VALUES } from './format-parameter';

describe('_format: JSON honoured, anything else refused', () => {
  test.each([
    ['no _format', []],
    ['json', ['json']],
    ['application/fhir+json with a version', ['application/fhir+json; fhirVersion=4.0']],
    ['application/json, in capitals', ['Application/JSON']],
    ['the DSTU2 type', ['application/json+fhir']],
  ])('accepts %s', (_situation, values) => {
    expect(formatRefusal(values)).toBeUndefined();
  });

  test.each([
    ['xml', ['xml'], 'xml'],
    ['application/fhir+xml', ['application/fhir+xml'], 'application/fhir+xml'],
    ['html', ['text/html'], 'text/html'],
    ['turtle', ['ttl'], 'ttl'],
    ['an empty value', [''], '(empty)'],
    ['json then xml', ['json', 'xml'], 'xml'],
  ])('refuses %s', (_situation, values, named) => {
    expect(formatRefusal(values)).toBe(`_format=${named} is not served: answers are JSON only (_format=json, or leave it out)`);
  });

  test('a face may accept its own JSON type too', () => {
    const dicomJson = new Set([...JSON_FORMAT_VALUES, 'application/dicom+json']);
    expect(formatRefusal(['application/dicom+json'], dicomJson)).toBeUndefined();
    expect(formatRefusal(['application/dicom+json'])).toMatch(/not served/);
  });

  test('formatValues reads every _format of a query string', () => {
    expect(formatValues('/fhir/Patient/1')).toEqual([]);
    expect(formatValues('/fhir/Patient?_format=json&name=x&_format=xml')).toEqual(['json', 'xml']);
    expect(formatValues('/fhir/Patient?_format=application%2Ffhir%2Bjson')).toEqual(['application/fhir+json']);
  });
});
