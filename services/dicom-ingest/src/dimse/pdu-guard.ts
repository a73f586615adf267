import { constants } from 'dcmjs-dimse';
import { checkAssociateRq, MessageSequence } from './pdu-content';

const { AbortReason } = constants;

/** PDU types of the upper layer protocol (PS3.8 9.3.1). */
export const PduType = {
  AssociateRq: 0x01,
  AssociateAc: 0x02,
  AssociateRj: 0x03,
  PDataTf: 0x04,
  ReleaseRq: 0x05,
  ReleaseRp: 0x06,
  Abort: 0x07,
} as const;

/** The PDU header: type (1), reserved (1), length of what follows (4, big endian). */
export const PDU_HEADER_LENGTH = 6;

/** A-RELEASE-RQ, A-RELEASE-RP and A-ABORT have a fixed length (PS3.8 9.3.6, 9.3.7, 9.3.8). */
const FIXED_PDU_LENGTH = 4;

/** Where the association stands, as far as what the peer may send next is concerned. */
export type UpperLayerPhase = 'awaiting-association' | 'associated' | 'closing';

export interface PduLimits {
  /** Cap of an A-ASSOCIATE-RQ, the only PDU a peer may send before it is associated. */
  maxAssociateRqLength: number;
  /** Cap of a P-DATA-TF: the Maximum Length Received we announce (PS3.8 D.1). */
  maxPduLength: number;
}

export interface PduViolation {
  /** The A-ABORT reason (PS3.8 9.3.8, service-provider source). */
  abortReason: number;
  pduType: number;
  declaredLength: number;
  message: string;
}

/**
 * Sits between the socket and dcmjs-dimse, which buffers every PDU whole before it looks at it. The
 * guard reads each 6-byte header first and passes a PDU on only if its type is expected now and its
 * declared length is within our caps, so a peer cannot make us buffer more than we announced; a
 * whole A-ASSOCIATE-RQ or P-DATA-TF is passed on only once its content is what PS3.8 allows
 * (pdu-content.ts). After a violation nothing more is passed on.
 */
export class PduGuard {
  private header: Buffer = Buffer.alloc(0);
  /** Body bytes of the current PDU still to come. */
  private remaining = 0;
  /** The current PDU's bytes so far (its header first), when it spans chunks. */
  private parts: Buffer[] = [];
  private stopped = false;
  private readonly messages = new MessageSequence();

  constructor(
    private readonly limits: PduLimits,
    private readonly phase: () => UpperLayerPhase,
    private readonly forward: (bytes: Buffer) => void,
    private readonly onViolation: (violation: PduViolation) => void,
  ) {}

  /**
   * Passes each PDU on whole, in one buffer: a PDU within one chunk as a view of it (no copy), one
   * that spans chunks copied once when complete. dcmjs-dimse joins the pieces it gets with a
   * `Buffer.concat` per piece, which for a 256 KB PDU read in 64 KB chunks copied it several times.
   */
  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length && !this.stopped) {
      if (this.remaining > 0) {
        const end = Math.min(chunk.length, offset + this.remaining);
        this.remaining -= end - offset;
        this.parts.push(chunk.subarray(offset, end));
        offset = end;
        if (this.remaining === 0) {
          this.forwardPdu();
        }
        continue;
      }
      const headerStart = offset;
      const take = chunk.subarray(offset, offset + PDU_HEADER_LENGTH - this.header.length);
      offset += take.length;
      const wholeHeaderHere = this.header.length === 0 && take.length === PDU_HEADER_LENGTH;
      this.header = wholeHeaderHere ? take : Buffer.concat([this.header, take]);
      if (this.header.length < PDU_HEADER_LENGTH) {
        return;
      }
      const header = this.header;
      this.header = Buffer.alloc(0);
      const violation = checkPduHeader(header, this.phase(), this.limits);
      if (violation !== undefined) {
        this.stopped = true;
        this.onViolation(violation);
        return;
      }
      const length = header.readUInt32BE(2);
      if (wholeHeaderHere && offset + length <= chunk.length) {
        // The whole PDU is in this chunk.
        offset += length;
        this.deliver(chunk.subarray(headerStart, offset));
        continue;
      }
      this.remaining = length;
      this.parts = [header];
      if (length === 0) {
        this.forwardPdu();
      }
    }
  }

  private forwardPdu(): void {
    const parts = this.parts;
    this.parts = [];
    this.deliver(Buffer.concat(parts));
  }

  /** Passes a whole PDU on, unless what it holds breaks PS3.8 (then a violation, and nothing more is passed on). */
  private deliver(pdu: Buffer): void {
    const pduType = pdu.readUInt8(0);
    const content = pduType === PduType.AssociateRq ? checkAssociateRq(pdu) : pduType === PduType.PDataTf ? this.messages.check(pdu) : undefined;
    if (content !== undefined) {
      this.stopped = true;
      this.onViolation({ ...content, pduType, declaredLength: pdu.length - PDU_HEADER_LENGTH });
      return;
    }
    this.forward(pdu);
  }
}

