import { constants } from 'dcmjs-dimse';
import { checkAssociateRq, commandFields, MAX_COMMAND_BYTES, MessageSequence } from './pdu-content';
import { associateRq, type ProposedContext } from '../test-support/raw-association';
import { commandElement, cStoreRq, pDataPdus } from '../test-support/raw-dimse';

const { AbortReason } = constants;
const CT = '1.2.840.10008.5.1.4.1.1.2';
const context = (id: number): ProposedContext => ({ id, abstractSyntax: CT, transferSyntaxes: ['1.2.840.10008.1.2.1'] });
const withByte = (pdu: Buffer, offset: number, value: number): Buffer => {
  const copy = Buffer.from(pdu);
  copy.writeUInt8(value, offset);
  return copy;
};
/** The A-ASSOCIATE-RQ with its application context name's last character changed. */
const otherApplicationContext = (): Buffer => {
  const pdu = associateRq('FACADE', 'PEER');
  const at = pdu.indexOf('1.2.840.10008.3.1.1.1') + '1.2.840.10008.3.1.1.'.length;
  return withByte(pdu, at, '2'.charCodeAt(0));
};

describe('checkAssociateRq', () => {
  test.each([
    ['one context', associateRq('FACADE', 'PEER', [context(1)])],
    ['contexts 1, 3, 255', associateRq('FACADE', 'PEER', [context(1), context(3), context(255)])],
  ])('lets through %s', (_situation, pdu) => {
    expect(checkAssociateRq(pdu)).toBeUndefined();
  });

  test.each([
    ['two contexts numbered 255 (dcmjs-dimse renumbered one to 257, then threw while answering: the service stopped)', associateRq('FACADE', 'PEER', [context(255), context(255)]), /proposed twice/],
    ['two contexts numbered 1', associateRq('FACADE', 'PEER', [context(1), context(1)]), /proposed twice/],
    ['an even context ID', associateRq('FACADE', 'PEER', [context(2)]), /even/],
    ['context ID 0', associateRq('FACADE', 'PEER', [context(0)]), /even/],
    ['no presentation context', associateRq('FACADE', 'PEER', []), /without a presentation context/],
    ['protocol version 0', withByte(associateRq('FACADE', 'PEER'), 7, 0), /protocol version/],
    ['another application context', otherApplicationContext(), /application context/],
    ['an item longer than the PDU', associateRq('FACADE', 'PEER').subarray(0, -3), /longer than the PDU|cut short/],
  ])('refuses %s', (_situation, pdu, message) => {
    expect(checkAssociateRq(pdu)).toEqual({ abortReason: AbortReason.InvalidPduParameter, message: expect.stringMatching(message) });
  });
});

const STORE = cStoreRq(CT, '2.25.1', 1);
/** A C-FIND-RQ announcing an identifier (a dataset): nothing we serve. */
const FIND = Buffer.concat([commandElement(0x0100, Buffer.from([0x20, 0x00])), commandElement(0x0800, Buffer.from([0x00, 0x00]))]);
const ECHO = Buffer.concat([commandElement(0x0100, Buffer.from([0x30, 0x00])), commandElement(0x0800, Buffer.from([0x01, 0x01]))]);

/** The verdicts on a series of P-DATA-TF PDUs (each PDU given whole). */
function verdicts(...pdus: Buffer[]): Array<string | undefined> {
  const sequence = new MessageSequence();
  return pdus.map((pdu) => sequence.check(pdu)?.message);
}
/** The PDUs of `bytes` on context 1 in fragments of `size`, each PDU given apart. */
const split = (pdus: Buffer): Buffer[] => {
  const out: Buffer[] = [];
  for (let offset = 0; offset < pdus.length; ) {
    const length = pdus.readUInt32BE(offset + 2);
    out.push(pdus.subarray(offset, offset + 6 + length));
    offset += 6 + length;
  }
  return out;
};

describe('MessageSequence', () => {
  test('a C-STORE: its command, then its dataset in fragments; then a C-ECHO; nothing refused', () => {
    const pdus = [...split(pDataPdus(1, true, STORE, 50)), ...split(pDataPdus(1, false, Buffer.alloc(40_000, 1))), ...split(pDataPdus(3, true, ECHO))];
    expect(verdicts(...pdus).filter((verdict) => verdict !== undefined)).toEqual([]);
  });

  test.each([
    ['an empty P-DATA-TF (a keep-alive that held an association open forever)', () => [Buffer.from([4, 0, 0, 0, 0, 0])], /without a presentation data value/],
    ['a message control header 0xFF', () => [withByte(pDataPdus(1, true, ECHO), 11, 0xff)], /message control header/],
    ['a dataset with no command before it', () => [pDataPdus(1, false, Buffer.alloc(10))], /where a command should begin/],
    ['a dataset after a C-FIND-RQ (a 256 MB identifier held the event loop for 37 s)', () => [pDataPdus(1, true, FIND)], /we serve C-ECHO and C-STORE only/],
    ['a command set of more than 64 KiB, in fragments (1 GB held 3.3 GB and the event loop for minutes)', () => split(pDataPdus(1, true, Buffer.alloc(MAX_COMMAND_BYTES + 1), 16_000)), /command set of more than/],
    ['a dataset begun on context 1 and ended on context 5', () => [pDataPdus(1, true, STORE), withByte(pDataPdus(1, false, Buffer.alloc(10)), 10, 5)], /on presentation context 5/],
    ['a command set without a CommandField (it got no answer: the peer waited for the idle timeout)', () => [pDataPdus(1, true, commandElement(0x0800, Buffer.from([0x01, 0x01])))], /without a CommandField/],
    ['a C-ECHO-RSP sent to us', () => [pDataPdus(1, true, Buffer.concat([commandElement(0x0100, Buffer.from([0x30, 0x80])), commandElement(0x0800, Buffer.from([0x01, 0x01]))]))], /a response: we send no requests/],
    ['an unknown CommandField', () => [pDataPdus(1, true, Buffer.concat([commandElement(0x0100, Buffer.from([0x77, 0x07])), commandElement(0x0800, Buffer.from([0x01, 0x01]))]))], /no request of PS3.7/],
    ['a command fragment in the middle of a dataset', () => [pDataPdus(1, true, STORE), split(pDataPdus(1, false, Buffer.alloc(100), 50))[0] as Buffer, pDataPdus(1, true, ECHO)], /command fragment before the dataset ended/],
  ])('refuses %s', (_situation, pdus, message) => {
    expect(verdicts(...pdus()).find((verdict) => verdict !== undefined)).toMatch(message);
  });

  test('a C-CANCEL (no response is due) and a C-ECHO-RQ pass', () => {
    const cancel = Buffer.concat([commandElement(0x0100, Buffer.from([0xff, 0x0f])), commandElement(0x0800, Buffer.from([0x01, 0x01]))]);
    expect(verdicts(pDataPdus(1, true, cancel), pDataPdus(1, true, ECHO))).toEqual([undefined, undefined]);
  });

  test('commandFields reads CommandField and CommandDataSetType of a C-STORE-RQ', () => {
    expect(commandFields(STORE)).toEqual({ field: 0x0001, dataSetType: 0x0000 });
    expect(commandFields(Buffer.from('not a command'))).toEqual({ field: undefined, dataSetType: undefined });
  });
});
