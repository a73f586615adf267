import { dirname } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Dataset } from 'dcmjs-dimse';
import { silenceDcmjs } from '@imaging-facade/dicom';
import { commandElement } from '../test-support/raw-dimse';

/**
 * Our patch of dcmjs-dimse (patches/README.md) decodes received command sets directly
 * (`Dataset.fromCommandBuffer`) instead of through dcmjs's generic reader. Whatever it decodes must
 * be exactly what dcmjs gives for the same bytes; anything else must take the dcmjs path.
 */

interface DcmjsReader {
  data: { DicomMessage: { _read: (...args: unknown[]) => unknown } };
}
// The dcmjs instance dcmjs-dimse uses, to see whether the generic reader ran.
const dcmjs = jest.requireActual<DcmjsReader>(
  require.resolve('dcmjs', { paths: [dirname(require.resolve('dcmjs-dimse'))] }),
);

const CT = '1.2.840.10008.5.1.4.1.1.2';
const VERIFICATION = '1.2.840.10008.1.1';
const FIND = '1.2.840.10008.5.1.4.1.2.2.1';
const MOVE = '1.2.840.10008.5.1.4.1.2.2.2';
const GET = '1.2.840.10008.5.1.4.1.2.2.3';
const COMMITMENT = '1.2.840.10008.1.20.1';
const COMMITMENT_INSTANCE = '1.2.840.10008.1.20.1.1';
const MPPS = '1.2.840.10008.3.1.2.3.3';
const PRINTER = '1.2.840.10008.5.1.1.16';
const PRINTER_INSTANCE = '1.2.840.10008.5.1.1.17';
const INSTANCE = '1.2.826.0.1.3680043.8.498.1234567890123456789012345678901234567';

const element = commandElement;
const us = (...values: number[]): Buffer => {
  const bytes = Buffer.alloc(2 * values.length);
  values.forEach((value, index) => bytes.writeUInt16LE(value, 2 * index));
  return bytes;
};
const ul = (value: number): Buffer => {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32LE(value, 0);
  return bytes;
};
/** Attribute tags (AT): group then element, each little endian. */
const at = (...tags: number[]): Buffer => us(...tags.flatMap((tag) => [tag >>> 16, tag & 0xffff]));
const uid = (value: string): Buffer => Buffer.from(value.length % 2 === 0 ? value : `${value}\0`, 'latin1');
const text = (value: string): Buffer => Buffer.from(value.length % 2 === 0 ? value : `${value} `, 'latin1');
const raw = (value: string): Buffer => Buffer.from(value, 'latin1');

/** A command set as a peer sends it: elements in the given order, behind the Command Group Length. */
function commandSet(...elements: Array<[number, Buffer]>): Buffer {
  const body = Buffer.concat(elements.map(([tag, value]) => element(tag, value)));
  return Buffer.concat([element(0x0000, ul(body.length)), body]);
}
const withoutGroupLength = (bytes: Buffer): Buffer => bytes.subarray(12);

const AFFECTED_CLASS = 0x0002;
const REQUESTED_CLASS = 0x0003;
const COMMAND_FIELD = 0x0100;
const MESSAGE_ID = 0x0110;
const RESPONDED_TO = 0x0120;
const MOVE_DESTINATION = 0x0600;
const PRIORITY = 0x0700;
const DATASET_TYPE = 0x0800;
const STATUS = 0x0900;
const OFFENDING_ELEMENT = 0x0901;
const ERROR_COMMENT = 0x0902;
const AFFECTED_INSTANCE = 0x1000;
const REQUESTED_INSTANCE = 0x1001;
const EVENT_TYPE = 0x1002;
const ATTRIBUTE_LIST = 0x1005;
const ACTION_TYPE = 0x1008;
const REMAINING = 0x1020;
const COMPLETED = 0x1021;
const FAILED = 0x1022;
const WARNING = 0x1023;
const MOVE_ORIGINATOR = 0x1030;
const MOVE_ORIGINATOR_ID = 0x1031;
const NO_DATASET = 0x0101;

