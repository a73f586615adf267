import { fhirDoseSource, relativeToBase } from './dose-source';

describe('reading the dose summaries page after page', () => {
  test.each([
    ['HAPI paging link on the base', 'http://hapi:8080/fhir?_getpages=abc&_getpagesoffset=2', 'http://hapi:8080/fhir', '?_getpages=abc&_getpagesoffset=2'],
    ['a link under the base', 'http://hapi:8080/fhir/Observation?page=2', 'http://hapi:8080/fhir/', 'Observation?page=2'],
  ])('%s', (_name, next, base, expected) => {
    expect(relativeToBase(next, base)).toBe(expected);
  });

  test('a next link outside the base is refused', () => {
    expect(() => relativeToBase('http://hapi:8080/other?x=1', 'http://hapi:8080/fhir')).toThrow(/outside its base/);
  });

  test('follows next links until there is none, keeping each resource once', async () => {
    const asked: string[] = [];
    const pages: Record<string, unknown> = {
      first: { resourceType: 'Bundle', entry: [{ resource: { resourceType: 'Observation', id: '1' } }, { resource: { resourceType: 'ImagingStudy', id: 's' } }], link: [{ relation: 'next', url: 'http://hapi/fhir?_getpages=p2' }] },
      '?_getpages=p2': { resourceType: 'Bundle', entry: [{ resource: { resourceType: 'Observation', id: '2' } }, { resource: { resourceType: 'ImagingStudy', id: 's' } }] },
    };
    const upstream = {
      baseUrl: 'http://hapi/fhir',
      request: async (_method: string, path: string) => {
        asked.push(path);
        return { status: 200, headers: {}, body: pages[path.startsWith('Observation?') ? 'first' : path] };
      },
    };
    const source = fhirDoseSource(upstream, { pageSize: 2, maxResources: 100 });
    const resources = await source.resources({ from: '2024-01-01', to: '2024-01-31', until: '2024-02-01', bucket: 'month' });
    expect(resources.map((resource) => `${resource.resourceType}/${resource.id}`)).toEqual(['Observation/1', 'ImagingStudy/s', 'Observation/2']);
    const first = new URLSearchParams((asked[0] as string).split('?')[1]);
    expect(first.getAll('date')).toEqual(['ge2024-01-01', 'lt2024-02-01']);
    expect(first.get('code')).toBe('http://loinc.org|73569-6');
    expect(first.get('_count')).toBe('2');
    expect(asked[1]).toBe('?_getpages=p2');
  });

  test('an error of the FHIR server is a 502, more resources than allowed an error of its own', async () => {
    const failing = fhirDoseSource({ baseUrl: 'http://hapi/fhir', request: async () => ({ status: 500, headers: {}, body: undefined }) }, { pageSize: 2, maxResources: 10 });
    await expect(failing.resources({ from: '2024-01-01', to: '2024-01-01', until: '2024-01-02', bucket: 'month' })).rejects.toMatchObject({ status: 502 });
    const many = fhirDoseSource(
      { baseUrl: 'http://hapi/fhir', request: async () => ({ status: 200, headers: {}, body: { resourceType: 'Bundle', entry: [1, 2, 3].map((id) => ({ resource: { resourceType: 'Observation', id: String(id) } })) } }) },
      { pageSize: 2, maxResources: 2 },
    );
    await expect(many.resources({ from: '2024-01-01', to: '2024-01-01', until: '2024-01-02', bucket: 'month' })).rejects.toThrow(/shorter/);
  });
});
