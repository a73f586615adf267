import type { UpstreamResponse } from '@imaging-facade/fhir';
import { deleteOnUpstream } from './upstream-delete';

const answer = (status: number): UpstreamResponse => ({ status, headers: {}, body: status === 409 ? { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'processing', diagnostics: 'HAPI-0550: HAPI-0827: version constraint failure' }] } : undefined });

/** An upstream that answers the given statuses in turn, and counts the deletes. */
function upstream(statuses: number[]): { request: jest.Mock; calls: () => number } {
  const request = jest.fn(async (method: string, path: string) => {
    expect([method, path]).toEqual(['DELETE', 'Subscription/7']);
    return answer(statuses.shift() ?? 500);
  });
  return { request, calls: () => request.mock.calls.length };
}

const fast = { attempts: 5, initialMs: 1, maxMs: 2 };

describe('deleting a Subscription that HAPI is activating', () => {
  test.each([
    { name: 'deleted at once', statuses: [200], status: 200, deletes: 1 },
    { name: 'a 409 from the activation race, then deleted', statuses: [409, 200], status: 200, deletes: 2 },
    { name: 'three races, then deleted', statuses: [409, 409, 409, 204], status: 204, deletes: 4 },
    { name: 'a conflict that does not pass reaches the client after 5 tries', statuses: [409, 409, 409, 409, 409, 409], status: 409, deletes: 5 },
    { name: 'a 404 is not tried again', statuses: [404, 200], status: 404, deletes: 1 },
    { name: 'a 5xx is not tried again (the client hears a 502)', statuses: [500, 200], status: 500, deletes: 1 },
  ])('$name', async ({ statuses, status, deletes }) => {
    const fake = upstream([...statuses]);
    const response = await deleteOnUpstream(fake, 'Subscription/7', fast);
    expect([response.status, fake.calls()]).toEqual([status, deletes]);
  });

  test('a failure to reach the server is thrown as it was', async () => {
    const failure = new Error('connect ECONNREFUSED');
    await expect(deleteOnUpstream({ request: jest.fn().mockRejectedValue(failure) }, 'Subscription/7', fast)).rejects.toBe(failure);
  });
});
