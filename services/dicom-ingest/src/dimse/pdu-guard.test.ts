import { constants } from 'dcmjs-dimse';
import { abortPdu, checkPduHeader, PduGuard, PduType, type PduViolation, type UpperLayerPhase } from './pdu-guard';
import { associateRq, pduHeader } from '../test-support/raw-association';
import { commandElement, pDataPdus } from '../test-support/raw-dimse';

const { AbortReason, AbortSource } = constants;
const LIMITS = { maxAssociateRqLength: 65_536, maxPduLength: 16_384 };

const header = pduHeader;

/**
 * A PDU of `length` bytes after its header (an A-ASSOCIATE-RQ: of its own length), with valid
 * content where the guard reads it: an A-ASSOCIATE-RQ as a peer sends it; a P-DATA-TF with one PDV,
 * a C-ECHO-RQ padded with an Error Comment (at least 34 bytes); any other type filled with bytes.
 */
function pdu(type: number, length: number): Buffer {
  if (type === PduType.AssociateRq && length >= 126) {
    return associateRq('FACADE', 'PEER');
  }
  if (type === PduType.PDataTf && length >= 34) {
    const echo = Buffer.concat([commandElement(0x0100, Buffer.from([0x30, 0x00])), commandElement(0x0800, Buffer.from([0x01, 0x01]))]);
    return pDataPdus(1, true, Buffer.concat([echo, commandElement(0x0902, Buffer.alloc(length - 6 - echo.length - 8, 0x20))]));
  }
  return Buffer.concat([header(type, length), Buffer.alloc(length, 0x5a)]);
}

/**
 * A guard whose phase the test sets, recording what it forwards and what it refuses. `onForward`
 * plays the SCP, which may change the phase while it handles what it was given.
 */
function guarded(initial: UpperLayerPhase = 'awaiting-association', onForward: (total: number) => void = () => undefined) {
  const state = { phase: initial, forwarded: [] as Buffer[], violations: [] as PduViolation[] };
  let total = 0;
  const guard = new PduGuard(
    LIMITS,
    () => state.phase,
    (bytes) => {
      state.forwarded.push(Buffer.from(bytes));
      total += bytes.length;
      onForward(total);
    },
    (violation) => state.violations.push(violation),
  );
  return { guard, state, forwardedBytes: () => Buffer.concat(state.forwarded) };
}

describe('checkPduHeader', () => {
  it.each([
    { situation: 'an A-ASSOCIATE-RQ within the cap, before association', phase: 'awaiting-association', type: PduType.AssociateRq, length: 65_536 },
    { situation: "the peer's A-ABORT before association", phase: 'awaiting-association', type: PduType.Abort, length: 4 },
    { situation: 'a P-DATA-TF as long as we announced', phase: 'associated', type: PduType.PDataTf, length: 16_384 },
    { situation: 'an A-RELEASE-RQ', phase: 'associated', type: PduType.ReleaseRq, length: 4 },
    { situation: 'an A-ABORT while associated', phase: 'associated', type: PduType.Abort, length: 4 },
    { situation: 'an A-ABORT after we rejected', phase: 'closing', type: PduType.Abort, length: 4 },
  ] as const)('lets through $situation', ({ phase, type, length }) => {
    expect(checkPduHeader(header(type, length), phase, LIMITS)).toBeUndefined();
  });

  it.each([
    { situation: 'a 2 GB A-ASSOCIATE-RQ', phase: 'awaiting-association', type: PduType.AssociateRq, length: 0x7fff_ffff, reason: AbortReason.InvalidPduParameter },
    { situation: 'an A-ASSOCIATE-RQ one byte over the cap', phase: 'awaiting-association', type: PduType.AssociateRq, length: 65_537, reason: AbortReason.InvalidPduParameter },
    { situation: 'a P-DATA-TF before association', phase: 'awaiting-association', type: PduType.PDataTf, length: 100, reason: AbortReason.UnexpectedPdu },
    { situation: 'an A-ASSOCIATE-AC sent to us', phase: 'awaiting-association', type: PduType.AssociateAc, length: 100, reason: AbortReason.UnexpectedPdu },
    { situation: 'an unknown PDU type', phase: 'awaiting-association', type: 0x08, length: 4, reason: AbortReason.UnrecognizedPdu },
    { situation: 'PDU type 0', phase: 'associated', type: 0x00, length: 4, reason: AbortReason.UnrecognizedPdu },
    { situation: 'a P-DATA-TF one byte longer than we announced', phase: 'associated', type: PduType.PDataTf, length: 16_385, reason: AbortReason.InvalidPduParameter },
    { situation: 'a second A-ASSOCIATE-RQ', phase: 'associated', type: PduType.AssociateRq, length: 100, reason: AbortReason.UnexpectedPdu },
    { situation: 'an A-RELEASE-RQ of 1 MB', phase: 'associated', type: PduType.ReleaseRq, length: 1_048_576, reason: AbortReason.InvalidPduParameter },
    { situation: 'an A-ABORT of the wrong length', phase: 'awaiting-association', type: PduType.Abort, length: 5, reason: AbortReason.InvalidPduParameter },
    { situation: 'a P-DATA-TF after the release', phase: 'closing', type: PduType.PDataTf, length: 100, reason: AbortReason.UnexpectedPdu },
  ] as const)('refuses $situation', ({ phase, type, length, reason }) => {
    expect(checkPduHeader(header(type, length), phase, LIMITS)).toMatchObject({ abortReason: reason, pduType: type, declaredLength: length });
  });
});

