import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { constants } from 'dcmjs-dimse';
import { createLogger, stopAll, type Stoppable } from '@imaging-facade/service-kit';
import { loadIngestConfig } from './config';
import { startIngestService } from './service';
import { relabel, runDcmtk as runTool, storeResponses } from '../../../test/support/dcmtk';
import { newUid } from '../../../test/support/uids';
import { pduHeader } from './test-support/raw-association';
import { sample as testFile } from '../../../test/support/sample-files';

/**
 * DICOM over TLS on the second port, against DCMTK's `storescu +tls` (whose default is the
 * non-downgrading BCP 195 profile). Certificates are made for the run with openssl: the node's, a
 * modality's that the node trusts as CA in the mutual-TLS node, and a stranger's.
 */

const BROKERS = process.env.KAFKA_BROKERS ?? 'localhost:9092';
const AE_TITLE = 'FACADE_TLS';

interface KeyPair {
  key: string;
  cert: string;
}

async function selfSigned(dir: string, name: string): Promise<KeyPair> {
  const pair = { key: path.join(dir, `${name}.key.pem`), cert: path.join(dir, `${name}.cert.pem`) };
  const run = await runTool('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1',
    '-keyout', pair.key, '-out', pair.cert,
    '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ]);
  if (run.code !== 0) {
    throw new Error(`openssl failed: ${run.output}`);
  }
  return pair;
}

/** Resolves with the handshake's protocol and cipher, or the error that ended it. */
function handshake(port: number, options: ConnectionOptions): Promise<{ protocol: string | null; cipher: string } | { error: string }> {
  return new Promise((resolve) => {
    const socket: TLSSocket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options }, () => {
      resolve({ protocol: socket.getProtocol(), cipher: socket.getCipher().name });
      socket.destroy();
    });
    socket.once('error', (error) => resolve({ error: error.message }));
  });
}

describe('DICOM over TLS', () => {
  const parts: Stoppable[] = [];
  const logger = createLogger('dicom-tls-it', process.env.LOG_LEVEL ?? 'silent');
  let workDir: string;
  let node: KeyPair;
  let modality: KeyPair;
  let stranger: KeyPair;
  /** The TLS port of a node that takes any client; of one that requires the modality's certificate. */
  let tlsPort: number;
  let mutualTlsPort: number;

  async function startNode(settings: Record<string, string>): Promise<number> {
    const config = loadIngestConfig({
      DICOM_PORT: '0',
      DICOM_AE_TITLE: AE_TITLE,
      DICOM_TLS_PORT: '0',
      DICOM_TLS_CERT_FILE: node.cert,
      DICOM_TLS_KEY_FILE: node.key,
      INGEST_HTTP_PORT: '0',
      KAFKA_BROKERS: BROKERS,
      KAFKA_TOPIC_PREFIX: `it-tls-${randomUUID().slice(0, 8)}.`,
      INGEST_STORAGE_DIR: await mkdtemp(path.join(tmpdir(), 'tls-it-storage-')),
      DICOM_SHUTDOWN_GRACE_MS: '500',
      ...settings,
    });
    const running = await startIngestService(config, logger, (name, stop) => parts.push({ name, stop }));
    if (running.dicomTlsPort === undefined) {
      throw new Error('no TLS port');
    }
    return running.dicomTlsPort;
  }

  async function storeOverTls(port: number, tlsArgs: readonly string[]): Promise<{ responses: string[]; output: string }> {
    const file = await relabel(testFile('CT_small.dcm'), workDir, { study: newUid(), series: newUid(), sop: newUid() });
    const run = await runTool('storescu', ['-v', ...tlsArgs, '-aec', AE_TITLE, '127.0.0.1', String(port), file]);
    return { responses: storeResponses(run.output), output: run.output };
  }

  beforeAll(async () => {
    workDir = await mkdtemp(path.join(tmpdir(), 'tls-it-'));
    [node, modality, stranger] = await Promise.all([selfSigned(workDir, 'node'), selfSigned(workDir, 'modality'), selfSigned(workDir, 'stranger')]);
    tlsPort = await startNode({});
    mutualTlsPort = await startNode({ DICOM_TLS_CA_FILE: modality.cert });
  });

  afterAll(async () => {
    await stopAll(parts, logger);
  });

  it('stores from storescu +tls that verifies the node against its certificate', async () => {
    const store = await storeOverTls(tlsPort, ['+tls', modality.key, modality.cert, '+cf', node.cert]);
    // The same storescu trusting another certificate: the verification is real.
    const untrusted = await storeOverTls(tlsPort, ['+tls', modality.key, modality.cert, '+cf', stranger.cert]);

    expect(store.responses).toEqual(['Success']);
    expect(untrusted.responses).toEqual([]);
    expect(untrusted.output).toMatch(/certificate verify failed|TLS/i);
  });

  it('stores from storescu +tls that does not verify the node (-ic)', async () => {
    const store = await storeOverTls(tlsPort, ['+tls', modality.key, modality.cert, '-ic']);

    expect(store.responses).toEqual(['Success']);
  });

  it('when client certificates are required, stores from the trusted modality and refuses a stranger', async () => {
    const trusted = await storeOverTls(mutualTlsPort, ['+tls', modality.key, modality.cert, '+cf', node.cert]);
    const refused = await storeOverTls(mutualTlsPort, ['+tls', stranger.key, stranger.cert, '+cf', node.cert]);

    expect(trusted.responses).toEqual(['Success']);
    expect(refused.responses).toEqual([]);
    // Under TLS 1.3 the node refuses the certificate after the client's side of the handshake is done.
    expect(refused.output).toMatch(/Association Request Failed/);
  });

  it('negotiates TLS 1.2 or later with a BCP 195 suite only', async () => {
    const modern = await handshake(tlsPort, {});
    const tls12 = await handshake(tlsPort, { maxVersion: 'TLSv1.2' });
    const tls11 = await handshake(tlsPort, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' });
    const withoutForwardSecrecy = await handshake(tlsPort, { maxVersion: 'TLSv1.2', ciphers: 'AES128-GCM-SHA256:AES256-SHA' });

    expect(modern).toMatchObject({ protocol: 'TLSv1.3' });
    expect(tls12).toEqual({ protocol: 'TLSv1.2', cipher: 'ECDHE-RSA-AES128-GCM-SHA256' });
    expect(tls11).toHaveProperty('error');
    expect(withoutForwardSecrecy).toHaveProperty('error');
  });

  it('guards the PDUs of a TLS connection as on the plain port', async () => {
    const socket = connect({ host: '127.0.0.1', port: tlsPort, rejectUnauthorized: false });
    await new Promise((resolve) => socket.once('secureConnect', resolve));
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('error', () => undefined);

    socket.write(pduHeader(0x01, 0x7fff_ffff));
    await new Promise((resolve) => socket.once('close', resolve));

    expect([...Buffer.concat(received)]).toEqual([0x07, 0, 0, 0, 0, 4, 0, 0, constants.AbortSource.ServiceProvider, constants.AbortReason.InvalidPduParameter]);
  });

  it('takes no plain DICOM on the TLS port', async () => {
    const echo = await runTool('echoscu', ['-to', '5', '-aec', AE_TITLE, '127.0.0.1', String(tlsPort)]);

    expect(echo.code).not.toBe(0);
  });
});