const cStoreRq = commandSet(
  [AFFECTED_CLASS, uid(CT)],
  [COMMAND_FIELD, us(0x0001)],
  [MESSAGE_ID, us(7)],
  [PRIORITY, us(0)],
  [DATASET_TYPE, us(0)],
  [AFFECTED_INSTANCE, uid(INSTANCE)],
);
const cStoreRsp = (status: number, ...more: Array<[number, Buffer]>): Buffer =>
  commandSet(
    [AFFECTED_CLASS, uid(CT)],
    [COMMAND_FIELD, us(0x8001)],
    [RESPONDED_TO, us(7)],
    [DATASET_TYPE, us(NO_DATASET)],
    [STATUS, us(status)],
    ...more,
    [AFFECTED_INSTANCE, uid(INSTANCE)],
  );
const subOperations = (remaining: number, completed: number, failed: number, warning: number): Array<[number, Buffer]> => [
  [REMAINING, us(remaining)],
  [COMPLETED, us(completed)],
  [FAILED, us(failed)],
  [WARNING, us(warning)],
];

/**
 * dcmjs gives unknown elements as ArrayBuffers of Node's realm, which jest's matchers (in the test's
 * realm) cannot compare: they are compared as bytes, the rest as is.
 */
function comparable(value: unknown): unknown {
  if (Object.prototype.toString.call(value) === '[object ArrayBuffer]') {
    return { arrayBuffer: [...new Uint8Array(value as ArrayBuffer)] };
  }
  if (Array.isArray(value)) {
    return value.map(comparable);
  }
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, comparable(entry)]));
  }
  return value;
}