describe('PduGuard', () => {
  it('passes every byte of valid PDUs on, whatever the chunking', () => {
    const stream = pdu(PduType.AssociateRq, 300);
    for (const size of [1, 5, 6, 7, 299, 1000]) {
      const { guard, state, forwardedBytes } = guarded();
      for (let offset = 0; offset < stream.length; offset += size) {
        guard.push(stream.subarray(offset, offset + size));
      }
      expect({ size, violations: state.violations, same: forwardedBytes().equals(stream) }).toEqual({ size, violations: [], same: true });
    }
  });

  it('passes each PDU on whole, in one piece, whether it came in one chunk or in many', () => {
    const pdus = [pdu(PduType.PDataTf, 3000), pdu(PduType.PDataTf, 34), pdu(PduType.PDataTf, 40)];
    const stream = Buffer.concat(pdus);
    for (const size of [1, 6, 7, 1000, stream.length]) {
      const { guard, state } = guarded('associated');
      for (let offset = 0; offset < stream.length; offset += size) {
        guard.push(stream.subarray(offset, offset + size));
      }
      expect({ size, forwarded: state.forwarded }).toEqual({ size, forwarded: pdus });
    }
  });

  it('judges each PDU in the phase left by the PDUs before it, even within one chunk', () => {
    const associate = pdu(PduType.AssociateRq, 200);
    const data = pdu(PduType.PDataTf, 40);
    // Once the whole A-ASSOCIATE-RQ is handed over, the SCP accepts (synchronously, as dcmjs-dimse does).
    const { guard, state, forwardedBytes } = guarded('awaiting-association', (total) => {
      if (total === associate.length) {
        state.phase = 'associated';
      }
    });

    guard.push(Buffer.concat([associate, data]));

    expect(state.violations).toEqual([]);
    expect(forwardedBytes().equals(Buffer.concat([associate, data]))).toBe(true);
  });

  it('refuses a huge declared length from its header alone, and forwards nothing of it', () => {
    const { guard, state } = guarded();

    guard.push(header(PduType.AssociateRq, 0x7fff_ffff));
    guard.push(Buffer.alloc(1_000_000));

    expect(state.violations).toHaveLength(1);
    expect(state.violations[0]).toMatchObject({ abortReason: AbortReason.InvalidPduParameter, declaredLength: 0x7fff_ffff });
    expect(state.forwarded).toEqual([]);
  });

  it('after a violation passes nothing more on', () => {
    const { guard, state, forwardedBytes } = guarded('associated');
    const good = pdu(PduType.PDataTf, 100);

    guard.push(Buffer.concat([good, header(PduType.PDataTf, 20_000), Buffer.alloc(20_000), good]));
    guard.push(good);

    expect(state.violations).toHaveLength(1);
    expect(forwardedBytes().equals(good)).toBe(true);
  });
});

describe('abortPdu', () => {
  it('is the 10-byte A-ABORT of PS3.8 9.3.8', () => {
    expect([...abortPdu(AbortSource.ServiceProvider, AbortReason.InvalidPduParameter)]).toEqual([7, 0, 0, 0, 0, 4, 0, 0, 2, 6]);
  });
});
