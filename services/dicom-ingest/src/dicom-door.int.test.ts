import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { constants } from 'dcmjs-dimse';
import { createLogger, stopAll, type Stoppable } from '@imaging-facade/service-kit';
import { loadIngestConfig } from './config';
import { startIngestService } from './service';
import { relabel, runDcmtk as runTool, storeResponses } from '../../../test/support/dcmtk';
import { newUid } from '../../../test/support/uids';
import { abortOf, associateRq, pduHeader, RawPeer, RELEASE_RQ } from './test-support/raw-association';
import { commandElement, cStoreRq, pDataPdus, requestWithoutDataset, responseStatus } from './test-support/raw-dimse';
import { sample as testFile } from '../../../test/support/sample-files';

/**
 * The DICOM door as an attacker on the same network meets it (issue 11, section 2): raw sockets that
 * declare huge PDUs, stay silent or hold associations, next to DCMTK's echoscu and storescu as the
 * honest modalities that must still be served. Two nodes: one with the default timeouts, one with
 * short timers, two associations at most and a calling-AE allow-list.
 */

const BROKERS = process.env.KAFKA_BROKERS ?? 'localhost:9092';
const AE_TITLE = 'FACADE_DOOR';
const MAX_PDU_LENGTH = 262_144;
const ARTIM_MS = 1500;
const IDLE_MS = 3000;
const { AbortReason, AbortSource } = constants;
const CT = '1.2.840.10008.5.1.4.1.1.2';
const EXPLICIT_LITTLE = '1.2.840.10008.1.2.1';
const CT_CONTEXT = { id: 1, abstractSyntax: CT, transferSyntaxes: [EXPLICIT_LITTLE] };