type Path = 'direct' | 'dcmjs';
const cases: Array<{ situation: string; bytes: Buffer; path: Path }> = [
  { situation: 'C-STORE-RQ', bytes: cStoreRq, path: 'direct' },
  {
    situation: 'C-STORE-RQ of a C-MOVE, with Move Originator AE title and message id',
    bytes: commandSet(
      [AFFECTED_CLASS, uid(CT)],
      [COMMAND_FIELD, us(0x0001)],
      [MESSAGE_ID, us(65535)],
      [PRIORITY, us(2)],
      [DATASET_TYPE, us(0)],
      [AFFECTED_INSTANCE, uid(INSTANCE)],
      [MOVE_ORIGINATOR, text('MOVESCU')],
      [MOVE_ORIGINATOR_ID, us(3)],
    ),
    path: 'direct',
  },
  { situation: 'C-STORE-RQ without Command Group Length', bytes: withoutGroupLength(cStoreRq), path: 'direct' },
  { situation: 'C-STORE-RSP success', bytes: cStoreRsp(0x0000), path: 'direct' },
  { situation: 'C-STORE-RSP out of resources, odd Error Comment', bytes: cStoreRsp(0xa700, [ERROR_COMMENT, text('Out of disk')]), path: 'direct' },
  { situation: 'C-STORE-RSP cannot understand, even Error Comment', bytes: cStoreRsp(0xc000, [ERROR_COMMENT, text('Not DICOM')]), path: 'direct' },
  { situation: 'C-STORE-RSP warning, empty Error Comment', bytes: cStoreRsp(0xb000, [ERROR_COMMENT, Buffer.alloc(0)]), path: 'direct' },
  { situation: 'C-STORE-RSP with a 64-character Error Comment', bytes: cStoreRsp(0xc000, [ERROR_COMMENT, text('x'.repeat(64))]), path: 'direct' },
  {
    situation: 'C-STORE-RSP whose Error Comment has leading and repeated trailing spaces (dcmjs trims them)',
    bytes: cStoreRsp(0xc000, [ERROR_COMMENT, raw('  spaced out    ')]),
    path: 'direct',
  },
  { situation: 'C-STORE-RSP with an Offending Element (AT)', bytes: cStoreRsp(0xa900, [OFFENDING_ELEMENT, at(0x00100010)]), path: 'direct' },
  {
    situation: 'C-ECHO-RQ',
    bytes: commandSet([AFFECTED_CLASS, uid(VERIFICATION)], [COMMAND_FIELD, us(0x0030)], [MESSAGE_ID, us(1)], [DATASET_TYPE, us(NO_DATASET)]),
    path: 'direct',
  },
  {
    situation: 'C-ECHO-RSP',
    bytes: commandSet(
      [AFFECTED_CLASS, uid(VERIFICATION)],
      [COMMAND_FIELD, us(0x8030)],
      [RESPONDED_TO, us(1)],
      [DATASET_TYPE, us(NO_DATASET)],
      [STATUS, us(0)],
    ),
    path: 'direct',
  },
  {
    situation: 'C-FIND-RQ',
    bytes: commandSet([AFFECTED_CLASS, uid(FIND)], [COMMAND_FIELD, us(0x0020)], [MESSAGE_ID, us(2)], [PRIORITY, us(0)], [DATASET_TYPE, us(0)]),
    path: 'direct',
  },
  {
    situation: 'C-FIND-RSP pending',
    bytes: commandSet([AFFECTED_CLASS, uid(FIND)], [COMMAND_FIELD, us(0x8020)], [RESPONDED_TO, us(2)], [DATASET_TYPE, us(0)], [STATUS, us(0xff00)]),
    path: 'direct',
  },
  {
    situation: 'C-MOVE-RQ with an odd-length Move Destination',
    bytes: commandSet(
      [AFFECTED_CLASS, uid(MOVE)],
      [COMMAND_FIELD, us(0x0021)],
      [MESSAGE_ID, us(3)],
      [MOVE_DESTINATION, text('STORESCP')],
      [PRIORITY, us(1)],
      [DATASET_TYPE, us(0)],
    ),
    path: 'direct',
  },
  {
    situation: 'C-MOVE-RSP pending with remaining and completed sub-operations',
    bytes: commandSet(
      [AFFECTED_CLASS, uid(MOVE)],
      [COMMAND_FIELD, us(0x8021)],
      [RESPONDED_TO, us(3)],
      [DATASET_TYPE, us(NO_DATASET)],
      [STATUS, us(0xff00)],
      ...subOperations(12, 30, 0, 1),
    ),
    path: 'direct',
  },
  {
    situation: 'C-GET-RQ',
    bytes: commandSet([AFFECTED_CLASS, uid(GET)], [COMMAND_FIELD, us(0x0010)], [MESSAGE_ID, us(4)], [PRIORITY, us(0)], [DATASET_TYPE, us(0)]),
    path: 'direct',
  },
  {
    situation: 'C-GET-RSP done with failures',
    bytes: commandSet(
      [AFFECTED_CLASS, uid(GET)],
      [COMMAND_FIELD, us(0x8010)],
      [RESPONDED_TO, us(4)],
      [DATASET_TYPE, us(NO_DATASET)],
      [STATUS, us(0xb000)],
      ...subOperations(0, 40, 2, 0),
    ),
    path: 'direct',
  },
  {
    situation: 'C-CANCEL-RQ',
    bytes: commandSet([COMMAND_FIELD, us(0x0fff)], [RESPONDED_TO, us(3)], [DATASET_TYPE, us(NO_DATASET)]),
    path: 'direct',
  },
  {
    situation: 'N-ACTION-RQ (storage commitment)',
    bytes: commandSet(
      [REQUESTED_CLASS, uid(COMMITMENT)],
      [COMMAND_FIELD, us(0x0130)],
      [MESSAGE_ID, us(5)],
      [DATASET_TYPE, us(0)],
      [REQUESTED_INSTANCE, uid(COMMITMENT_INSTANCE)],
      [ACTION_TYPE, us(1)],
    ),
    path: 'direct',
  },
  {
    situation: 'N-ACTION-RSP',
    bytes: commandSet(
      [AFFECTED_CLASS, uid(COMMITMENT)],
      [COMMAND_FIELD, us(0x8130)],
      [RESPONDED_TO, us(5)],
      [DATASET_TYPE, us(NO_DATASET)],
      [STATUS, us(0)],
      [AFFECTED_INSTANCE, uid(COMMITMENT_INSTANCE)],
      [ACTION_TYPE, us(1)],
    ),
    path: 'direct',
  },
  {
    situation: 'N-EVENT-REPORT-RQ',
    bytes: commandSet(
      [AFFECTED_CLASS, uid(COMMITMENT)],
      [COMMAND_FIELD, us(0x0100)],
      [MESSAGE_ID, us(6)],
      [DATASET_TYPE, us(0)],
      [AFFECTED_INSTANCE, uid(COMMITMENT_INSTANCE)],
      [EVENT_TYPE, us(2)],
    ),
    path: 'direct',
  },
  {
    situation: 'N-EVENT-REPORT-RSP',
    bytes: commandSet(
      [AFFECTED_CLASS, uid(COMMITMENT)],
      [COMMAND_FIELD, us(0x8100)],
      [RESPONDED_TO, us(6)],
      [DATASET_TYPE, us(NO_DATASET)],
      [STATUS, us(0)],
      [AFFECTED_INSTANCE, uid(COMMITMENT_INSTANCE)],
      [EVENT_TYPE, us(2)],
    ),
    path: 'direct',
  },
  {
    situation: 'N-CREATE-RQ (MPPS)',
    bytes: commandSet([AFFECTED_CLASS, uid(MPPS)], [COMMAND_FIELD, us(0x0140)], [MESSAGE_ID, us(8)], [DATASET_TYPE, us(0)], [AFFECTED_INSTANCE, uid(INSTANCE)]),
    path: 'direct',
  },
  {
    situation: 'N-CREATE-RSP',
    bytes: commandSet(
      [AFFECTED_CLASS, uid(MPPS)],
      [COMMAND_FIELD, us(0x8140)],
      [RESPONDED_TO, us(8)],
      [DATASET_TYPE, us(NO_DATASET)],
      [STATUS, us(0)],
      [AFFECTED_INSTANCE, uid(INSTANCE)],
    ),
    path: 'direct',
  },
  {
    situation: 'N-DELETE-RQ',
    bytes: commandSet(
      [REQUESTED_CLASS, uid(PRINTER)],
      [COMMAND_FIELD, us(0x0150)],
      [MESSAGE_ID, us(9)],
      [DATASET_TYPE, us(NO_DATASET)],
      [REQUESTED_INSTANCE, uid(PRINTER_INSTANCE)],
    ),
    path: 'direct',
  },
  {
    situation: 'N-DELETE-RSP',
    bytes: commandSet([AFFECTED_CLASS, uid(PRINTER)], [COMMAND_FIELD, us(0x8150)], [RESPONDED_TO, us(9)], [DATASET_TYPE, us(NO_DATASET)], [STATUS, us(0)]),
    path: 'direct',
  },
  {
    situation: 'N-GET-RQ with an Attribute Identifier List of two tags',
    bytes: commandSet(
      [REQUESTED_CLASS, uid(PRINTER)],
      [COMMAND_FIELD, us(0x0110)],
      [MESSAGE_ID, us(10)],
      [DATASET_TYPE, us(NO_DATASET)],
      [REQUESTED_INSTANCE, uid(PRINTER_INSTANCE)],
      [ATTRIBUTE_LIST, at(0x21100010, 0xfffee000)],
    ),
    path: 'direct',
  },
  {
    situation: 'N-GET-RSP',
    bytes: commandSet(
      [AFFECTED_CLASS, uid(PRINTER)],
      [COMMAND_FIELD, us(0x8110)],
      [RESPONDED_TO, us(10)],
      [DATASET_TYPE, us(0)],
      [STATUS, us(0)],
      [AFFECTED_INSTANCE, uid(PRINTER_INSTANCE)],
    ),
    path: 'direct',
  },
  {
    situation: 'N-SET-RQ',
    bytes: commandSet(
      [REQUESTED_CLASS, uid(MPPS)],
      [COMMAND_FIELD, us(0x0120)],
      [MESSAGE_ID, us(11)],
      [DATASET_TYPE, us(0)],
      [REQUESTED_INSTANCE, uid(INSTANCE)],
    ),
    path: 'direct',
  },
  {
    situation: 'N-SET-RSP',
    bytes: commandSet([AFFECTED_CLASS, uid(MPPS)], [COMMAND_FIELD, us(0x8120)], [RESPONDED_TO, us(11)], [DATASET_TYPE, us(NO_DATASET)], [STATUS, us(0)]),
    path: 'direct',
  },
  { situation: 'a multi-valued US (two values)', bytes: commandSet([COMMAND_FIELD, us(0x0030, 0x0001)], [MESSAGE_ID, us(1)]), path: 'direct' },
  { situation: 'an empty UID', bytes: commandSet([AFFECTED_CLASS, Buffer.alloc(0)], [COMMAND_FIELD, us(0x0030)]), path: 'direct' },
  // Unusual command sets: dcmjs decodes them, as before.
  { situation: 'an Error Comment in Latin-1 (non-ASCII)', bytes: cStoreRsp(0xc000, [ERROR_COMMENT, raw('Fehler: ungültig ')]), path: 'dcmjs' },
  { situation: 'an Error Comment with a backslash (multi-valued string)', bytes: cStoreRsp(0xc000, [ERROR_COMMENT, raw('a\\b ')]), path: 'dcmjs' },
  { situation: 'a UID padded with a space', bytes: commandSet([AFFECTED_CLASS, raw('1.2.3 ')], [COMMAND_FIELD, us(0x0030)]), path: 'dcmjs' },
  { situation: 'a UID with letters', bytes: commandSet([AFFECTED_CLASS, raw('1.2.A3')], [COMMAND_FIELD, us(0x0030)]), path: 'dcmjs' },
  { situation: 'a US of odd length', bytes: commandSet([COMMAND_FIELD, raw('\x30\x00\x00')], [MESSAGE_ID, us(1)]), path: 'dcmjs' },
  { situation: 'an empty US', bytes: commandSet([COMMAND_FIELD, Buffer.alloc(0)], [MESSAGE_ID, us(1)]), path: 'dcmjs' },
  { situation: 'an unknown group 0000 tag', bytes: commandSet([COMMAND_FIELD, us(0x0030)], [0x0105, us(1)]), path: 'dcmjs' },
  { situation: 'a command element of a VR not decoded directly (IS)', bytes: commandSet([COMMAND_FIELD, us(0x0030)], [0x5170, text('2')]), path: 'dcmjs' },
  {
    situation: 'an element outside group 0000',
    bytes: Buffer.concat([commandSet([COMMAND_FIELD, us(0x0030)]), Buffer.from([0x08, 0x00, 0x16, 0x00, 0x02, 0x00, 0x00, 0x00, 0x31, 0x00])]),
    path: 'dcmjs',
  },
  { situation: 'elements out of tag order', bytes: commandSet([MESSAGE_ID, us(1)], [COMMAND_FIELD, us(0x0030)]), path: 'dcmjs' },
  { situation: 'a value running past the end', bytes: cStoreRq.subarray(0, cStoreRq.length - 4), path: 'dcmjs' },
  { situation: 'a trailing partial element header', bytes: Buffer.concat([cStoreRq, Buffer.from([0x00, 0x00, 0x00])]), path: 'dcmjs' },
];

