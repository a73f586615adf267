/** C-STORE response statuses we answer with (PS3.4 Table B.2-1). */
export const StoreStatus = {
  Success: 0x0000,
  /** The command's SOP class is not the storage class its presentation context was negotiated for. */
  SopClassNotSupported: 0x0122,
  /** Storage or Kafka unavailable: the sender should try again later. */
  OutOfResources: 0xa700,
  /** The dataset's SOP Class UID is not the one of the command. */
  DataSetDoesNotMatchSopClass: 0xa900,
  /** The dataset cannot be parsed, lacks a valid Study/Series/SOP Instance UID, or is not the command's instance. */
  CannotUnderstand: 0xc000,
} as const;

export type StoreStatusCode = (typeof StoreStatus)[keyof typeof StoreStatus];

export interface StoreResult {
  status: StoreStatusCode;
  /** Sent to the peer as Error Comment (0000,0902, at most 64 characters) and logged. Never patient data. */
  reason?: string;
}

export function statusLabel(status: number): string {
  return `0x${status.toString(16).toUpperCase().padStart(4, '0')}`;
}
