import { badGateway, OutcomeError } from '@imaging-facade/fhir-outcomes';
import type { Upstream } from '@imaging-facade/fhir';
import { DOSE_SUMMARY } from './exam-records';
import type { Period } from './period';

type AnyResource = { resourceType: string; id?: string | undefined };
interface SearchBundle {
  resourceType?: string;
  entry?: Array<{ resource?: AnyResource }>;
  link?: Array<{ relation?: string; url?: string }>;
}

/** Where the dashboard's data comes from: every dose summary of a period, with its members and studies. */
export interface DoseSource {
  resources: (period: Period) => Promise<AnyResource[]>;
}

export class TooManyExamsError extends Error {
  override readonly name = 'TooManyExamsError';
}

/** The path of a next link relative to the server's base (HAPI names `<base>?_getpages=…`). */
export function relativeToBase(next: string, baseUrl: string): string {
  const url = new URL(next);
  const basePath = new URL(baseUrl).pathname.replace(/\/+$/, '');
  if (!url.pathname.startsWith(basePath)) {
    throw new OutcomeError(badGateway('The FHIR server gave a next link outside its base'));
  }
  const rest = url.pathname.slice(basePath.length).replace(/^\/+/, '');
  return `${rest}${url.search}`;
}

/**
 * The summaries from the FHIR server, page after page (`_count`, then the `next` links), their
 * members and ImagingStudy included (`_include`); resources repeated across pages are kept once.
 */
export function fhirDoseSource(upstream: Pick<Upstream, 'request' | 'baseUrl'>, settings: { pageSize: number; maxResources: number }): DoseSource {
  return {
    resources: async (period) => {
      const query = new URLSearchParams([
        ['code', DOSE_SUMMARY],
        ['date', `ge${period.from}`],
        ['date', `lt${period.until}`],
        ['_include', 'Observation:has-member'],
        ['_include', 'Observation:part-of'],
        ['_count', String(settings.pageSize)],
      ]);
      const found = new Map<string, AnyResource>();
      let path: string | undefined = `Observation?${query.toString()}`;
      while (path !== undefined) {
        const response = await upstream.request('GET', path);
        const bundle = response.body as SearchBundle | undefined;
        if (response.status !== 200 || bundle?.resourceType !== 'Bundle') {
          throw new OutcomeError(badGateway(`The FHIR server answered the dose search with HTTP ${response.status}`));
        }
        for (const resource of (bundle.entry ?? []).map((entry) => entry.resource)) {
          if (resource?.id) found.set(`${resource.resourceType}/${resource.id}`, resource);
        }
        if (found.size > settings.maxResources) {
          throw new TooManyExamsError(`more than ${settings.maxResources} dose resources in the period: choose a shorter one`);
        }
        const next = bundle.link?.find((link) => link.relation === 'next')?.url;
        path = next ? relativeToBase(next, upstream.baseUrl) : undefined;
      }
      return [...found.values()];
    },
  };
}