/** The verdict on one PDU header, from the types each phase allows (PS3.8 9.2, table 9-10) and our caps. */
export function checkPduHeader(header: Buffer, phase: UpperLayerPhase, limits: PduLimits): PduViolation | undefined {
  const pduType = header.readUInt8(0);
  const declaredLength = header.readUInt32BE(2);
  const violation = (abortReason: number, message: string): PduViolation => ({ abortReason, pduType, declaredLength, message });

  if (pduType < PduType.AssociateRq || pduType > PduType.Abort) {
    return violation(AbortReason.UnrecognizedPdu, `unrecognized PDU type 0x${pduType.toString(16).padStart(2, '0')}`);
  }
  switch (phase) {
    case 'awaiting-association':
      if (pduType === PduType.Abort) {
        return fixedLength(declaredLength, violation);
      }
      if (pduType !== PduType.AssociateRq) {
        return violation(AbortReason.UnexpectedPdu, `PDU type ${pduType} before an association`);
      }
      if (declaredLength > limits.maxAssociateRqLength) {
        return violation(
          AbortReason.InvalidPduParameter,
          `A-ASSOCIATE-RQ of ${declaredLength} bytes, more than ${limits.maxAssociateRqLength}`,
        );
      }
      return undefined;
    case 'associated':
      if (pduType === PduType.PDataTf) {
        return declaredLength > limits.maxPduLength
          ? violation(AbortReason.InvalidPduParameter, `P-DATA-TF of ${declaredLength} bytes, more than the ${limits.maxPduLength} we announced`)
          : undefined;
      }
      if (pduType === PduType.ReleaseRq || pduType === PduType.Abort) {
        return fixedLength(declaredLength, violation);
      }
      return violation(AbortReason.UnexpectedPdu, `PDU type ${pduType} during an association`);
    case 'closing':
      // We rejected, released or aborted: only the peer's A-ABORT or release reply can still come.
      if (pduType === PduType.Abort || pduType === PduType.ReleaseRp) {
        return fixedLength(declaredLength, violation);
      }
      return violation(AbortReason.UnexpectedPdu, `PDU type ${pduType} after the association ended`);
  }
}

function fixedLength(
  declaredLength: number,
  violation: (abortReason: number, message: string) => PduViolation,
): PduViolation | undefined {
  return declaredLength === FIXED_PDU_LENGTH
    ? undefined
    : violation(AbortReason.InvalidPduParameter, `fixed-length PDU declares ${declaredLength} bytes`);
}

/** An A-ABORT PDU (PS3.8 9.3.8): we write it ourselves, as it may precede any association. */
export function abortPdu(source: number, reason: number): Buffer {
  const pdu = Buffer.alloc(PDU_HEADER_LENGTH + FIXED_PDU_LENGTH);
  pdu.writeUInt8(PduType.Abort, 0);
  pdu.writeUInt32BE(FIXED_PDU_LENGTH, 2);
  pdu.writeUInt8(source, 8);
  pdu.writeUInt8(reason, 9);
  return pdu;
}
