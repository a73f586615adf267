import type { StudyCompletedV1Data, StudySeries } from '@imaging-facade/events';
import type { Basic, Bundle, DocumentReference, Endpoint, ImagingStudy, Observation, Resource } from '@medplum/fhirtypes';
import { createFhirClient, isRetryableFhirError } from '@imaging-facade/fhir';
import type { FhirPort } from '../fhir/fhir-lookups';
import { DEFAULT_NODE_SETTINGS, type NodeSettings } from '../node-settings';
import { mapStudySnapshot } from '../pipeline';
import { REJECTED_INSTANCE_URL } from '../fhir/rejected-instances';
import { ctReport, manifestOf, projectionReport } from '../test-support/dose-content';
import { fhirServer } from '../test-support/fhir-server';
import { attr, newUid, studySnapshot, withSeries } from '../test-support/study-events';

/**
 * The Endpoint, the manifest's DocumentReference and the dose Observations against a real HAPI FHIR
 * server (FHIR_BASE_URL): what the server stores, that replays write nothing, that a newer manifest
 * updates the one DocumentReference, and the server's own $validate.
 */
const baseUrl = process.env.FHIR_BASE_URL ?? 'http://localhost:8080/fhir';
const fhir = createFhirClient({ baseUrl, timeoutMs: 30_000 });
const { studiesByUid, validationErrors } = fhirServer(fhir);
const node: NodeSettings = { ...DEFAULT_NODE_SETTINGS, nodeUid: `1.2.826.0.1.3680043.10.999.${Date.now()}`, dicomWebBaseUrl: 'http://node-int:8010/dicomweb' };

function fullSnapshot(projection = false): StudyCompletedV1Data {
  const snapshot = studySnapshot({
    patient: { PatientID: attr('LO', `DERIVED-INT-${newUid().slice(-10)}`), AccessionNumber: attr('SH', 'ACC-INT-1') } as never,
    series: [{ instances: 2 }, { instances: 1 }],
  });
  snapshot.series.push({
    seriesInstanceUid: newUid(),
    attributes: { '00080060': { vr: 'CS', Value: ['SR'] }, '00200011': { vr: 'IS', Value: [999] } },
    instances: [
      {
        sopInstanceUid: newUid(),
        sopClassUid: '1.2.840.10008.5.1.4.1.1.88.67',
        transferSyntaxUid: '1.2.840.10008.1.2.1',
        attributes: {},
        content: projection
          ? projectionReport([{ dap: 0.0013639, doseRp: 0.212, fluoroTime: 450, frames: 12 }], [
              { uid: newUid(), start: '20240105101600+0100', dap: 0.001, doseRp: 0.1, fluoro: true },
              { uid: newUid(), start: '20240105102000+0100', dap: 0.0003639, doseRp: 0.112, fluoro: false },
            ])
          : ctReport([
              { uid: newUid(), ctdivol: 12.5, dlp: 375.25 },
              { uid: newUid(), ctdivol: 8.1, dlp: 243 },
            ]),
      },
    ],
  });
  return { ...snapshot, manifest: manifestOf(snapshot.studyInstanceUid, { sopInstanceUid: newUid(), createdAt: '2024-01-05T12:00:00.000Z' }) };
}

async function search<T extends Resource>(type: T['resourceType'], params: Record<string, string>): Promise<T[]> {
  return (await fhir.search(type, params)) as unknown as T[];
}

async function published(data: StudyCompletedV1Data) {
  const [study] = await studiesByUid(data.studyInstanceUid);
  const documents = await search<DocumentReference>('DocumentReference', { related: `ImagingStudy/${study!.id}` });
  const observations = await search<Observation>('Observation', { 'part-of': `ImagingStudy/${study!.id}`, _count: '50' });
  return { study: study as ImagingStudy, documents, observations };
}