describe('the DICOM door against hostile peers', () => {
  const parts: Stoppable[] = [];
  const logger = createLogger('dicom-door-it', process.env.LOG_LEVEL ?? 'silent');
  const peers: RawPeer[] = [];
  let workDir: string;
  /** Default timers (ARTIM 30 s), 50 associations. */
  let openPort: number;
  /** Short timers, two associations, an allow-list. */
  let strictPort: number;
  /** One association per host. */
  let perHostPort: number;
  const storageDirs = new Map<number, string>();

  async function startNode(settings: Record<string, string>): Promise<number> {
    const storageDir = await mkdtemp(path.join(tmpdir(), 'door-it-storage-'));
    const config = loadIngestConfig({
      DICOM_PORT: '0',
      DICOM_AE_TITLE: AE_TITLE,
      DICOM_MAX_PDU_LENGTH: String(MAX_PDU_LENGTH),
      INGEST_HTTP_PORT: '0',
      KAFKA_BROKERS: BROKERS,
      KAFKA_TOPIC_PREFIX: `it-door-${randomUUID().slice(0, 8)}.`,
      INGEST_STORAGE_DIR: storageDir,
      DICOM_SHUTDOWN_GRACE_MS: '500',
      ...settings,
    });
    const running = await startIngestService(config, logger, (name, stop) => parts.push({ name, stop }));
    storageDirs.set(running.dicomPort, storageDir);
    return running.dicomPort;
  }

  async function peer(port: number, localAddress?: string): Promise<RawPeer> {
    const opened = await RawPeer.open(port, localAddress);
    peers.push(opened);
    return opened;
  }

  async function honestStore(port: number, callingAeTitle = 'STORESCU'): Promise<{ responses: string[]; ms: number; output: string }> {
    const file = await relabel(testFile('CT_small.dcm'), workDir, { study: newUid(), series: newUid(), sop: newUid() });
    const started = Date.now();
    const run = await runTool('storescu', ['-v', '-aet', callingAeTitle, '-aec', AE_TITLE, '127.0.0.1', String(port), file]);
    return { responses: storeResponses(run.output), ms: Date.now() - started, output: run.output };
  }

  beforeAll(async () => {
    workDir = await mkdtemp(path.join(tmpdir(), 'door-it-files-'));
    openPort = await startNode({});
    strictPort = await startNode({
      DICOM_ARTIM_TIMEOUT_MS: String(ARTIM_MS),
      DICOM_IDLE_TIMEOUT_MS: String(IDLE_MS),
      DICOM_MAX_ASSOCIATIONS: '2',
      DICOM_ALLOWED_CALLING_AE_TITLES: 'ECHOSCU,RAW_PEER,STORESCU@127.0.0.1,ELSEWHERE@10.255.0.0/16',
    });
    perHostPort = await startNode({ DICOM_MAX_ASSOCIATIONS_PER_HOST: '1' });
  });

  afterEach(() => {
    peers.splice(0).forEach((each) => each.destroy());
  });

  afterAll(async () => {
    await stopAll(parts, logger);
  });

  it('when a peer declares a 2 GB A-ASSOCIATE-RQ and streams, aborts at once without buffering it', async () => {
    const attacker = await peer(openPort);
    const rssBefore = process.memoryUsage().rss;
    const started = Date.now();
    await attacker.send(pduHeader(0x01, 0x7fff_ffff));
    let sent = 0;
    const chunk = Buffer.alloc(65_536, 0x41);
    const streaming = (async () => {
      while (!attacker.isClosed && sent < 256 * 1_048_576) {
        await attacker.send(chunk);
        sent += chunk.length;
      }
    })();

    const abort = await attacker.next(0x07);
    await attacker.closed;
    await streaming;

    expect(abortOf(abort)).toEqual({ source: AbortSource.ServiceProvider, reason: AbortReason.InvalidPduParameter });
    expect(Date.now() - started).toBeLessThan(2000);
    // What the kernel buffers on both ends, not the 256 MB the attacker meant to send.
    expect(sent).toBeLessThan(32 * 1_048_576);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * 1_048_576);
    expect(await honestStore(openPort)).toMatchObject({ responses: ['Success'] });
  });

  it('when an associated peer sends a P-DATA-TF longer than we announced, aborts and closes', async () => {
    const attacker = await peer(openPort);
    await attacker.associate(AE_TITLE, 'RAW_PEER');

    await attacker.send(Buffer.concat([pduHeader(0x04, MAX_PDU_LENGTH + 1), Buffer.alloc(1024)]));

    expect(abortOf(await attacker.next(0x07))).toEqual({ source: AbortSource.ServiceProvider, reason: AbortReason.InvalidPduParameter });
    await attacker.closed;
  });

  it('when a peer sends a PDU of an unknown type, aborts with "unrecognized PDU"', async () => {
    const attacker = await peer(openPort);

    await attacker.send(Buffer.concat([pduHeader(0x09, 4), Buffer.alloc(4)]));

    expect(abortOf(await attacker.next(0x07))).toEqual({ source: AbortSource.ServiceProvider, reason: AbortReason.UnrecognizedPdu });
    await attacker.closed;
  });

  it('while 100 silent connections are open, echoscu and storescu are served at once', async () => {
    const silent = await Promise.all(Array.from({ length: 100 }, () => peer(openPort)));
    // Half of them leave an A-ASSOCIATE-RQ half sent.
    const partial = associateRq(AE_TITLE, 'RAW_PEER');
    await Promise.all(silent.slice(0, 50).map((each) => each.send(partial.subarray(0, 40))));

    const echoStarted = Date.now();
    const echo = await runTool('echoscu', ['-aec', AE_TITLE, '127.0.0.1', String(openPort)]);
    const echoMs = Date.now() - echoStarted;
    const store = await honestStore(openPort);

    expect(echo).toMatchObject({ code: 0, output: '' });
    expect(echoMs).toBeLessThan(3000);
    expect(store.responses).toEqual(['Success']);
    expect(store.ms).toBeLessThan(5000);
    expect(silent.filter((each) => each.isClosed)).toHaveLength(0);
  });

  it('closes a silent connection, and one with a truncated A-ASSOCIATE-RQ, when ARTIM expires', async () => {
    const started = Date.now();
    const silent = await peer(strictPort);
    const truncated = await peer(strictPort);
    await truncated.send(associateRq(AE_TITLE, 'RAW_PEER').subarray(0, 70));

    await Promise.all([silent.closed, truncated.closed]);

    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(ARTIM_MS - 100);
    expect(elapsed).toBeLessThan(ARTIM_MS + 2000);
    // No association existed: the connection is just closed (PS3.8 AA-2).
    expect([...silent.received, ...truncated.received]).toEqual([]);
  });

  it('aborts an association whose peer stays silent past the idle timeout', async () => {
    const idle = await peer(strictPort);
    await idle.associate(AE_TITLE, 'RAW_PEER');
    const associatedAt = Date.now();

    const abort = await idle.next(0x07, IDLE_MS + 3000);
    await idle.closed;

    expect(abortOf(abort)).toEqual({ source: AbortSource.ServiceProvider, reason: AbortReason.NotSpecified });
    expect(Date.now() - associatedAt).toBeGreaterThanOrEqual(IDLE_MS - 100);
  });

  it('aborts a peer that goes silent in the middle of a dataset past the idle timeout (it held the association forever)', async () => {
    const stalled = await peer(strictPort);
    await stalled.associate(AE_TITLE, 'RAW_PEER', [CT_CONTEXT]);
    await stalled.send(pDataPdus(1, true, cStoreRq(CT, newUid(), 1)));
    // Twenty bytes of the dataset, not the last fragment, then nothing.
    await stalled.send(pDataPdus(1, false, Buffer.alloc(20)).fill(0x00, 11, 12));
    const sentAt = Date.now();

    const abort = await stalled.next(0x07, IDLE_MS + 3000);

    expect(abortOf(abort)).toEqual({ source: AbortSource.ServiceProvider, reason: AbortReason.NotSpecified });
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(IDLE_MS - 100);
  });

  it('one A-ASSOCIATE-RQ with two presentation contexts numbered 255 is an A-ABORT, and the door stays open (it stopped the service)', async () => {
    const attacker = await peer(openPort);
    await attacker.send(associateRq(AE_TITLE, 'RAW_PEER', [{ ...CT_CONTEXT, id: 255 }, { ...CT_CONTEXT, id: 255 }]));

    const abort = await attacker.next(0x07);

    expect(abortOf(abort)).toEqual({ source: AbortSource.ServiceProvider, reason: AbortReason.InvalidPduParameter });
    expect(await honestStore(openPort)).toMatchObject({ responses: ['Success'] });
  });

  it('a dataset announced after a command other than C-STORE (a 256 MB C-FIND identifier) is an A-ABORT before it is read', async () => {
    const finder = await peer(openPort);
    await finder.associate(AE_TITLE, 'RAW_PEER', [CT_CONTEXT]);
    const find = Buffer.concat([commandElement(0x0100, Buffer.from([0x20, 0x00])), commandElement(0x0800, Buffer.from([0x00, 0x00]))]);
    await finder.send(pDataPdus(1, true, find));

    expect(abortOf(await finder.next(0x07))).toEqual({ source: AbortSource.ServiceProvider, reason: AbortReason.InvalidPduParameter });
  });

  it.each([
    { situation: 'a SOP class that is not a storage class, on a CT context', context: CT_CONTEXT, sopClass: '1.2.3.4' },
    { situation: 'a CT image on the Verification context', context: { id: 1, abstractSyntax: '1.2.840.10008.1.1', transferSyntaxes: [EXPLICIT_LITTLE] }, sopClass: CT },
  ])('a C-STORE of $situation is refused with 0x0122 and nothing is stored', async ({ context, sopClass }) => {
    const sender = await peer(openPort);
    await sender.associate(AE_TITLE, 'RAW_PEER', [context]);
    const sopInstanceUid = newUid();
    await sender.send(pDataPdus(1, true, cStoreRq(sopClass, sopInstanceUid, 1)));
    await sender.send(pDataPdus(1, false, Buffer.alloc(16)));

    const response = await sender.next(0x04);

    expect(response && responseStatus(response)).toBe(0x0122);
    const kept = await readdir(storageDirs.get(openPort) as string, { recursive: true });
    expect(kept.filter((name) => name.includes(sopInstanceUid))).toEqual([]);
  });

  it.each([
    { operation: 'N-GET', commandField: 0x0110 },
    { operation: 'N-DELETE', commandField: 0x0150 },
  ])('an $operation on a storage context is answered "unrecognized operation" (0x0211), and the association goes on', async ({ commandField }) => {
    const sender = await peer(openPort);
    await sender.associate(AE_TITLE, 'RAW_PEER', [CT_CONTEXT]);
    await sender.send(pDataPdus(1, true, requestWithoutDataset(commandField, CT, 7)));

    const response = await sender.next(0x04);

    expect(response && responseStatus(response)).toBe(0x0211);
    await sender.send(RELEASE_RQ);
    expect(await sender.next(0x06)).toBeDefined();
  });

  it('past the maximum of associations rejects as transient, and takes the next one once a place is free', async () => {
    const first = await peer(strictPort);
    const second = await peer(strictPort);
    await first.associate(AE_TITLE, 'RAW_PEER');
    await second.associate(AE_TITLE, 'RAW_PEER');

    const refused = await runTool('echoscu', ['-aec', AE_TITLE, '127.0.0.1', String(strictPort)]);
    await first.send(RELEASE_RQ);
    expect(await first.next(0x06)).toBeDefined();
    // The requestor closes the connection once released (PS3.8 AR-3).
    first.destroy();
    await first.closed;
    const served = await runTool('echoscu', ['-aec', AE_TITLE, '127.0.0.1', String(strictPort)]);

    expect(refused.code).not.toBe(0);
    expect(refused.output).toMatch(/Rejected Transient/);
    expect(refused.output).toMatch(/Local Limit Exceeded/i);
    expect(served).toMatchObject({ code: 0, output: '' });
  });

  it('past the maximum of associations from one host rejects that host as transient, and still serves the others', async () => {
    const held = await peer(perHostPort, '127.0.0.2');
    await held.associate(AE_TITLE, 'RAW_PEER');
    const sameHost = await peer(perHostPort, '127.0.0.2');
    await sameHost.send(associateRq(AE_TITLE, 'RAW_PEER'));
    const rejection = await sameHost.next(0x03);

    const otherHost = await runTool('echoscu', ['-aec', AE_TITLE, '127.0.0.1', String(perHostPort)]);

    // A-ASSOCIATE-RJ: result 2 (transient), source 3 (service provider, presentation), reason 2 (local limit exceeded).
    expect(rejection && [...rejection.body.subarray(1, 4)]).toEqual([2, 3, 2]);
    expect(otherHost).toMatchObject({ code: 0, output: '' });
  });

  it.each([
    { situation: 'a calling AE title not on the list', callingAeTitle: 'INTRUDER' },
    { situation: 'a listed title bound to other hosts', callingAeTitle: 'ELSEWHERE' },
  ])('rejects $situation permanently: calling AE title not recognized', async ({ callingAeTitle }) => {
    const store = await honestStore(strictPort, callingAeTitle);

    expect(store.responses).toEqual([]);
    expect(store.output).toMatch(/Rejected Permanent/);
    expect(store.output).toMatch(/Calling AE Title Not Recognized/i);
  });

  it('rejects a calling AE title with a backslash permanently (it was stored as a Source AE Title of two values)', async () => {
    const store = await honestStore(openPort, 'ST\\ORE');

    expect(store.responses).toEqual([]);
    expect(store.output).toMatch(/Rejected Permanent/);
    expect(store.output).toMatch(/Calling AE Title Not Recognized/i);
  });

  it('takes a store from a listed title on its own host', async () => {
    expect(await honestStore(strictPort, 'STORESCU')).toMatchObject({ responses: ['Success'] });
  });
});
