import type { Observation } from '@medplum/fhirtypes';
import { z } from 'zod';
import { badGateway, OutcomeError } from '@imaging-facade/fhir-outcomes';
import { CUMULATIVE_DOSE_CODE, dicomUidIdentifier, identifierToken, searchQuery, type Upstream } from '@imaging-facade/fhir';
import { relativeToBase } from '../dose/dose-source';
import { imagingStudyOf } from './study-summary';

type AnyResource = { resourceType: string; id?: string | undefined };

/** What the viewer's summary reads from the index (the FHIR server) for one study. */
export interface SummarySource {
  /** The study's ImagingStudy and the Observations part of it (dose summaries and their events). */
  study(studyUid: string): Promise<AnyResource[]>;
  /** The patient's cumulative dose Observation, if there is one. */
  cumulative(patientReference: string): Promise<Observation | undefined>;
}

const resource = z.looseObject({ resourceType: z.string(), id: z.string().optional() });
const searchBundle = z.looseObject({
  resourceType: z.literal('Bundle'),
  entry: z.array(z.looseObject({ resource: resource.optional() })).optional(),
  link: z.array(z.looseObject({ relation: z.string().optional(), url: z.string().optional() })).optional(),
});

/** At most this many pages of one study's Observations (a report with thousands of events is cut there). */
const MAX_PAGES = 20;

async function searchAll(upstream: Pick<Upstream, 'request' | 'baseUrl'>, first: string): Promise<AnyResource[]> {
  const found = new Map<string, AnyResource>();
  let path: string | undefined = first;
  for (let page = 0; path !== undefined && page < MAX_PAGES; page++) {
    const response = await upstream.request('GET', path);
    const parsed = searchBundle.safeParse(response.body);
    if (response.status !== 200 || !parsed.success) {
      throw new OutcomeError(badGateway(`The FHIR server answered the study summary's search with HTTP ${response.status}`));
    }
    for (const entry of parsed.data.entry ?? []) {
      if (entry.resource?.id) found.set(`${entry.resource.resourceType}/${entry.resource.id}`, entry.resource as AnyResource);
    }
    const next = parsed.data.link?.find((link) => link.relation === 'next')?.url;
    path = next ? relativeToBase(next, upstream.baseUrl) : undefined;
  }
  return [...found.values()];
}

export function fhirSummarySource(upstream: Pick<Upstream, 'request' | 'baseUrl'>): SummarySource {
  return {
    study: (studyUid) =>
      searchAll(
        upstream,
        `ImagingStudy?${searchQuery({ identifier: identifierToken(dicomUidIdentifier(studyUid)), _revinclude: 'Observation:part-of', _count: '200' })}`,
      ),
    cumulative: async (patientReference) => {
      const found = await searchAll(
        upstream,
        `Observation?${searchQuery({ subject: patientReference, code: identifierToken({ system: CUMULATIVE_DOSE_CODE.system, value: CUMULATIVE_DOSE_CODE.code }), _count: '2' })}`,
      );
      return found.find((item): item is Observation => item.resourceType === 'Observation');
    },
  };
}

/** The Patient reference of the study's ImagingStudy among the resources (`Patient/<id>`), if any. */
export function patientReferenceOf(resources: readonly AnyResource[], studyUid: string): string | undefined {
  const reference = imagingStudyOf(resources, studyUid)?.subject?.reference;
  return reference && /^Patient\/[A-Za-z0-9\-.]{1,64}$/.test(reference) ? reference : undefined;
}