/** A port whose `held`-th transaction (1: the first) waits at the gate: another writer (another node's mapper, or a newer snapshot's) writes meanwhile. */
function heldAtTransaction(held = 1) {
  let reached!: () => void;
  let release!: () => void;
  const atTransaction = new Promise<void>((resolve) => (reached = resolve));
  const gate = new Promise<void>((resolve) => (release = resolve));
  let count = 0;
  const port: FhirPort = {
    search: fhir.search.bind(fhir),
    searchAll: fhir.searchAll.bind(fhir),
    transaction: async (bundle: Bundle) => {
      if (++count === held) {
        reached();
        await gate;
      }
      return fhir.transaction(bundle);
    },
  };
  return { port, atTransaction, release };
}

describe('Endpoint, manifest and dose on a real FHIR server', () => {
  it('stores them referencing each other, valid for the server, and a replay writes nothing', async () => {
    const data = fullSnapshot();
    const settings = { defaultPatientIdSystem: 'https://imagingfacade.org/fhir/sid/patient-id/int-test', node };
    expect(await mapStudySnapshot(data, fhir, settings)).toMatchObject({ outcome: 'created', derived: { documentReference: 'created', observations: 3, notes: [] } });

    const { study, documents, observations } = await published(data);
    const [endpoint] = await search<Endpoint>('Endpoint', { identifier: `urn:ietf:rfc:3986|urn:oid:${node.nodeUid}` });
    expect(endpoint?.address).toBe('http://node-int:8010/dicomweb');
    expect(study.endpoint).toEqual([{ reference: `Endpoint/${endpoint!.id}` }]);
    expect(study.series?.every((series) => series.endpoint?.[0]?.reference === `Endpoint/${endpoint!.id}`)).toBe(true);

    expect(documents).toHaveLength(1);
    const doc = documents[0]!;
    expect(doc.subject).toEqual(study.subject);
    expect(doc.contained?.[0]).toMatchObject({ resourceType: 'Organization', id: 'manifest-organization' });
    expect(doc.author).toEqual([{ reference: '#manifest-organization' }]);

    const summary = observations.find((observation) => observation.code.coding?.[0]?.code === '73569-6')!;
    const events = observations.filter((observation) => observation.code.coding?.[0]?.code === '113852');
    expect(events).toHaveLength(2);
    expect(summary.hasMember?.map((member) => member.reference).sort()).toEqual(events.map((event) => `Observation/${event.id}`).sort());
    expect(summary.component?.find((component) => component.code.coding?.[0]?.code === '113813')?.valueQuantity).toEqual({
      value: 618.25,
      unit: 'mGy.cm',
      system: 'http://unitsofmeasure.org',
      code: 'mGy.cm',
    });

    for (const resource of [endpoint!, doc, summary, ...events]) {
      expect({ type: resource.resourceType, errors: await validationErrors(resource) }).toEqual({ type: resource.resourceType, errors: [] });
    }

    const versions = [study, doc, summary, ...events].map((resource) => resource.meta?.versionId);
    expect(await mapStudySnapshot(data, fhir, settings)).toMatchObject({
      outcome: 'unchanged',
      derived: { documentReference: 'unchanged', observations: 0 },
    });
    const again = await published(data);
    expect([again.study, ...again.documents, ...again.observations.filter((o) => o.id === summary.id), ...events.map((e) => again.observations.find((o) => o.id === e.id)!)].map((resource) => resource.meta?.versionId)).toEqual(versions);
  });

  it('a projection report is stored in the units of the IG (mGy.cm2, mGy)', async () => {
    const data = fullSnapshot(true);
    await mapStudySnapshot(data, fhir, { defaultPatientIdSystem: 'https://imagingfacade.org/fhir/sid/patient-id/int-test', node });
    const { observations } = await published(data);
    const summary = observations.find((observation) => observation.code.coding?.[0]?.code === '73569-6')!;
    expect(summary.valueString).toBe('DAP Total = 13639 mGy.cm2, Dose (RP) Total = 212 mGy, Total Fluoro Time = 450 s, Radiographic Frames = 12 {frames}');
    expect(await validationErrors(summary)).toEqual([]);
  });

  it('when the study grows, the one DocumentReference follows the newer manifest; an older snapshot does not bring it back', async () => {
    const data = fullSnapshot();
    const settings = { defaultPatientIdSystem: 'https://imagingfacade.org/fhir/sid/patient-id/int-test', node };
    const first = { ...withSeries(data, 1), manifest: data.manifest };
    await mapStudySnapshot(first, fhir, settings);
    const grown = { ...data, manifest: manifestOf(data.studyInstanceUid, { sopInstanceUid: newUid(), createdAt: '2024-01-05T13:00:00.000Z', referencedInstances: 4 }) };
    expect(await mapStudySnapshot(grown, fhir, settings)).toMatchObject({ outcome: 'updated', derived: { documentReference: 'updated' } });

    let { documents } = await published(data);
    expect(documents).toHaveLength(1);
    expect(documents[0]?.masterIdentifier?.value).toBe(`urn:oid:${grown.manifest.sopInstanceUid}`);
    expect(documents[0]?.meta?.versionId).toBe('2');

    expect(await mapStudySnapshot(first, fhir, settings)).toMatchObject({ outcome: 'unchanged', derived: { documentReference: 'stale' } });
    ({ documents } = await published(data));
    expect(documents.map((doc) => [doc.masterIdentifier?.value, doc.meta?.versionId])).toEqual([[`urn:oid:${grown.manifest.sopInstanceUid}`, '2']]);
  });

  it('the French profile adds the national codes and the INS; the server validates it', async () => {
    const data = fullSnapshot();
    data.study['00101002'] = attr('SQ', { '00100020': attr('LO', '279035121518989'), '00100021': attr('LO', '1.2.250.1.213.1.4.8') });
    await mapStudySnapshot(data, fhir, {
      defaultPatientIdSystem: 'https://imagingfacade.org/fhir/sid/patient-id/int-test',
      node: { ...node, nationalProfile: 'fr' },
    });
    const { documents } = await published(data);
    const doc = documents[0]!;
    expect(doc.type?.coding?.map((coding) => coding.code)).toEqual(['18748-4', 'IMG-KOS']);
    expect(doc.context?.sourcePatientInfo?.reference).toMatch(/^#/);
    expect(await validationErrors(doc)).toEqual([]);
  });
});

describe('instances rejected at one node (IHE IOCM), the study held by two, on a real FHIR server', () => {
  it('the ImagingStudy remembers them: the other node\'s snapshot, which still lists them without the note, brings back neither the instances nor the rejected report\'s dose', async () => {
    const data = fullSnapshot();
    const settings = { defaultPatientIdSystem: 'https://imagingfacade.org/fhir/sid/patient-id/int-test', node };
    const otherNode = { ...settings, node: { ...node, nodeUid: `${node.nodeUid}.2`, dicomWebBaseUrl: 'http://node-int-2:8010/dicomweb' } };
    await mapStudySnapshot(data, fhir, settings);
    const [ct, , sr] = data.series as [StudySeries, StudySeries, StudySeries];
    const report = sr.instances[0]!.sopInstanceUid;
    const image = ct.instances[0]!.sopInstanceUid;
    // This node's rejection notes: the dose report (wrong worklist entry) and a CT image (patient safety).
    const rejected = { ...data, series: [{ ...ct, instances: ct.instances.slice(1) }, data.series[1]!], rejected: [{ sopInstanceUid: report, reason: '113038' }, { sopInstanceUid: image, reason: '113037' }] };
    await mapStudySnapshot(rejected, fhir, settings);
    const before = await published(data);
    expect(before.observations).toEqual([]);

    // The other node received the same study, and no note: its snapshot lists everything.
    expect(await mapStudySnapshot({ ...data, lastReceivedAt: '2024-01-05T11:00:00.000Z', manifest: manifestOf(data.studyInstanceUid, { sopInstanceUid: newUid(), createdAt: '2024-01-05T12:30:00.000Z' }) }, fhir, otherNode)).toMatchObject({ numberOfInstances: 2 });
    const after = await published(data);
    const uids = after.study.series?.flatMap((series) => series.instance?.map((instance) => instance.uid) ?? []);
    expect(uids).not.toContain(image);
    expect(uids).not.toContain(report);
    expect(uids).toHaveLength(2);
    expect(after.observations).toEqual([]);
    expect(after.study.extension?.filter((extension) => extension.url === REJECTED_INSTANCE_URL).map((extension) => extension.extension?.map((part) => part.valueIdentifier?.value ?? part.valueCoding?.code))).toEqual(
      [[`urn:oid:${image}`, '113037'], [`urn:oid:${report}`, '113038']].sort((a, b) => a[0]!.localeCompare(b[0]!)),
    );
    expect(await validationErrors(after.study)).toEqual([]);
  });

  it('every instance rejected at one node: the study leaves the index and is remembered apart; the other node\'s snapshot does not publish it again under the wrong patient, a new instance does, without the rejected ones', async () => {
    const data = fullSnapshot();
    const settings = { defaultPatientIdSystem: 'https://imagingfacade.org/fhir/sid/patient-id/int-test', node };
    const otherNode = { ...settings, node: { ...node, nodeUid: `${node.nodeUid}.3`, dicomWebBaseUrl: 'http://node-int-3:8010/dicomweb' } };
    await mapStudySnapshot(data, fhir, settings);
    const { study } = await published(data);
    const everyUid = data.series.flatMap((series) => series.instances.map((instance) => instance.sopInstanceUid));
    // The study was filed under the wrong worklist entry: this node rejects every instance of it.
    const rejectedAll = { ...data, series: [], rejected: everyUid.map((sopInstanceUid) => ({ sopInstanceUid, reason: '113038' })) };
    expect(await mapStudySnapshot(rejectedAll, fhir, settings)).toMatchObject({ outcome: 'removed' });
    const records = await search<Basic>('Basic', { identifier: `urn:oid:${data.studyInstanceUid}` });
    expect(records).toHaveLength(1);
    expect(records[0]!.subject).toBeUndefined();
    expect(await validationErrors(records[0]!)).toEqual([]);

    // The other node received the same study under the same wrong patient, and no note.
    const later = { ...data, lastReceivedAt: '2024-01-05T11:00:00.000Z', manifest: manifestOf(data.studyInstanceUid, { sopInstanceUid: newUid(), createdAt: '2024-01-05T12:30:00.000Z' }) };
    expect(await mapStudySnapshot(later, fhir, otherNode)).toMatchObject({ outcome: 'unchanged', numberOfInstances: 0 });
    // As an EHR would ask: no study, and nothing of its manifest or dose under the patient.
    const plain = async (query: string) => ((await (await fetch(`${baseUrl}/${query}`, { headers: { accept: 'application/fhir+json' } })).json()) as Bundle).entry ?? [];
    expect(await plain(`ImagingStudy?identifier=urn:oid:${data.studyInstanceUid}`)).toEqual([]);
    expect(await plain(`DocumentReference?subject=${study.subject!.reference}`)).toEqual([]);
    expect(await plain(`Observation?subject=${study.subject!.reference}`)).toEqual([]);

    // Later the other node receives an image it never had a note for: the study comes back with it only.
    const added = newUid();
    const grown = { ...later, series: [...later.series, { ...data.series[0]!, seriesInstanceUid: newUid(), instances: [{ ...data.series[0]!.instances[0]!, sopInstanceUid: added }] }] };
    expect(await mapStudySnapshot({ ...grown, lastReceivedAt: '2024-01-05T13:00:00.000Z' }, fhir, otherNode)).toMatchObject({ outcome: 'created', numberOfInstances: 1 });
    const [again] = await studiesByUid(data.studyInstanceUid);
    expect(again!.series?.flatMap((series) => series.instance?.map((instance) => instance.uid))).toEqual([added]);
    expect(again!.extension?.filter((extension) => extension.url === REJECTED_INSTANCE_URL)).toHaveLength(everyUid.length);
    expect(await search<Basic>('Basic', { identifier: `urn:oid:${data.studyInstanceUid}` })).toEqual([]);
    expect((await published(data)).observations).toEqual([]);
  });

  describe('two nodes\' mappers racing over a study whose every instance one of them rejects', () => {
    const settings = { defaultPatientIdSystem: 'https://imagingfacade.org/fhir/sid/patient-id/int-test', node };
    const otherNode = { ...settings, node: { ...node, nodeUid: `${node.nodeUid}.4`, dicomWebBaseUrl: 'http://node-int-4:8010/dicomweb' } };
    const rejectingAll = (data: StudyCompletedV1Data) => ({ ...data, series: [], rejected: data.series.flatMap((series) => series.instances.map((instance) => ({ sopInstanceUid: instance.sopInstanceUid, reason: '113038' }))) });
    /**
     * The uncontended writer, as its consumer runs it: once in CI, under load, HAPI answered its
     * transaction 409 (a version constraint failure) with no other writer of ours on these
     * resources; the consumer takes a 409 as retryable, and Kafka hands the event again.
     */
    async function handledUntilWritten(handle: () => Promise<unknown>): Promise<void> {
      for (let attempt = 1; ; attempt++) {
        try {
          await handle();
          return;
        } catch (error) {
          if (attempt === 3 || !isRetryableFhirError(error)) throw error;
        }
      }
    }
    const settled = async (data: StudyCompletedV1Data) => ({ studies: await studiesByUid(data.studyInstanceUid), records: await search<Basic>('Basic', { identifier: `urn:oid:${data.studyInstanceUid}` }) });

    it.each([
      ['the study is created while the record is written: the creator sees the record and handles its event again, which takes the study out', 'creator held'],
      ['the record is written while the study is created: the recorder sees the study and handles its event again, which takes the study out', 'recorder held'],
    ])('%s', async (_situation, held) => {
      const data = fullSnapshot();
      const { port, atTransaction, release } = heldAtTransaction();
      // Both mappers have read "no study, no record" before either writes.
      const [first, other] = held === 'creator held'
        ? [() => mapStudySnapshot(data, port, otherNode), () => mapStudySnapshot(rejectingAll(data), fhir, settings)]
        : [() => mapStudySnapshot(rejectingAll(data), port, settings), () => mapStudySnapshot(data, fhir, otherNode)];
      const racing = first().then(() => undefined, (error: unknown) => error);
      await atTransaction;
      await handledUntilWritten(other);
      release();
      const failure = await racing;
      expect(isRetryableFhirError(failure)).toBe(true);
      // Kafka hands the same event again.
      await (held === 'creator held' ? mapStudySnapshot(data, fhir, otherNode) : mapStudySnapshot(rejectingAll(data), fhir, settings));
      const { studies, records } = await settled(data);
      expect(studies).toEqual([]);
      expect(records).toHaveLength(1);
      expect(records[0]!.extension?.filter((extension) => extension.url === REJECTED_INSTANCE_URL)).toHaveLength(data.series.flatMap((series) => series.instances).length);
    });

    it('the study published again from its record is removed before the record goes: the deletion, guarded by the study\'s version, fails, and the event handled again keeps the rewritten record', async () => {
      const data = fullSnapshot();
      const every = data.series.flatMap((series) => series.instances.map((instance) => instance.sopInstanceUid));
      const [first, ...rest] = every as [string, ...string[]];
      const rejecting = (uids: string[]) => ({ ...data, series: [], rejected: uids.map((sopInstanceUid) => ({ sopInstanceUid, reason: '113038' })) });
      // This node rejected one instance before the study was ever published: the record remembers it.
      await mapStudySnapshot(rejecting([first]), fhir, settings);
      // The other node publishes the rest; its second transaction (the record's deletion) waits.
      const { port, atTransaction, release } = heldAtTransaction(2);
      const publishing = mapStudySnapshot({ ...data, lastReceivedAt: '2024-01-05T11:00:00.000Z' }, port, otherNode).then(() => undefined, (error: unknown) => error);
      await atTransaction;
      expect(await studiesByUid(data.studyInstanceUid)).toHaveLength(1);
      // Meanwhile this node rejects the rest: the study is removed and the record rewritten.
      expect(await mapStudySnapshot({ ...rejecting(every), lastReceivedAt: '2024-01-05T12:00:00.000Z' }, fhir, settings)).toMatchObject({ outcome: 'removed' });
      release();
      expect(isRetryableFhirError(await publishing)).toBe(true);
      await mapStudySnapshot({ ...data, lastReceivedAt: '2024-01-05T11:00:00.000Z' }, fhir, otherNode);
      const { studies, records } = await settled(data);
      expect(studies).toEqual([]);
      expect(records).toHaveLength(1);
      expect(records[0]!.extension?.filter((extension) => extension.url === REJECTED_INSTANCE_URL)).toHaveLength(1 + rest.length);
    });
  });
});

describe('a dose report corrected while an older snapshot\'s transaction is in flight, on a real FHIR server', () => {
  const settings = { defaultPatientIdSystem: 'https://imagingfacade.org/fhir/sid/patient-id/int-test', node };
  const DLP_TOTAL = '113813';
  const DLP = '113838';
  /** The study's snapshot received at `lastReceivedAt`, its one CT dose report (same SOP Instance UID, same events) giving these DLPs. */
  function reporting(base: StudyCompletedV1Data, events: readonly string[], dlps: readonly number[], lastReceivedAt: string): StudyCompletedV1Data {
    const sr = base.series.at(-1)!;
    const content = ctReport(events.map((uid, index) => ({ uid, ctdivol: 10, dlp: dlps[index]! })));
    return { ...base, lastReceivedAt, series: [...base.series.slice(0, -1), { ...sr, instances: [{ ...sr.instances[0]!, content }] }] };
  }
  const dlpOf = (observation: Observation | undefined, concept: string) =>
    observation?.component?.find((component) => component.code.coding?.[0]?.code === concept)?.valueQuantity?.value;

  it.each([
    ['the study stored, only its dose report corrected: neither transaction carries the ImagingStudy', 'stored'],
    ['the study\'s first snapshots: the newer one creates everything meanwhile', 'new'],
  ])('%s; the older transaction, released after the newer one, fails retryably and leaves the corrected values', async (_situation, start) => {
    const events = [newUid(), newUid()];
    const base = fullSnapshot();
    if (start === 'stored') {
      await mapStudySnapshot(reporting(base, events, [100, 200], '2024-01-05T10:00:00.000Z'), fhir, settings);
    }
    const older = reporting(base, events, [300, 400], '2024-01-05T11:00:00.000Z');
    const corrected = reporting(base, events, [310, 420], '2024-01-05T12:00:00.000Z');
    // The older snapshot's transaction reaches the server late (a client timeout and a retry, or still in flight).
    const { port, atTransaction, release } = heldAtTransaction();
    const late = mapStudySnapshot(older, port, settings).then(() => undefined, (error: unknown) => error);
    await atTransaction;
    expect(await mapStudySnapshot(corrected, fhir, settings)).toMatchObject({ outcome: start === 'stored' ? 'unchanged' : 'created', derived: { observations: 3 } });
    release();
    expect(isRetryableFhirError(await late)).toBe(true);

    const { observations } = await published(base);
    expect(observations).toHaveLength(3);
    const summary = observations.find((observation) => observation.code.coding?.[0]?.code === '73569-6');
    const eventDlps = events.map((uid) => dlpOf(observations.find((observation) => observation.identifier?.[0]?.value === `urn:oid:${uid}`), DLP));
    expect({ total: dlpOf(summary, DLP_TOTAL), events: eventDlps }).toEqual({ total: 730, events: [310, 420] });

    // Handled again (Kafka hands the event again), the consent gate maps the catalogue's newest
    // snapshot, the corrected one (consent-gate.ts, `newestOf`): nothing to write.
    const versionsOf = (found: Observation[]) => found.map((observation) => `${observation.id}/${observation.meta?.versionId}`).sort();
    const versions = versionsOf(observations);
    expect(await mapStudySnapshot(corrected, fhir, settings)).toMatchObject({ outcome: 'unchanged', derived: { observations: 0 } });
    expect(versionsOf((await published(base)).observations)).toEqual(versions);
  });
});