describe('Dataset.fromCommandBuffer (patched dcmjs-dimse)', () => {
  beforeAll(() => silenceDcmjs()); // the dcmjs path warns on the console about the malformed cases
  afterEach(() => jest.restoreAllMocks());

  it.each(cases)('$situation: same elements as dcmjs, decoded by the $path path', ({ bytes, path }) => {
    const expected = new Dataset(bytes).getElements();
    const read = jest.spyOn(dcmjs.data.DicomMessage, '_read');

    const decoded = Dataset.fromCommandBuffer(bytes);

    expect(comparable(decoded.getElements())).toStrictEqual(comparable(expected));
    expect(isDeepStrictEqual(decoded.getElements(), expected)).toBe(true);
    expect(Object.keys(decoded.getElements())).toEqual(Object.keys(expected));
    expect(decoded.getTransferSyntaxUid()).toBe('1.2.840.10008.1.2');
    expect(read).toHaveBeenCalledTimes(path === 'dcmjs' ? 1 : 0);
  });

  it('decodes a C-STORE-RQ to the values dcmjs-dimse reads from it', () => {
    expect({ ...Dataset.fromCommandBuffer(cStoreRq).getElements() }).toEqual({
      _vrMap: {},
      CommandGroupLength: cStoreRq.length - 12,
      AffectedSOPClassUID: CT,
      CommandField: 0x0001,
      MessageID: 7,
      Priority: 0,
      CommandDataSetType: 0,
      AffectedSOPInstanceUID: INSTANCE,
    });
  });
});
