import type { Upstream, UpstreamResponse } from '@imaging-facade/fhir';
import { retry, type RetryPolicy } from '@imaging-facade/service-kit';

/**
 * HAPI activates a new Subscription (`requested` → `active`) itself, in the background, within a
 * poll period of its creation. A delete that meets that update loses the version race with a `409`
 * (HAPI-0827), although nobody else touched the resource. A delete is idempotent: it is tried
 * again, a few times, before the conflict reaches the client.
 */
export type DeleteRetry = Pick<RetryPolicy, 'attempts' | 'initialMs' | 'maxMs'>;
export const DELETE_RETRY: DeleteRetry = { attempts: 5, initialMs: 100, maxMs: 1_000 };

class VersionRace extends Error {
  constructor(readonly response: UpstreamResponse) {
    super('the FHIR server answered 409 to a delete');
  }
}

export async function deleteOnUpstream(upstream: Pick<Upstream, 'request'>, path: string, policy: DeleteRetry = DELETE_RETRY): Promise<UpstreamResponse> {
  try {
    return await retry(
      async () => {
        const response = await upstream.request('DELETE', path);
        if (response.status === 409) {
          throw new VersionRace(response);
        }
        return response;
      },
      { ...policy, isRetryable: (error) => error instanceof VersionRace },
    );
  } catch (error) {
    if (error instanceof VersionRace) {
      return error.response;
    }
    throw error;
  }
}
