import type { DicomJson } from './dicom-json';
import { rejectionNoteOf } from './rejection-notes';
import { KEY_OBJECT_SELECTION_SOP_CLASS } from './sop-classes';

const STUDY = '2.25.1';
const code = (value: string, scheme = 'DCM'): DicomJson => ({
  '0040A043': { vr: 'SQ', Value: [{ '00080100': { vr: 'SH', Value: [value] }, '00080102': { vr: 'SH', Value: [scheme] } }] },
});
const evidence = (...studies: Array<[string, Array<[string, string[]]>]>): DicomJson => ({
  '0040A375': {
    vr: 'SQ',
    Value: studies.map(([study, series]) => ({
      '0020000D': { vr: 'UI', Value: [study] },
      '00081115': {
        vr: 'SQ',
        Value: series.map(([uid, sops]) => ({
          '0020000E': { vr: 'UI', Value: [uid] },
          '00081199': { vr: 'SQ', Value: sops.map((sop) => ({ '00081155': { vr: 'UI', Value: [sop] } })) },
        })),
      },
    })),
  },
});
const references = evidence([STUDY, [['2.25.2', ['2.25.3', '2.25.4']], ['2.25.5', ['2.25.6']]]], ['2.25.9', [['2.25.10', ['2.25.11']]]]);

test.each<[string, string, DicomJson, DicomJson | undefined, ReturnType<typeof rejectionNoteOf>]>([
  ['rejected for quality reasons: every instance of this study it references', KEY_OBJECT_SELECTION_SOP_CLASS, code('113001'), references, { reason: '113001', rejected: ['2.25.3', '2.25.4', '2.25.6'] }],
  ['for patient safety reasons', KEY_OBJECT_SELECTION_SOP_CLASS, code('113037'), references, { reason: '113037', rejected: ['2.25.3', '2.25.4', '2.25.6'] }],
  ['an incorrect worklist entry', KEY_OBJECT_SELECTION_SOP_CLASS, code('113038'), references, { reason: '113038', rejected: ['2.25.3', '2.25.4', '2.25.6'] }],
  ['the retention period expired', KEY_OBJECT_SELECTION_SOP_CLASS, code('113039'), references, { reason: '113039', rejected: ['2.25.3', '2.25.4', '2.25.6'] }],
  ['a note without evidence: nothing rejected', KEY_OBJECT_SELECTION_SOP_CLASS, code('113001'), undefined, { reason: '113001', rejected: [] }],
  ['key images ("Of Interest", 113000): not a rejection', KEY_OBJECT_SELECTION_SOP_CLASS, code('113000'), references, undefined],
  ['the node\'s manifest ("Manifest", 113030): not a rejection', KEY_OBJECT_SELECTION_SOP_CLASS, code('113030'), references, undefined],
  ['a rejection code of another scheme', KEY_OBJECT_SELECTION_SOP_CLASS, code('113001', '99LOCAL'), references, undefined],
  ['a title-less selection', KEY_OBJECT_SELECTION_SOP_CLASS, {}, references, undefined],
  ['another SOP class with that title (a comprehensive SR)', '1.2.840.10008.5.1.4.1.1.88.33', code('113001'), references, undefined],
])('%s', (_situation, sopClassUid, attributes, content, expected) => {
  expect(rejectionNoteOf(STUDY, sopClassUid, attributes, content)).toEqual(expected);
});
