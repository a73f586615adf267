import { statusOf } from '../test-support/policy';
import { pageQuery, widenedElements } from './result-parameters';

describe('pageQuery: a page link as the server wrote it, and nothing a client adds', () => {
  test.each([
    ['the server\'s own link', '_getpages=abc&_getpagesoffset=20&_count=20&_pretty=true&_bundletype=searchset', '_getpages=abc&_getpagesoffset=20&_count=20&_pretty=true&_bundletype=searchset'],
    ['a link of a search with _elements: widened for any type', '_getpages=abc&_elements=status', '_getpages=abc&_elements=status%2Cidentifier%2Csubject%2Ccontext%2CpartOf%2CderivedFrom'],
    ['a link of a search with _summary=data', '_getpages=abc&_summary=data', '_getpages=abc&_summary=data'],
    ['a link of a search with _include (HAPI writes them in)', '_getpages=abc&_count=1&_include=ImagingStudy%3Asubject&_bundletype=searchset', '_getpages=abc&_count=1&_include=ImagingStudy%3Asubject&_bundletype=searchset'],
  ])('%s', (_situation, query, expected) => {
    expect(pageQuery(query)).toBe(expected);
  });

  test.each([
    ['_summary=text appended', '_getpages=abc&_summary=text'],
    ['_elements:exclude appended', '_getpages=abc&_elements:exclude=Patient.identifier'],
    ['_narrative appended', '_getpages=abc&_narrative=only'],
    ['_summary=true appended (the types of a page are not known: it could drop a manifest\'s study)', '_getpages=abc&_summary=true'],
    ['a search parameter appended', '_getpages=abc&birthdate=1961-02-03'],
    ['another bundle type', '_getpages=abc&_bundletype=collection'],
  ])('refuses %s', (_situation, query) => {
    expect(statusOf(() => pageQuery(query))).toBe(400);
  });
});

describe('widenedElements: what the gateway checks is kept for every type a client narrows', () => {
  const imagingStudyNeeds = ['subject', 'identifier'];
  test.each([
    ['plain names: the searched type gets its needs', 'status', 'status,subject,identifier'],
    [
      'type-qualified names for included types (dropped a dose Observation\'s study link)',
      'ImagingStudy.id,Observation.component,Observation.subject',
      'ImagingStudy.id,Observation.component,Observation.subject,subject,identifier,ImagingStudy.subject,ImagingStudy.identifier,Observation.partOf,Observation.derivedFrom',
    ],
    ['a manifest narrowed', 'DocumentReference.content', 'DocumentReference.content,subject,identifier,DocumentReference.subject,DocumentReference.context'],
    ['a type the gateway checks nothing of', 'Endpoint.address', 'Endpoint.address,subject,identifier'],
  ])('%s', (_situation, value, expected) => {
    expect(widenedElements(value, imagingStudyNeeds)).toBe(expected);
  });

  test('*. narrows every type: each gets its needs', () => {
    const widened = widenedElements('*.id', imagingStudyNeeds).split(',');
    expect(widened).toEqual(expect.arrayContaining(['Observation.partOf', 'Observation.derivedFrom', 'DocumentReference.context', 'Patient.identifier', 'ImagingStudy.subject']));
  });
});
