import { dicomUidSchema } from '@imaging-facade/dicom';
import type { InstanceHeader } from './header-reader';
import { StoreStatus, type StoreResult } from '../dimse/store-status';

export interface InstanceIdentity {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  sopClassUid: string;
}

/** What the C-STORE command said the dataset is. */
export interface CommandIdentity {
  sopClassUid: string;
  sopInstanceUid: string;
}

/**
 * Checks that the dataset identifies itself fully and is the instance the command announced; the
 * UIDs become path segments and event keys, so they must be real UIDs.
 */
export function checkIdentity(
  header: InstanceHeader,
  command: CommandIdentity,
): { ok: true; identity: InstanceIdentity } | { ok: false; failure: StoreResult } {
  const { studyInstanceUid, seriesInstanceUid, sopInstanceUid, sopClassUid } = header;
  if (!isUid(studyInstanceUid)) {
    return refuse(StoreStatus.CannotUnderstand, problem('Study Instance UID', studyInstanceUid));
  }
  if (!isUid(seriesInstanceUid)) {
    return refuse(StoreStatus.CannotUnderstand, problem('Series Instance UID', seriesInstanceUid));
  }
  if (!isUid(sopInstanceUid)) {
    return refuse(StoreStatus.CannotUnderstand, problem('SOP Instance UID', sopInstanceUid));
  }
  if (!isUid(sopClassUid)) {
    return refuse(StoreStatus.CannotUnderstand, problem('SOP Class UID', sopClassUid));
  }
  if (sopClassUid !== command.sopClassUid) {
    return refuse(StoreStatus.DataSetDoesNotMatchSopClass, 'SOP Class UID differs from the command');
  }
  if (sopInstanceUid !== command.sopInstanceUid) {
    return refuse(StoreStatus.CannotUnderstand, 'SOP Instance UID differs from the command');
  }
  return { ok: true, identity: { studyInstanceUid, seriesInstanceUid, sopInstanceUid, sopClassUid } };
}

function isUid(value: string | undefined): value is string {
  return value !== undefined && dicomUidSchema.safeParse(value).success;
}

function problem(name: string, value: string | undefined): string {
  return value === undefined || value.length === 0 ? `${name} missing` : `${name} is not a valid UID`;
}

function refuse(status: StoreResult['status'], reason: string): { ok: false; failure: StoreResult } {
  return { ok: false, failure: { status, reason } };
}
