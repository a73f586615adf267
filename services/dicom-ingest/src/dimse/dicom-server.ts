import type { Server as NetServer } from 'node:net';
import { Implementation, Server } from 'dcmjs-dimse';
import { ConnectionRegistry } from './connections';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from '@imaging-facade/dicom';
import { createScpClass, type ScpDependencies } from './scp';

export interface DicomServerOptions extends Omit<ScpDependencies, 'connections'> {
  port: number;
  /** How long open associations may go on after close() is called, before they are aborted. */
  shutdownGraceMs: number;
}

export interface DicomServer {
  port: number;
  /** Stops accepting, drains open associations (see ConnectionRegistry.drain) and waits until the port is closed. */
  close: () => Promise<void>;
}

/** dcmjs-dimse 0.3.3 keeps its net.Server in a field it does not declare; we need it to close gracefully. */
interface ServerInternals {
  server?: NetServer;
}

export async function startDicomServer(options: DicomServerOptions): Promise<DicomServer> {
  // Process-wide settings of dcmjs-dimse: our identity in A-ASSOCIATE-AC and the PDU size we receive.
  Implementation.setImplementationClassUid(IMPLEMENTATION_CLASS_UID);
  Implementation.setImplementationVersion(IMPLEMENTATION_VERSION_NAME);
  Implementation.setMaxPduLength(options.maxPduLength);

  const connections = new ConnectionRegistry();
  const server = new Server(createScpClass({ ...options, connections }));
  server.on('networkError', (error: Error) => {
    options.logger.warn({ err: error.message }, 'DICOM network error');
  });

  server.listen(options.port);
  const netServer = (server as unknown as ServerInternals).server;
  if (netServer === undefined) {
    throw new Error('dcmjs-dimse did not create its server');
  }
  await new Promise<void>((resolve, reject) => {
    netServer.once('listening', resolve);
    netServer.once('error', reject);
  });
  const address = netServer.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  options.logger.info({ port, aeTitle: options.aeTitle }, 'DICOM SCP listening');

  return {
    port,
    close: async () => {
      const portClosed = new Promise<void>((resolve, reject) => {
        netServer.close((error) => (error ? reject(error) : resolve()));
      });
      await connections.drain(options.shutdownGraceMs);
      await portClosed;
      // Nothing is left open now; this only clears dcmjs-dimse's own bookkeeping.
      server.close();
    },
  };
}
