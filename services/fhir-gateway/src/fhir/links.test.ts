import { rewriteBundleUrls, rewriteLocation, rewriteUrl } from './links';

const bases = { upstream: 'http://localhost:8080/fhir', public: 'https://fhir.example.org/r4' };

describe('rewriteUrl', () => {
  test.each([
    ['a search link', 'http://localhost:8080/fhir/ImagingStudy?status=available&_count=2', 'https://fhir.example.org/r4/ImagingStudy?status=available&_count=2'],
    ['a paging link on the base', 'http://localhost:8080/fhir?_getpages=abc&_getpagesoffset=2', 'https://fhir.example.org/r4?_getpages=abc&_getpagesoffset=2'],
    ['a fullUrl', 'http://localhost:8080/fhir/Patient/1', 'https://fhir.example.org/r4/Patient/1'],
    ['host case and default port do not matter', 'HTTP://LOCALHOST:8080/fhir/Patient/1', 'https://fhir.example.org/r4/Patient/1'],
    ['another server is left alone', 'http://other:8080/fhir/Patient/1', 'http://other:8080/fhir/Patient/1'],
    ['a path that only starts alike is left alone', 'http://localhost:8080/fhirish/Patient/1', 'http://localhost:8080/fhirish/Patient/1'],
    ['a relative reference is left alone', 'Patient/1', 'Patient/1'],
    ['a urn is left alone', 'urn:uuid:1234', 'urn:uuid:1234'],
  ])('%s', (_situation, url, expected) => {
    expect(rewriteUrl(url, bases)).toBe(expected);
  });

  test('a default port written out matches the one left out', () => {
    expect(rewriteUrl('http://hapi/fhir/Patient/1', { upstream: 'http://hapi:80/fhir', public: 'http://gw/fhir' })).toBe('http://gw/fhir/Patient/1');
  });
});

describe('rewriteBundleUrls', () => {
  test('links, fullUrls and response locations all move to the public base', () => {
    const bundle = {
      link: [
        { relation: 'self', url: 'http://localhost:8080/fhir/ImagingStudy?_count=1' },
        { relation: 'next', url: 'http://localhost:8080/fhir?_getpages=x&_getpagesoffset=1' },
      ],
      entry: [{ fullUrl: 'http://localhost:8080/fhir/ImagingStudy/1', response: { location: 'http://localhost:8080/fhir/ImagingStudy/1/_history/1' } }],
    };
    rewriteBundleUrls(bundle, bases);
    expect(JSON.stringify(bundle)).not.toContain('localhost:8080');
    expect(bundle.link[1]?.url).toBe('https://fhir.example.org/r4?_getpages=x&_getpagesoffset=1');
  });
});

describe('rewriteLocation', () => {
  test.each([
    ['absolute', 'http://localhost:8080/fhir/Subscription/5/_history/1', 'https://fhir.example.org/r4/Subscription/5/_history/1'],
    ['relative', 'Subscription/5/_history/1', 'https://fhir.example.org/r4/Subscription/5/_history/1'],
  ])('%s', (_situation, location, expected) => {
    expect(rewriteLocation(location, bases)).toBe(expected);
  });
});
