import { textAt, type DicomJson } from './dicom-json';
import { tagOf } from './dictionary';

/**
 * Diagnostic reports stored as DICOM objects, and when one is validated: signed off by the person
 * accountable for it. A structured report says so with its Verification Flag `VERIFIED` and
 * Completion Flag `COMPLETE` (PS3.3 C.17.2); an encapsulated PDF or CDA report with its
 * Verification Flag alone (it has no completion flag). Other structured documents (dose reports,
 * key object selections, CAD findings, measurements) are not reports a referrer reads.
 */
const STRUCTURED_REPORTS: Readonly<Record<string, string>> = {
  '1.2.840.10008.5.1.4.1.1.88.11': 'Basic Text SR',
  '1.2.840.10008.5.1.4.1.1.88.22': 'Enhanced SR',
  '1.2.840.10008.5.1.4.1.1.88.33': 'Comprehensive SR',
  '1.2.840.10008.5.1.4.1.1.88.34': 'Comprehensive 3D SR',
  '1.2.840.10008.5.1.4.1.1.88.35': 'Extensible SR',
};

const ENCAPSULATED_REPORTS: Readonly<Record<string, string>> = {
  '1.2.840.10008.5.1.4.1.1.104.1': 'Encapsulated PDF',
  '1.2.840.10008.5.1.4.1.1.104.2': 'Encapsulated CDA',
};

const TAG = { CompletionFlag: tagOf('CompletionFlag'), VerificationFlag: tagOf('VerificationFlag') } as const;

/** The report SOP classes: the only instances whose flags are worth reading. */
export const REPORT_SOP_CLASSES: readonly string[] = [...Object.keys(STRUCTURED_REPORTS), ...Object.keys(ENCAPSULATED_REPORTS)];

/** Whether an instance is a validated report, from its SOP class and its attributes (the two flags, at least). */
export function isValidatedReport(sopClassUid: string, attributes: DicomJson | undefined): boolean {
  const verified = textAt(attributes, TAG.VerificationFlag) === 'VERIFIED';
  if (Object.hasOwn(STRUCTURED_REPORTS, sopClassUid)) {
    return verified && textAt(attributes, TAG.CompletionFlag) === 'COMPLETE';
  }
  return verified && Object.hasOwn(ENCAPSULATED_REPORTS, sopClassUid);
}
