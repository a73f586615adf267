import { constants } from 'dcmjs-dimse';

const { AbortReason } = constants;

/**
 * What a PDU holds, checked before dcmjs-dimse reads it (PduGuard passes whole PDUs on only once
 * they pass). dcmjs-dimse takes what the header checks let through on trust: it renumbers a
 * duplicate presentation context ID past 255 and then throws while writing its answer, it buffers
 * a command message of any size and decodes it on the event loop, and it reads a dataset sent after
 * any command. PS3.8 9.3 and PS3.7 6.3.1 say what a peer may send; anything else is an A-ABORT
 * with reason invalid-PDU-parameter-value.
 */

export interface ContentViolation {
  abortReason: number;
  message: string;
}

const DICOM_APPLICATION_CONTEXT = '1.2.840.10008.3.1.1.1';
/** After the fixed fields of an A-ASSOCIATE-RQ: type, reserved, length, version, reserved, two AE titles, 32 reserved. */
const ASSOCIATE_RQ_ITEMS = 74;
const ITEM = { applicationContext: 0x10, presentationContext: 0x20, userInformation: 0x50 } as const;

const invalid = (message: string): ContentViolation => ({ abortReason: AbortReason.InvalidPduParameter, message });

/** The verdict on an A-ASSOCIATE-RQ's fields and items (PS3.8 9.3.2). */
export function checkAssociateRq(pdu: Buffer): ContentViolation | undefined {
  if (pdu.length < ASSOCIATE_RQ_ITEMS || (pdu.readUInt16BE(6) & 0x0001) === 0) {
    return invalid('A-ASSOCIATE-RQ without protocol version 1');
  }
  const contextIds = new Set<number>();
  let applicationContext: string | undefined;
  for (let offset = ASSOCIATE_RQ_ITEMS; offset < pdu.length; ) {
    if (offset + 4 > pdu.length) {
      return invalid('A-ASSOCIATE-RQ item cut short');
    }
    const type = pdu.readUInt8(offset);
    const length = pdu.readUInt16BE(offset + 2);
    const body = pdu.subarray(offset + 4, offset + 4 + length);
    if (body.length < length) {
      return invalid('A-ASSOCIATE-RQ item longer than the PDU');
    }
    if (type === ITEM.applicationContext) {
      applicationContext = body.toString('latin1').replace(/[\0 ]+$/, '');
    } else if (type === ITEM.presentationContext) {
      const id = body.readUInt8(0);
      // Odd integers between 1 and 255, each proposed once (PS3.8 9.3.2.2).
      if (length < 4 || id % 2 === 0 || contextIds.has(id)) {
        return invalid(length < 4 ? 'presentation context item too short' : `presentation context ID ${id} is ${id % 2 === 0 ? 'even' : 'proposed twice'}`);
      }
      contextIds.add(id);
    }
    offset += 4 + length;
  }
  if (applicationContext !== DICOM_APPLICATION_CONTEXT) {
    return invalid('A-ASSOCIATE-RQ without the DICOM application context');
  }
  if (contextIds.size === 0) {
    return invalid('A-ASSOCIATE-RQ without a presentation context');
  }
  return undefined;
}

/** The largest command set we read: a C-STORE-RQ takes a few hundred bytes; PS3.7 commands have no bulk. */
export const MAX_COMMAND_BYTES = 64 * 1024;
const COMMAND_FIELD = 0x0100;
const COMMAND_DATA_SET_TYPE = 0x0800;
const C_STORE_RQ = 0x0001;
/** CommandDataSetType: no dataset follows (PS3.7 E.1). */
const NO_DATA_SET = 0x0101;
/** The request CommandField values of PS3.7 E.1 (C-STORE, C-GET, C-FIND, C-MOVE, C-ECHO, C-CANCEL, the N- services). */
const REQUESTS: ReadonlySet<number> = new Set([0x0001, 0x0010, 0x0020, 0x0021, 0x0030, 0x0fff, 0x0100, 0x0110, 0x0120, 0x0130, 0x0140, 0x0150]);

type Expecting =
  | { next: 'command' }
  | { next: 'command-fragment'; contextId: number; parts: Buffer[]; size: number }
  | { next: 'dataset-fragment'; contextId: number };

/**
 * The message sequence of one association's P-DATA-TF PDUs (PS3.8 9.3.5, Annex E; PS3.7 6.3.1):
 * each holds at least one PDV; a message is a command, then for a C-STORE-RQ its dataset, each in
 * fragments on one presentation context until the one marked last. We serve C-ECHO and C-STORE
 * only: a dataset after any other command is refused before it is read.
 */
