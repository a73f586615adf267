import { textAt, type DicomJson } from './dicom-json';
import { tagsOf } from './dictionary';

/** A coded entry (Code Sequence Macro, PS3.3 8.8): the scheme and code as DICOM writes them. */
export interface DicomCode {
  scheme: string;
  code: string;
  meaning?: string;
}

const TAG = tagsOf(['CodeValue', 'LongCodeValue', 'URNCodeValue', 'CodingSchemeDesignator', 'CodeMeaning']);

/** The coded entry of a code sequence item: Code Value or Long Code Value with its scheme, or a URN Code Value (scheme "URN"). */
export function codeOf(item: DicomJson | undefined): DicomCode | undefined {
  const code = textAt(item, TAG.CodeValue) ?? textAt(item, TAG.LongCodeValue);
  const scheme = textAt(item, TAG.CodingSchemeDesignator);
  const meaning = textAt(item, TAG.CodeMeaning);
  if (code !== undefined && scheme !== undefined) {
    return { scheme, code, ...(meaning ? { meaning } : {}) };
  }
  const urn = textAt(item, TAG.URNCodeValue);
  return urn ? { scheme: 'URN', code: urn, ...(meaning ? { meaning } : {}) } : undefined;
}
