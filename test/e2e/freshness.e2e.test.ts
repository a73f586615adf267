import type { Bundle, ImagingStudy } from '@medplum/fhirtypes';
import { startGateway, type Gateway } from '../../services/fhir-gateway/src/test-support/harness';
import { storescu } from '../support/dcmtk';
import { FHIR_BASE_URL, studiesByUid } from '../support/fhir';
import { startPipeline, type Pipeline } from '../support/pipeline';
import { SAMPLES } from '../support/sample-files';
import { makeStudy } from '../support/study-factory';
import { eventually } from '../support/wait';

/**
 * Issue 11 §1: a study is visible to every client as soon as it is in the index, not only to ours.
 * An EHR does not send `Cache-Control: no-cache`; HAPI's default reuses a search's results for 60 s,
 * so an EHR that searched before the exam arrived would get the old empty answer. The index runs
 * with that cache off (HAPI_SEARCH_CACHE_MS=0): a plain search right after sees the study, directly
 * and through the gateway, and sees a refusal at once.
 */

let pipeline: Pipeline;
let gateway: Gateway;

beforeAll(async () => {
  pipeline = await startPipeline({}, { consent: true });
  gateway = await startGateway({ KAFKA_TOPIC_PREFIX: pipeline.topicPrefix });
});

afterAll(async () => {
  await pipeline?.stop();
  await gateway?.stop();
});

/** A search as an EHR sends it: no cache bypass. */
async function plainSearch(url: string, token?: string): Promise<ImagingStudy[]> {
  const response = await fetch(url, { headers: { accept: 'application/fhir+json', ...(token ? { authorization: `Bearer ${token}` } : {}) } });
  expect(response.status).toBe(200);
  const bundle = (await response.json()) as Bundle<ImagingStudy>;
  return (bundle.entry ?? []).flatMap((entry) => (entry.resource ? [entry.resource] : []));
}

test('an EHR that searched before the study arrived sees it, and its refusal, at once — directly and through the gateway', async () => {
  const study = await makeStudy([{ source: SAMPLES.ctExplicitLittle, instances: 1 }]);
  const query = `ImagingStudy?identifier=${encodeURIComponent(`urn:oid:${study.studyInstanceUid}`)}`;
  const token = await gateway.token('user/ImagingStudy.rs');
  const direct = `${FHIR_BASE_URL()}/${query}`;
  const viaGateway = `${gateway.base}/${query}`;

  // Before: both searches answer empty (and, with a cache, would keep answering so).
  expect(await plainSearch(direct)).toEqual([]);
  expect(await plainSearch(viaGateway, token)).toEqual([]);

  expect((await storescu(pipeline.dicomPort, study.files)).code).toBe(0);
  await eventually(async () => ((await studiesByUid(study.studyInstanceUid)).length === 1 ? true : undefined), { timeoutMs: 60_000, what: 'the study in the index' });

  // Once it is in the index, the same plain searches see it within 2 s (not after HAPI's 60 s).
  await eventually(async () => ((await plainSearch(direct)).length === 1 ? true : undefined), { timeoutMs: 2000, intervalMs: 200, what: 'a plain search to see the study' });
  await eventually(async () => ((await plainSearch(viaGateway, token)).length === 1 ? true : undefined), { timeoutMs: 2000, intervalMs: 200, what: 'a plain search through the gateway to see the study' });

  // The patient refuses at the desk: gone from plain searches as soon as the mapper withdrew it.
  const decision = await fetch(`http://127.0.0.1:${pipeline.consentPort}/api/decisions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from('desk:desk').toString('base64')}` },
    body: JSON.stringify({ patient: { system: 'https://imagingfacade.org/fhir/sid/patient-id', value: study.patientId }, decision: 'deny' }),
  });
  expect(decision.status).toBe(201);
  await eventually(async () => ((await plainSearch(viaGateway, token)).length === 0 ? true : undefined), { timeoutMs: 5000, intervalMs: 200, what: 'the gateway to hide the refused study' });
  await eventually(async () => ((await studiesByUid(study.studyInstanceUid)).length === 0 ? true : undefined), { timeoutMs: 30_000, what: 'the mapper to withdraw the study' });
  await eventually(async () => ((await plainSearch(direct)).length === 0 ? true : undefined), { timeoutMs: 2000, intervalMs: 200, what: 'a plain search to stop showing the withdrawn study' });
});
