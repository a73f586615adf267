import { constants } from 'dcmjs-dimse';

const { SopClass, StorageClass } = constants;

/**
 * Transfer syntaxes we store as they are. We never transcode: the sender's first proposal that is
 * in this list wins, so an instance is kept exactly as the modality encoded it.
 */
export const ACCEPTED_TRANSFER_SYNTAXES: ReadonlySet<string> = new Set([
  '1.2.840.10008.1.2', // Implicit VR Little Endian
  '1.2.840.10008.1.2.1', // Explicit VR Little Endian
  '1.2.840.10008.1.2.2', // Explicit VR Big Endian (retired, still sent by old modalities)
  '1.2.840.10008.1.2.1.99', // Deflated Explicit VR Little Endian
  '1.2.840.10008.1.2.4.50', // JPEG Baseline (Process 1)
  '1.2.840.10008.1.2.4.51', // JPEG Extended (Process 2 & 4)
  '1.2.840.10008.1.2.4.57', // JPEG Lossless, Non-Hierarchical (Process 14)
  '1.2.840.10008.1.2.4.70', // JPEG Lossless, First-Order Prediction (Process 14, SV1)
  '1.2.840.10008.1.2.4.80', // JPEG-LS Lossless
  '1.2.840.10008.1.2.4.81', // JPEG-LS Near-Lossless
  '1.2.840.10008.1.2.4.90', // JPEG 2000 Lossless Only
  '1.2.840.10008.1.2.4.91', // JPEG 2000
  '1.2.840.10008.1.2.5', // RLE Lossless
]);

const NATIVE_TRANSFER_SYNTAXES: ReadonlySet<string> = new Set([
  '1.2.840.10008.1.2',
  '1.2.840.10008.1.2.1',
  '1.2.840.10008.1.2.2',
]);

export const VERIFICATION_SOP_CLASS = SopClass.Verification;

/** Every storage SOP class dcmjs-dimse knows, plus the whole storage branch for classes it does not. */
const KNOWN_STORAGE_CLASSES: ReadonlySet<string> = new Set(Object.values(StorageClass));
const STORAGE_BRANCH = '1.2.840.10008.5.1.4.1.1.';

export function isStorageSopClass(uid: string): boolean {
  return KNOWN_STORAGE_CLASSES.has(uid) || uid.startsWith(STORAGE_BRANCH);
}

export type ContextDecision =
  | { accept: true; transferSyntaxUid: string }
  | { accept: false; reason: 'abstract-syntax-not-supported' | 'transfer-syntaxes-not-supported' };

/**
 * Decides one proposed presentation context: Verification and storage are the only services we
 * offer; for those, the first proposed transfer syntax we store as-is is accepted.
 */
export function decideContext(abstractSyntaxUid: string, proposedTransferSyntaxes: readonly string[]): ContextDecision {
  const verification = abstractSyntaxUid === VERIFICATION_SOP_CLASS;
  if (!verification && !isStorageSopClass(abstractSyntaxUid)) {
    return { accept: false, reason: 'abstract-syntax-not-supported' };
  }
  // Verification carries no dataset: only the native (uncompressed) syntaxes make sense for it.
  const acceptable = verification ? NATIVE_TRANSFER_SYNTAXES : ACCEPTED_TRANSFER_SYNTAXES;
  const chosen = proposedTransferSyntaxes.find((uid) => acceptable.has(uid));
  if (chosen === undefined) {
    return { accept: false, reason: 'transfer-syntaxes-not-supported' };
  }
  return { accept: true, transferSyntaxUid: chosen };
}

/**
 * An AE title as PS3.5 allows it (VR AE): printable ISO 646 without the backslash, which would make
 * the title two values wherever it is written (the stored files' Source Application Entity Title),
 * and not only spaces.
 */
export function isValidAeTitle(aeTitle: string): boolean {
  return /^[\x20-\x5b\x5d-\x7e]{1,16}$/.test(aeTitle) && aeTitle.trim() !== '';
}

/** Called AE titles are compared without their space padding (PS3.8 9.3.2: trailing spaces are not significant). */
export function isOurAeTitle(calledAeTitle: string, ourAeTitle: string): boolean {
  return calledAeTitle.trim() === ourAeTitle.trim();
}
