import { ensureValidatedReportSearchParameter, listsValidatedReport, VALIDATED_REPORT_SEARCH_PARAMETER, VALIDATED_REPORT_URL } from './validated-report';

describe('listsValidatedReport', () => {
  const withInstances = (...instances: Array<{ extension?: Array<{ url?: string; valueBoolean?: boolean }> }>) => ({ series: [{ instance: instances }] });
  test.each([
    ['an instance marked true', withInstances({}, { extension: [{ url: VALIDATED_REPORT_URL, valueBoolean: true }] }), true],
    ['marked false', withInstances({ extension: [{ url: VALIDATED_REPORT_URL, valueBoolean: false }] }), false],
    ['another extension', withInstances({ extension: [{ url: 'https://example.org/other', valueBoolean: true }] }), false],
    ['no series (a narrowed answer)', {}, false],
  ])('%s: %s', (_situation, study, expected) => {
    expect(listsValidatedReport(study)).toBe(expected);
  });
});

describe('ensureValidatedReportSearchParameter', () => {
  function server(stored: unknown, probes: number[]) {
    const calls: string[] = [];
    return {
      calls,
      request: async (method: 'GET' | 'POST', path: string) => {
        calls.push(`${method} ${path.split('?')[0]}`);
        if (path.startsWith('SearchParameter/')) return stored === undefined ? { status: 404, body: {} } : { status: 200, body: stored };
        if (method === 'POST') return { status: 200, body: {} };
        return { status: probes.shift() ?? 200, body: {} };
      },
    };
  }

  test('leaves the parameter as it is when the server holds it as defined', async () => {
    const fhir = server({ ...VALIDATED_REPORT_SEARCH_PARAMETER, meta: { versionId: '3' } }, []);
    expect(await ensureValidatedReportSearchParameter(fhir)).toBe('present');
    expect(fhir.calls).toEqual(['GET SearchParameter/imagingfacade-validated-report']);
  });

  test('puts it when missing or different, then waits until the server searches by it', async () => {
    const fhir = server({ ...VALIDATED_REPORT_SEARCH_PARAMETER, expression: 'ImagingStudy.id' }, [400, 400, 200]);
    expect(await ensureValidatedReportSearchParameter(fhir, 5000)).toBe('created');
    expect(fhir.calls).toEqual(['GET SearchParameter/imagingfacade-validated-report', 'POST ', 'GET ImagingStudy', 'GET ImagingStudy', 'GET ImagingStudy']);
  });

  test('fails when the server does not search by it in time (the caller retries)', async () => {
    const fhir = server(undefined, Array.from({ length: 100 }, () => 400));
    await expect(ensureValidatedReportSearchParameter(fhir, 600)).rejects.toThrow(/does not search by validated-report/);
  });
});
