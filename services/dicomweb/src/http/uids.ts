import { badRequest } from './errors';

const UID = /^[0-9]+(\.[0-9]+)*$/;

/** A UID of a path or query: digits and dots, at most 64 characters; anything else (`..`, encoded slashes) is a 400. */
export function checkUid(value: string, name: string): string {
  if (value.length > 64 || !UID.test(value)) {
    throw badRequest(`${name} must be a DICOM UID (digits and dots, at most 64 characters)`);
  }
  return value;
}
