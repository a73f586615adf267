import { createServer, type Server as NetServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { association, Client, constants, Dataset, log, requests, responses, Scp } from 'dcmjs-dimse';

/**
 * Our patch of dcmjs-dimse (patches/README.md) builds its info lines (association dumps, commands)
 * only when info is enabled: at our level (warn) a C-STORE stringifies nothing, and at info the same
 * lines are logged as before. A real association over loopback, dcmjs-dimse on both sides.
 */

const { PresentationContextResult, StorageClass, Status, TransferSyntax } = constants;

class StoreScp extends Scp {
  constructor(socket: Socket) {
    super(socket, {});
  }

  override associationRequested(request: association.Association): void {
    for (const context of request.getPresentationContexts()) {
      request.getPresentationContext(context.id).setResult(PresentationContextResult.Accept, TransferSyntax.ImplicitVRLittleEndian);
    }
    this.sendAssociationAccept();
  }

  override cStoreRequest(request: requests.CStoreRequest, callback: (response: responses.CStoreResponse) => void): void {
    const response = responses.CStoreResponse.fromRequest(request);
    response.setStatus(Status.Success);
    callback(response);
  }

  override associationReleaseRequested(): void {
    this.sendAssociationReleaseResponse();
  }
}

async function storeOneInstance(port: number): Promise<number> {
  const dataset = new Dataset({
    SOPClassUID: StorageClass.SecondaryCaptureImageStorage,
    SOPInstanceUID: '1.2.826.0.1.3680043.8.498.424242',
    Modality: 'OT',
  });
  const request = new requests.CStoreRequest(dataset);
  return new Promise<number>((resolve, reject) => {
    const client = new Client();
    let status: number | undefined;
    request.on('response', (response) => (status = response.getStatus()));
    client.on('networkError', reject);
    client.on('closed', () => (status === undefined ? reject(new Error('no C-STORE response')) : resolve(status)));
    client.addRequest(request);
    client.send('127.0.0.1', port, 'LOG_SCU', 'LOG_SCP');
  });
}

describe('dcmjs-dimse info lines (patched)', () => {
  let server: NetServer;
  let port: number;
  const infoLines: string[] = [];
  const originalFactory = log.methodFactory;

  beforeAll(async () => {
    // Collect what dcmjs-dimse logs instead of printing it (the lines carry AE titles and UIDs only).
    log.methodFactory = (methodName) => (...args: unknown[]) => {
      if (methodName === 'info') {
        infoLines.push(args.map(String).join(' '));
      }
    };
    server = createServer((socket) => void new StoreScp(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    log.methodFactory = originalFactory;
    log.setLevel('warn');
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  beforeEach(() => {
    infoLines.length = 0;
  });
  afterEach(() => jest.restoreAllMocks());

  function spyOnToStrings(): jest.SpyInstance[] {
    return [
      jest.spyOn(association.Association.prototype, 'toString'),
      jest.spyOn(requests.CStoreRequest.prototype, 'toString'),
      jest.spyOn(responses.CStoreResponse.prototype, 'toString'),
    ];
  }

  it('at warn (our level), a C-STORE builds no association or command string', async () => {
    log.setLevel('warn');
    const spies = spyOnToStrings();

    await expect(storeOneInstance(port)).resolves.toBe(Status.Success);

    expect(spies.map((spy) => spy.mock.calls.length)).toEqual([0, 0, 0]);
    expect(infoLines).toEqual([]);
  });

  it('at info, the association and each command are logged as before', async () => {
    log.setLevel('info');
    const [associationToString, requestToString, responseToString] = spyOnToStrings();

    await expect(storeOneInstance(port)).resolves.toBe(Status.Success);

    // Each side logs the association it sends and the one it receives, and the request and response.
    expect(associationToString).toHaveBeenCalledTimes(4);
    expect(requestToString).toHaveBeenCalledTimes(2);
    expect(responseToString).toHaveBeenCalledTimes(2);
    expect(infoLines.filter((line) => line.includes('Association request:'))).toHaveLength(2);
    expect(infoLines.filter((line) => line.includes('Association accept:'))).toHaveLength(2);
    expect(infoLines.filter((line) => line.includes('C-STORE RQ'))).toHaveLength(2);
    expect(infoLines.filter((line) => line.includes('C-STORE RSP'))).toHaveLength(2);
  });
});
