import Client from 'fhir-kit-client';
import type { Bundle, CapabilityStatement, ExtractResource, Meta, OperationOutcome, Parameters, ResourceType } from '@medplum/fhirtypes';
import { FhirError, isNetworkError, outcomeDiagnostics } from './errors';

export interface FhirClientSettings {
  /** The server's base URL, e.g. http://localhost:8080/fhir (no trailing slash needed). */
  baseUrl: string;
  /** A request that takes longer is aborted and fails as retryable. */
  timeoutMs: number;
}

/** The FHIR interactions the services use, over fhir-kit-client; HTTP and network failures are FhirErrors. */
export interface FhirClient {
  readonly baseUrl: string;
  /**
   * The first page of a type search (its `_count` sets the size), fresh: bypassing the server's
   * search cache, and not stored by the server for paging, since no page follows.
   */
  search<K extends ResourceType>(resourceType: K, params: Record<string, string>): Promise<ExtractResource<K>[]>;
  /** Every match of a type search, following the server's `next` links page after page. */
  searchAll<K extends ResourceType>(resourceType: K, params: Record<string, string>): AsyncGenerator<ExtractResource<K>>;
  /** Submits a `transaction` Bundle; resolves with the `transaction-response`. */
  transaction(bundle: Bundle): Promise<Bundle>;
  /** `GET [base]/metadata`, asked anew on every call. */
  metadata(): Promise<CapabilityStatement>;
  /**
   * `$meta-add` or `$meta-delete` on one resource: adds or removes tags and security labels
   * without writing a version (the resource's content, and its history, are untouched).
   */
  changeMeta(operation: '$meta-add' | '$meta-delete', resourceType: ResourceType, id: string, meta: Meta): Promise<void>;
}

/**
 * Every match of a search, page after page, in one array: for what may hold more than a page (HAPI
 * caps a page at 50 entries whatever `_count` asks, and `search` reads the first page only), such as
 * a patient's Consents or a study's dose Observations (one per irradiation event).
 */
export async function searchEvery<K extends ResourceType>(fhir: Pick<FhirClient, 'searchAll'>, resourceType: K, params: Record<string, string>): Promise<ExtractResource<K>[]> {
  const found: ExtractResource<K>[] = [];
  for await (const resource of fhir.searchAll(resourceType, params)) found.push(resource);
  return found;
}

export function createFhirClient(settings: FhirClientSettings): FhirClient {
  const baseUrl = settings.baseUrl.replace(/\/+$/, '');
  const client = new Client({ baseUrl });
  const options = () => ({ signal: AbortSignal.timeout(settings.timeoutMs) });
  // HAPI answers a repeated search from its cache for a minute unless told not to.
  const freshOptions = () => ({ ...options(), headers: { 'cache-control': 'no-cache' } });
  // no-store is fresh too, and HAPI then keeps no copy of the search and its results for paging:
  // a third to a half less of its CPU per lookup (libs/fhir README). Its page has no next link, so
  // only a search that reads one page asks for it.
  const onePageOptions = () => ({ ...options(), headers: { 'cache-control': 'no-store' } });

  const firstPage = async (resourceType: ResourceType, params: Record<string, string>, paged: boolean): Promise<Bundle> =>
    (await call('GET', `/${resourceType}`, () =>
      client.resourceSearch({ resourceType, searchParams: params, options: paged ? freshOptions() : onePageOptions() }),
    )) as Bundle;

  const nextPage = async (bundle: Bundle): Promise<Bundle | undefined> =>
    bundle.link?.some((link) => link.relation === 'next')
      ? ((await call('GET', '(next page)', () => client.nextPage({ bundle, options: freshOptions() }))) as Bundle)
      : undefined;

  return {
    baseUrl,
    search: async (resourceType, params) => resourcesOf(resourceType, await firstPage(resourceType, params, false)),
    searchAll: async function* (resourceType, params) {
      for (let page: Bundle | undefined = await firstPage(resourceType, params, true); page; page = await nextPage(page)) {
        yield* resourcesOf(resourceType, page);
      }
    },
    transaction: async (bundle) =>
      (await call('POST', '/ (transaction)', () =>
        client.transaction({ body: bundle as Bundle & { type: 'transaction' }, options: options() }),
      )) as Bundle,
    // Not client.capabilityStatement(): it caches its first answer, and readiness must really ask.
    metadata: async () =>
      (await call('GET', '/metadata', () => client.request('metadata', { options: options() }))) as CapabilityStatement,
    changeMeta: async (operation, resourceType, id, meta) => {
      const input: Parameters = { resourceType: 'Parameters', parameter: [{ name: 'meta', valueMeta: meta }] };
      await call('POST', `/${resourceType}/{id}/${operation}`, () => client.operation({ name: operation, resourceType, id, input, options: options() }));
    },
  };
}

/** The entries of a search page that are of the type asked (not the OperationOutcomes or includes). */
function resourcesOf<K extends ResourceType>(resourceType: K, bundle: Bundle): ExtractResource<K>[] {
  return (bundle.entry ?? [])
    .map((entry) => entry.resource)
    .filter((resource): resource is ExtractResource<K> => resource?.resourceType === resourceType);
}

async function call<T>(method: string, path: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw toFhirError(error, `FHIR ${method} ${path}`);
  }
}

/**
 * fhir-kit-client rejects an HTTP error with a plain `{ response: { status, data } }` object and a
 * network failure with fetch's own error; both become a FhirError. Anything else (a bug) is
 * passed on as it is, so that it is not mistaken for a server that did not answer.
 */
export function toFhirError(error: unknown, what: string): unknown {
  if (error instanceof FhirError) {
    return error;
  }
  const status = (error as { response?: { status?: unknown } } | undefined)?.response?.status;
  if (typeof status === 'number') {
    const data = (error as { response: { data?: unknown } }).response.data;
    const outcome = isOperationOutcome(data) ? data : undefined;
    const diagnostics = outcomeDiagnostics(outcome);
    return new FhirError(`${what}: HTTP ${status}${diagnostics ? `: ${diagnostics}` : ''}`, status, outcome);
  }
  if (isNetworkError(error) || isFetchFailure(error)) {
    return new FhirError(`${what}: no response (${describeNetworkError(error)})`, undefined, undefined, {
      cause: error,
    });
  }
  return error;
}

/** undici wraps every failure to get a response in `TypeError: fetch failed`. */
function isFetchFailure(error: unknown): boolean {
  return (error as { message?: unknown } | undefined)?.message === 'fetch failed';
}

function isOperationOutcome(data: unknown): data is OperationOutcome {
  return (
    typeof data === 'object' &&
    data !== null &&
    (data as { resourceType?: unknown }).resourceType === 'OperationOutcome'
  );
}

function describeNetworkError(error: unknown): string {
  // Duck-typed: fetch's errors may come from another realm (a test VM), where instanceof fails.
  const { message, cause } = (error ?? {}) as { message?: unknown; cause?: { code?: unknown } };
  const text = typeof message === 'string' ? message : String(error);
  return typeof cause?.code === 'string' ? `${text}: ${cause.code}` : text;
}
