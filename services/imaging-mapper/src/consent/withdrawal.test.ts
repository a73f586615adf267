import type { Basic, Bundle, ImagingStudy } from '@medplum/fhirtypes';
import { rememberedRejections, withRejections } from '../fhir/rejected-instances';
import type { FhirPort } from '../fhir/fhir-lookups';
import { fakeFhirPort } from '../test-support/fake-fhir-port';
import { withdrawalEntries, withdrawStudy } from './withdrawal';

describe('the withdrawal transaction', () => {
  /** A server holding one dose Observation per study, referenced by no other study. */
  const fhir = fakeFhirPort({
    search: (async (_type: string, params: Record<string, string>) =>
      (params['part-of'] ?? '').split(',').filter(Boolean).map((study) => ({ resourceType: 'Observation', id: `dose-${study.split('/')[1]}`, status: 'final', code: {} }))) as FhirPort['search'],
    transaction: async () => ({ resourceType: 'Bundle', type: 'transaction-response' }),
  });
  test.each<[string, string[], string[]]>([
    ['nothing published: no entry', [], []],
    [
      'one ImagingStudy: what references it, then the study itself',
      ['17'],
      ['DELETE DocumentReference?related=ImagingStudy%2F17', 'DELETE Observation/dose-17', 'DELETE ImagingStudy/17'],
    ],
    [
      'two ImagingStudy resources with the identifier (a duplicate): both go',
      ['17', '18'],
      [
        'DELETE DocumentReference?related=ImagingStudy%2F17',
        'DELETE DocumentReference?related=ImagingStudy%2F18',
        'DELETE Observation/dose-17',
        'DELETE Observation/dose-18',
        'DELETE ImagingStudy/17',
        'DELETE ImagingStudy/18',
      ],
    ],
  ])('%s', async (_situation, ids, requests) => {
    expect((await withdrawalEntries(fhir, ids)).map((entry) => `${entry.request?.method} ${entry.request?.url}`)).toEqual(requests);
  });
});

describe('withdrawing a study', () => {
  const uid = '1.2.826.0.1.3680043.2.1';

  function fakeFhir(stored: ImagingStudy[]) {
    const searches: Array<[string, Record<string, string>]> = [];
    const transactions: Bundle[] = [];
    const fhir = fakeFhirPort({
      search: (async (resourceType: string, params: Record<string, string>) => {
        searches.push([resourceType, params]);
        return resourceType === 'ImagingStudy' ? stored : [];
      }) as FhirPort['search'],
      transaction: async (bundle) => {
        transactions.push(bundle);
        return { resourceType: 'Bundle', type: 'transaction-response' };
      },
    });
    return { fhir, searches, transactions };
  }

  test('the ImagingStudy is found by the identifier the mapper gives it, and deleted in one transaction', async () => {
    const { fhir, searches, transactions } = fakeFhir([{ resourceType: 'ImagingStudy', id: '42', status: 'available', subject: {} }]);
    expect(await withdrawStudy(fhir, uid)).toEqual({ deletedStudies: ['42'] });
    expect(searches).toEqual([
      ['ImagingStudy', expect.objectContaining({ identifier: `urn:dicom:uid|urn:oid:${uid}` })],
      ['Observation', { 'part-of': 'ImagingStudy/42', _count: '200' }],
    ]);
    expect(transactions).toHaveLength(1);
    expect(transactions[0]).toMatchObject({ resourceType: 'Bundle', type: 'transaction' });
    expect(transactions[0]?.entry?.at(-1)?.request).toEqual({ method: 'DELETE', url: 'ImagingStudy/42' });
  });

  test('a study that was never published writes nothing', async () => {
    const { fhir, transactions } = fakeFhir([]);
    expect(await withdrawStudy(fhir, uid)).toEqual({ deletedStudies: [] });
    expect(transactions).toEqual([]);
  });

  test('a study that remembers rejected instances leaves them in a record; when another writer made the record meanwhile (its create matched ours), that record takes them too', async () => {
    const remembering: ImagingStudy = { resourceType: 'ImagingStudy', id: '42', status: 'available', subject: {}, extension: withRejections(undefined, [{ sopInstanceUid: '2.25.7', reason: '113037' }]) };
    const other: Basic = { resourceType: 'Basic', id: 'b1', meta: { versionId: '1' }, code: {}, extension: withRejections(undefined, [{ sopInstanceUid: '2.25.8', reason: '113038' }]) };
    let recordReads = 0;
    const transactions: Bundle[] = [];
    const fhir = fakeFhirPort({
      search: (async (resourceType: string) => (resourceType === 'ImagingStudy' ? [remembering] : resourceType === 'Basic' ? (recordReads++ === 0 ? [] : [other]) : [])) as FhirPort['search'],
      transaction: async (bundle) => {
        transactions.push(bundle);
        return { resourceType: 'Bundle', type: 'transaction-response', entry: (bundle.entry ?? []).map(() => ({ response: { status: '200 OK' } })) };
      },
    });
    await withdrawStudy(fhir, uid);
    expect(transactions[0]?.entry?.map((entry) => `${entry.request?.method} ${entry.request?.url}`)).toEqual(['DELETE DocumentReference?related=ImagingStudy%2F42', 'DELETE ImagingStudy/42', 'POST Basic']);
    expect(transactions[1]?.entry?.map((entry) => `${entry.request?.method} ${entry.request?.url}`)).toEqual(['PUT Basic/b1']);
    expect(rememberedRejections(transactions[1]?.entry?.[0]?.resource as Basic).map((item) => item.sopInstanceUid)).toEqual(['2.25.7', '2.25.8']);
  });
});