export class MessageSequence {
  private expecting: Expecting = { next: 'command' };

  check(pdu: Buffer): ContentViolation | undefined {
    let offset = 6;
    if (offset >= pdu.length) {
      return invalid('P-DATA-TF without a presentation data value');
    }
    while (offset < pdu.length) {
      if (offset + 6 > pdu.length) {
        return invalid('presentation data value item cut short');
      }
      const length = pdu.readUInt32BE(offset);
      if (length < 2 || offset + 4 + length > pdu.length) {
        return invalid(`presentation data value item of ${length} bytes does not fit its PDU`);
      }
      const violation = this.fragment(pdu.readUInt8(offset + 4), pdu.readUInt8(offset + 5), pdu.subarray(offset + 6, offset + 4 + length));
      if (violation) {
        return violation;
      }
      offset += 4 + length;
    }
    return undefined;
  }

  private fragment(contextId: number, control: number, value: Buffer): ContentViolation | undefined {
    if (control > 0x03) {
      return invalid(`message control header 0x${control.toString(16)}`);
    }
    const isCommand = (control & 0x01) !== 0;
    const isLast = (control & 0x02) !== 0;
    const expecting = this.expecting;
    if (expecting.next === 'command') {
      if (!isCommand) {
        return invalid('a dataset fragment where a command should begin');
      }
      return this.commandFragment({ next: 'command-fragment', contextId, parts: [], size: 0 }, value, isLast);
    }
    if (contextId !== expecting.contextId) {
      return invalid(`a fragment on presentation context ${contextId} within a message on context ${expecting.contextId}`);
    }
    if (expecting.next === 'command-fragment') {
      return isCommand ? this.commandFragment(expecting, value, isLast) : invalid('a dataset fragment before the command ended');
    }
    if (isCommand) {
      return invalid('a command fragment before the dataset ended');
    }
    if (isLast) {
      this.expecting = { next: 'command' };
    }
    return undefined;
  }

  private commandFragment(expecting: Extract<Expecting, { next: 'command-fragment' }>, value: Buffer, isLast: boolean): ContentViolation | undefined {
    expecting.size += value.length;
    if (expecting.size > MAX_COMMAND_BYTES) {
      return invalid(`a command set of more than ${MAX_COMMAND_BYTES} bytes`);
    }
    expecting.parts.push(Buffer.from(value));
    if (!isLast) {
      this.expecting = expecting;
      return undefined;
    }
    const command = commandFields(Buffer.concat(expecting.parts));
    // dcmjs-dimse drops what it cannot dispatch without a word, and the peer waited for an answer
    // until the idle timeout: a command set that is no request of PS3.7 ends the association now.
    if (command.field === undefined || !REQUESTS.has(command.field)) {
      return invalid(
        command.field === undefined
          ? 'a command set without a CommandField'
          : `CommandField 0x${command.field.toString(16).padStart(4, '0')} is ${(command.field & 0x8000) !== 0 ? 'a response: we send no requests' : 'no request of PS3.7'}`,
      );
    }
    if (command.dataSetType === undefined || command.dataSetType === NO_DATA_SET) {
      this.expecting = { next: 'command' };
      return undefined;
    }
    if (command.field !== C_STORE_RQ) {
      return invalid(`a dataset announced after command 0x${(command.field ?? 0).toString(16).padStart(4, '0')}: we serve C-ECHO and C-STORE only`);
    }
    this.expecting = { next: 'dataset-fragment', contextId: expecting.contextId };
    return undefined;
  }
}

/** CommandField and CommandDataSetType of a command set (Implicit VR Little Endian, group 0000); undefined where absent or unreadable. */
export function commandFields(command: Buffer): { field: number | undefined; dataSetType: number | undefined } {
  let field: number | undefined;
  let dataSetType: number | undefined;
  for (let offset = 0; offset + 8 <= command.length; ) {
    const group = command.readUInt16LE(offset);
    const element = command.readUInt16LE(offset + 2);
    const length = command.readUInt32LE(offset + 4);
    if (group !== 0x0000 || offset + 8 + length > command.length) {
      break;
    }
    if (length === 2 && element === COMMAND_FIELD) {
      field = command.readUInt16LE(offset + 8);
    } else if (length === 2 && element === COMMAND_DATA_SET_TYPE) {
      dataSetType = command.readUInt16LE(offset + 8);
    }
    offset += 8 + length;
  }
  return { field, dataSetType };
}
