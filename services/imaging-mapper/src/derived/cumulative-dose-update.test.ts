import type { Bundle, Observation } from '@medplum/fhirtypes';
import { FhirError, isRetryableFhirError } from '@imaging-facade/fhir';
import { updateCumulativeDose, type CumulativeDosePort } from './cumulative-dose-update';
import { CUMULATIVE_DOSE_CODE, cumulativeDoseObservation } from './cumulative-dose';
import { doseObservations } from './dose-mapping';
import { ctReport } from '../test-support/dose-content';
import { doseContext, studyWithReports } from '../test-support/dose-study';

async function* pages<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

/** A FHIR server reduced to what the update reads and writes; each transaction is recorded. */
class FakeServer implements CumulativeDosePort {
  readonly transactions: Bundle[] = [];
  constructor(
    private readonly summaries: Observation[],
    private stored: Observation | undefined,
    private readonly status = '201 Created',
  ) {}
  search = async (_type: string, params: Record<string, string>) =>
    (params.code === `${CUMULATIVE_DOSE_CODE.system}|${CUMULATIVE_DOSE_CODE.code}` && this.stored ? [this.stored] : []) as never;
  searchAll = (() => pages(this.summaries)) as unknown as CumulativeDosePort['searchAll'];
  transaction = async (bundle: Bundle): Promise<Bundle> => {
    this.transactions.push(bundle);
    return { resourceType: 'Bundle', type: 'transaction-response', entry: [{ response: { status: this.status } }] };
  };
}

const summary: Observation = { ...doseObservations(doseContext(studyWithReports([ctReport([{ uid: '1.2.3.77.1', ctdivol: 5, dlp: 100 }])]))).groups[0]!.summary.resource, id: 's1' };
const computed = cumulativeDoseObservation('p1', [summary], [])!;

describe('writing the cumulative dose', () => {
  it('first time: a conditional create on its identifier', async () => {
    const server = new FakeServer([summary], undefined);
    expect(await updateCumulativeDose(server, 'p1')).toBe('created');
    expect(server.transactions[0]?.entry?.[0]?.request).toEqual({
      method: 'POST',
      url: 'Observation',
      ifNoneExist: 'identifier=https%3A%2F%2Fimagingfacade.org%2Ffhir%2Fsid%2Fcumulative-radiation-dose%7CPatient%2Fp1',
    });
  });

  it('the same sums as stored: nothing written (a re-delivered study)', async () => {
    const server = new FakeServer([summary], { ...computed, id: 'c1', meta: { versionId: '4' } });
    expect(await updateCumulativeDose(server, 'p1')).toBe('unchanged');
    expect(server.transactions).toEqual([]);
  });

  it('other sums: an update by id with If-Match on the version read', async () => {
    const server = new FakeServer([summary], { ...computed, id: 'c1', meta: { versionId: '4' }, valueString: 'older' });
    expect(await updateCumulativeDose(server, 'p1')).toBe('updated');
    expect(server.transactions[0]?.entry?.[0]?.request).toEqual({ method: 'PUT', url: 'Observation/c1', ifMatch: 'W/"4"' });
  });

  it('no study counts any more: the stored one is deleted, with If-Match', async () => {
    const server = new FakeServer([], { ...computed, id: 'c1', meta: { versionId: '4' } });
    expect(await updateCumulativeDose(server, 'p1')).toBe('deleted');
    expect(server.transactions[0]?.entry?.[0]?.request).toEqual({ method: 'DELETE', url: 'Observation/c1', ifMatch: 'W/"4"' });
  });

  it('created by another writer meanwhile (the create answered 200): a retryable conflict, so it is computed again', async () => {
    const server = new FakeServer([summary], undefined, '200 OK');
    const error = await updateCumulativeDose(server, 'p1').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FhirError);
    expect(isRetryableFhirError(error)).toBe(true);
  });
});
