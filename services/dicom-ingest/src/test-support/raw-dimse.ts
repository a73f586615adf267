import { pduHeader, type ReceivedPdu } from './raw-association';

/**
 * DIMSE at the byte level (PS3.7 9.3, PS3.8 9.3.5): a C-STORE-RQ command and P-DATA-TF PDUs that
 * carry any bytes as its dataset, so that a test can send datasets no toolkit would encode.
 */

/** One element of a command set: always Implicit VR Little Endian (PS3.7 6.3.1). */
export function commandElement(element: number, value: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt16LE(0x0000, 0);
  header.writeUInt16LE(element, 2);
  header.writeUInt32LE(value.length, 4);
  return Buffer.concat([header, value]);
}

function uid(value: string): Buffer {
  return Buffer.from(value.length % 2 === 0 ? value : `${value}\0`, 'ascii');
}

function us(value: number): Buffer {
  const bytes = Buffer.alloc(2);
  bytes.writeUInt16LE(value, 0);
  return bytes;
}

export function cStoreRq(sopClassUid: string, sopInstanceUid: string, messageId: number): Buffer {
  const elements = Buffer.concat([
    commandElement(0x0002, uid(sopClassUid)), // Affected SOP Class UID
    commandElement(0x0100, us(0x0001)), // Command Field: C-STORE-RQ
    commandElement(0x0110, us(messageId)), // Message ID
    commandElement(0x0700, us(0x0000)), // Priority: medium
    commandElement(0x0800, us(0x0000)), // Command Data Set Type: a dataset follows
    commandElement(0x1000, uid(sopInstanceUid)), // Affected SOP Instance UID
  ]);
  const groupLength = Buffer.alloc(4);
  groupLength.writeUInt32LE(elements.length, 0);
  return Buffer.concat([commandElement(0x0000, groupLength), elements]);
}

/** A request that carries no dataset (N-GET-RQ, N-DELETE-RQ…): its SOP class as Requested SOP Class UID. */
export function requestWithoutDataset(commandField: number, sopClassUid: string, messageId: number): Buffer {
  const elements = Buffer.concat([
    commandElement(0x0003, uid(sopClassUid)), // Requested SOP Class UID
    commandElement(0x0100, us(commandField)),
    commandElement(0x0110, us(messageId)), // Message ID
    commandElement(0x0800, us(0x0101)), // Command Data Set Type: no dataset
  ]);
  const groupLength = Buffer.alloc(4);
  groupLength.writeUInt32LE(elements.length, 0);
  return Buffer.concat([commandElement(0x0000, groupLength), elements]);
}

/** P-DATA-TF PDUs of one PDV each, fragments of at most `fragmentLength` bytes, the last one flagged. */
export function pDataPdus(contextId: number, command: boolean, bytes: Buffer, fragmentLength = 16_000): Buffer {
  const pdus: Buffer[] = [];
  const count = Math.max(1, Math.ceil(bytes.length / fragmentLength));
  for (let index = 0; index < count; index++) {
    const fragment = bytes.subarray(index * fragmentLength, (index + 1) * fragmentLength);
    const pdv = Buffer.alloc(6);
    pdv.writeUInt32BE(fragment.length + 2, 0);
    pdv.writeUInt8(contextId, 4);
    pdv.writeUInt8((command ? 0x01 : 0x00) | (index === count - 1 ? 0x02 : 0x00), 5);
    pdus.push(pduHeader(0x04, 6 + fragment.length), pdv, fragment);
  }
  return Buffer.concat(pdus);
}

/** The Status (0000,0900) of the first command in a P-DATA-TF from the SCP, if there is one. */
export function responseStatus(pdu: ReceivedPdu): number | undefined {
  // PDV: length (4), context id (1), control header (1), then the command's elements.
  const command = pdu.body.subarray(6);
  for (let offset = 0; offset + 8 <= command.length; ) {
    const element = command.readUInt16LE(offset + 2);
    const length = command.readUInt32LE(offset + 4);
    if (command.readUInt16LE(offset) === 0x0000 && element === 0x0900 && length === 2) {
      return command.readUInt16LE(offset + 8);
    }
    offset += 8 + length;
  }
  return undefined;
}
