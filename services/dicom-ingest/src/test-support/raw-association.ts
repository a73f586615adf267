import { connect, type Socket } from 'node:net';

/**
 * A DICOM peer at the byte level, for tests that must send what no well-behaved toolkit sends:
 * builds upper layer PDUs (PS3.8 9.3) and reads whatever the SCP answers.
 */

const VERIFICATION = '1.2.840.10008.1.1';
const IMPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2';
const APPLICATION_CONTEXT = '1.2.840.10008.3.1.1.1';

export interface ReceivedPdu {
  type: number;
  body: Buffer;
}

export function pduHeader(type: number, length: number): Buffer {
  const header = Buffer.alloc(6);
  header.writeUInt8(type, 0);
  header.writeUInt32BE(length, 2);
  return header;
}

function item(type: number, value: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt8(type, 0);
  header.writeUInt16BE(value.length, 2);
  return Buffer.concat([header, value]);
}

function aeField(title: string): Buffer {
  return Buffer.from(title.padEnd(16, ' '), 'ascii');
}

export interface ProposedContext {
  id: number;
  abstractSyntax: string;
  transferSyntaxes: readonly string[];
}

const VERIFICATION_CONTEXT: ProposedContext = { id: 1, abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_VR_LITTLE_ENDIAN] };

/** An A-ASSOCIATE-RQ proposing these presentation contexts (by default Verification in Implicit VR Little Endian). */
export function associateRq(
  calledAeTitle: string,
  callingAeTitle: string,
  contexts: readonly ProposedContext[] = [VERIFICATION_CONTEXT],
  maxPduLength = 16_384,
): Buffer {
  const fixed = Buffer.alloc(68);
  fixed.writeUInt16BE(1, 0); // protocol version
  aeField(calledAeTitle).copy(fixed, 4);
  aeField(callingAeTitle).copy(fixed, 20);
  const presentationContexts = contexts.map(({ id, abstractSyntax, transferSyntaxes }) =>
    item(
      0x20,
      Buffer.concat([
        Buffer.from([id, 0, 0, 0]),
        item(0x30, Buffer.from(abstractSyntax)),
        ...transferSyntaxes.map((uid) => item(0x40, Buffer.from(uid))),
      ]),
    ),
  );
  const maxLength = Buffer.alloc(4);
  maxLength.writeUInt32BE(maxPduLength, 0);
  const userInformation = item(0x50, item(0x51, maxLength));
  const body = Buffer.concat([fixed, item(0x10, Buffer.from(APPLICATION_CONTEXT)), ...presentationContexts, userInformation]);
  return Buffer.concat([pduHeader(0x01, body.length), body]);
}

export const RELEASE_RQ = Buffer.concat([pduHeader(0x05, 4), Buffer.alloc(4)]);

/** A connection that records every PDU the SCP sends and when it closes the connection. */
export class RawPeer {
  readonly received: ReceivedPdu[] = [];
  readonly closed: Promise<void>;
  private pending = Buffer.alloc(0);
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    // The SCP may reset the connection while we still write: that is an answer, not a test failure.
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    void this.closed.then(() => this.wake());
  }

  /** `localAddress`: another loopback address (127.0.0.2…) plays another host. */
  static open(port: number, localAddress?: string): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, ...(localAddress ? { localAddress } : {}) }, () => resolve(new RawPeer(socket)));
      socket.once('error', reject);
    });
  }

  get isClosed(): boolean {
    return this.socket.destroyed || this.socket.readyState === 'closed';
  }

  send(bytes: Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed || !this.socket.writable) {
        resolve();
        return;
      }
      this.socket.write(bytes, () => resolve());
    });
  }

  /** Resolves with the first PDU of this type the SCP sent (or undefined if it closed without one). */
  async next(type: number, timeoutMs = 10_000): Promise<ReceivedPdu | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received.find((pdu) => pdu.type === type);
      if (found !== undefined || this.isClosed || Date.now() > deadline) {
        return found;
      }
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  /** Opens an association (RQ → AC) and resolves once it is accepted. */
  async associate(calledAeTitle: string, callingAeTitle: string, contexts?: readonly ProposedContext[]): Promise<void> {
    await this.send(associateRq(calledAeTitle, callingAeTitle, contexts));
    const accepted = await this.next(0x02);
    if (accepted === undefined) {
      throw new Error(`association not accepted: ${JSON.stringify(this.received.map((pdu) => pdu.type))}`);
    }
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.pending = Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 6 && this.pending.length >= 6 + this.pending.readUInt32BE(2)) {
      const length = this.pending.readUInt32BE(2);
      this.received.push({ type: this.pending.readUInt8(0), body: this.pending.subarray(6, 6 + length) });
      this.pending = this.pending.subarray(6 + length);
    }
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    waiters.forEach((wake) => wake());
  }
}

/** The A-ABORT's source and reason (PS3.8 9.3.8), for assertions. */
export function abortOf(pdu: ReceivedPdu | undefined): { source: number; reason: number } | undefined {
  return pdu === undefined ? undefined : { source: pdu.body.readUInt8(2), reason: pdu.body.readUInt8(3) };
}
