import { firstItemAt, itemsAt, textAt, type DicomJson } from './dicom-json';
import { tagOf } from './dictionary';
import { KEY_OBJECT_SELECTION_SOP_CLASS } from './sop-classes';

/**
 * IHE IOCM rejection notes: a Key Object Selection document whose title says why the instances it
 * references are rejected (PS3.16 CID 7011). An image manager hides those instances from queries
 * and retrieves, and the note itself with them.
 */
export const REJECTION_REASONS: Readonly<Record<string, string>> = {
  '113001': 'Rejected for Quality Reasons',
  '113037': 'Rejected for Patient Safety Reasons',
  '113038': 'Incorrect Modality Worklist Entry',
  '113039': 'Data Retention Policy Expired',
};

/** What a rejection note says, within its own study. */
export interface RejectionNote {
  /** The code of the note's title (REJECTION_REASONS). */
  reason: string;
  /** SOP Instance UIDs referenced for this study in the note's evidence. */
  rejected: string[];
}

const TAG = {
  ConceptNameCodeSequence: tagOf('ConceptNameCodeSequence'),
  CodeValue: tagOf('CodeValue'),
  CodingSchemeDesignator: tagOf('CodingSchemeDesignator'),
  Evidence: tagOf('CurrentRequestedProcedureEvidenceSequence'),
  StudyInstanceUID: tagOf('StudyInstanceUID'),
  ReferencedSeriesSequence: tagOf('ReferencedSeriesSequence'),
  ReferencedSOPSequence: tagOf('ReferencedSOPSequence'),
  ReferencedSOPInstanceUID: tagOf('ReferencedSOPInstanceUID'),
} as const;

/**
 * The rejection `attributes` (with the title) and `content` (with the evidence) describe, for the
 * study `studyInstanceUid`; undefined for any other object, a key object selection with another
 * title included. A note's references to other studies are theirs (not read here).
 */
export function rejectionNoteOf(
  studyInstanceUid: string,
  sopClassUid: string,
  attributes: DicomJson | undefined,
  content: DicomJson | undefined,
): RejectionNote | undefined {
  if (sopClassUid !== KEY_OBJECT_SELECTION_SOP_CLASS) {
    return undefined;
  }
  const title = firstItemAt(attributes, TAG.ConceptNameCodeSequence);
  const reason = textAt(title, TAG.CodeValue);
  if (reason === undefined || !Object.hasOwn(REJECTION_REASONS, reason) || textAt(title, TAG.CodingSchemeDesignator) !== 'DCM') {
    return undefined;
  }
  const rejected = itemsAt(content, TAG.Evidence)
    .filter((study) => textAt(study, TAG.StudyInstanceUID) === studyInstanceUid)
    .flatMap((study) => itemsAt(study, TAG.ReferencedSeriesSequence))
    .flatMap((series) => itemsAt(series, TAG.ReferencedSOPSequence))
    .map((sop) => textAt(sop, TAG.ReferencedSOPInstanceUID))
    .filter((uid): uid is string => uid !== undefined);
  return { reason, rejected };
}
