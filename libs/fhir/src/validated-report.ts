/**
 * How the index says that a study has a validated report: the instance of the report, in
 * ImagingStudy.series.instance, carries this extension (the mapper sets it from libs/dicom
 * `isValidatedReport`). On the instance rather than the study, so that it travels with it: a study
 * merged from several nodes lists every node's reports, and a report rejected (IHE IOCM) leaves
 * the study with its instance.
 */
export const VALIDATED_REPORT_URL = 'https://imagingfacade.org/fhir/StructureDefinition/validated-report';

interface StudyLike {
  series?: ReadonlyArray<{ instance?: ReadonlyArray<{ extension?: ReadonlyArray<{ url?: string; valueBoolean?: boolean }> }> }>;
}

/** Whether an ImagingStudy, as the index holds it, lists a validated report. */
export function listsValidatedReport(study: StudyLike): boolean {
  return (study.series ?? []).some((series) =>
    (series.instance ?? []).some((instance) => (instance.extension ?? []).some((extension) => extension.url === VALIDATED_REPORT_URL && extension.valueBoolean === true)),
  );
}

/**
 * The index's search parameter over that extension, so that a GP's search is filtered in the FHIR
 * server's own query (`ImagingStudy?validated-report=true`, and through a chain for a manifest or a
 * dose Observation): its paging and `next` links then count no study waiting for its report. HAPI
 * indexes the resources it already holds again once the parameter is created, in the background.
 */
export const VALIDATED_REPORT_SEARCH_PARAMETER = {
  resourceType: 'SearchParameter',
  id: 'imagingfacade-validated-report',
  url: 'https://imagingfacade.org/fhir/SearchParameter/ImagingStudy-validated-report',
  name: 'validated-report',
  status: 'active',
  description: 'Studies that hold a validated report: an instance marked with the validated-report extension (true).',
  code: 'validated-report',
  base: ['ImagingStudy'],
  type: 'token',
  expression: `ImagingStudy.series.instance.extension.where(url = '${VALIDATED_REPORT_URL}').value`,
} as const;

/** What a GP's search of each type is ANDed with (the gateway's search policy). */
export const REPORTED_STUDIES_ONLY: Readonly<Record<string, readonly [string, string]>> = {
  ImagingStudy: ['validated-report', 'true'],
  DocumentReference: ['related:ImagingStudy.validated-report', 'true'],
  Observation: ['part-of:ImagingStudy.validated-report', 'true'],
};

/** The part of the FHIR server the search parameter is put with. */
interface ServerRequests {
  request(method: 'GET' | 'POST', path: string, options?: { body?: unknown; headers?: Record<string, string> }): Promise<{ status: number; body: unknown }>;
}

/**
 * Puts the search parameter on the FHIR server unless it is there as defined, then waits until the
 * server searches by it (a new one takes the server a moment). Resolves with what it did; rejects
 * while the server cannot be asked (the caller retries, as for any dependency at start).
 */
export async function ensureValidatedReportSearchParameter(server: ServerRequests, waitMs = 30_000): Promise<'present' | 'created'> {
  const wanted = VALIDATED_REPORT_SEARCH_PARAMETER;
  const stored = await server.request('GET', `SearchParameter/${wanted.id}`);
  const same = stored.status === 200 && ['url', 'code', 'status', 'expression', 'type'].every((key) => (stored.body as Record<string, unknown>)[key] === wanted[key as keyof typeof wanted]);
  if (same) {
    return 'present';
  }
  if (stored.status !== 200 && stored.status !== 404 && stored.status !== 410) {
    throw new Error(`the FHIR server answered HTTP ${stored.status} to a read of SearchParameter/${wanted.id}`);
  }
  const put = await server.request('POST', '', {
    body: { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: wanted, request: { method: 'PUT', url: `SearchParameter/${wanted.id}` } }] },
  });
  if (put.status !== 200) {
    throw new Error(`the FHIR server answered HTTP ${put.status} to the SearchParameter ${wanted.code}`);
  }
  const deadline = Date.now() + waitMs;
  for (;;) {
    const probe = await server.request('GET', `ImagingStudy?${wanted.code}=true&_count=1&_elements=id`, { headers: { 'cache-control': 'no-cache' } });
    if (probe.status === 200) {
      return 'created';
    }
    if (Date.now() > deadline) {
      throw new Error(`the FHIR server does not search by ${wanted.code} ${waitMs} ms after it was put (HTTP ${probe.status})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
