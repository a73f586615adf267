import { createServer as createTcpServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Implementation } from 'dcmjs-dimse';
import { ConnectionRegistry } from './connections';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from '@imaging-facade/dicom';
import { createScpClass, type ScpDependencies } from './scp';
import { CallingAeAllowList, type AllowedCaller } from './calling-ae-allow-list';
import { dicomTlsServerOptions, type DicomTlsMaterial } from './tls-options';

export interface DicomServerOptions extends Omit<ScpDependencies, 'connections' | 'allowedCallers'> {
  port: number;
  /** A second port for DICOM over TLS; undefined: none. */
  tls: (DicomTlsMaterial & { port: number }) | undefined;
  /** Undefined: any calling AE title. */
  allowedCallers: readonly AllowedCaller[] | undefined;
  /** How long open associations may go on after close() is called, before they are aborted. */
  shutdownGraceMs: number;
}

export interface DicomServer {
  port: number;
  tlsPort: number | undefined;
  /** Stops accepting, drains open associations (see ConnectionRegistry.drain) and waits until the ports are closed. */
  close: () => Promise<void>;
}

/**
 * Our ConnectionTimers own ARTIM and the idle timeout; dcmjs-dimse's PDU timer (which does not know
 * that a store is being made durable) is set out of reach.
 */
const SCP_OPTIONS = { pduTimeout: Number.MAX_SAFE_INTEGER };

export async function startDicomServer(options: DicomServerOptions): Promise<DicomServer> {
  // Process-wide settings of dcmjs-dimse: our identity in A-ASSOCIATE-AC and the PDU size we receive.
  Implementation.setImplementationClassUid(IMPLEMENTATION_CLASS_UID);
  Implementation.setImplementationVersion(IMPLEMENTATION_VERSION_NAME);
  Implementation.setMaxPduLength(options.maxPduLength);

  // One registry for both ports: the limit of associations and the shutdown drain are node-wide.
  const connections = new ConnectionRegistry();
  const allowedCallers = options.allowedCallers === undefined ? undefined : new CallingAeAllowList(options.allowedCallers);
  const IngestScp = createScpClass({ ...options, allowedCallers, connections });
  // Each SCP registers itself in `connections`, which keeps it until its socket closes.
  const accept = (socket: Socket): void => void new IngestScp(socket, SCP_OPTIONS);

  const servers: NetServer[] = [];
  const tcp = createTcpServer(accept);
  servers.push(tcp);
  const port = await listen(tcp, options.port);
  options.logger.info({ port, aeTitle: options.aeTitle }, 'DICOM SCP listening');

  let tlsPort: number | undefined;
  if (options.tls !== undefined) {
    const secure = createTlsServer(dicomTlsServerOptions(options.tls, options.timeouts.artimMs), accept);
    secure.on('tlsClientError', (error: Error, socket: Socket) => {
      options.logger.warn({ err: error.message, remote: socket.remoteAddress }, 'DICOM TLS handshake failed');
    });
    servers.push(secure);
    tlsPort = await listen(secure, options.tls.port);
    options.logger.info({ port: tlsPort, clientCertificates: options.tls.ca !== undefined }, 'DICOM TLS SCP listening');
  }

  return {
    port,
    tlsPort,
    close: async () => {
      const portsClosed = servers.map(
        (server) => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
      );
      await connections.drain(options.shutdownGraceMs);
      await Promise.all(portsClosed);
    },
  };
}

async function listen(server: NetServer, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : port;
}
