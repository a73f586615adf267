import type { DicomAttribute, DicomJson } from '@imaging-facade/dicom';
import { runPydicom } from '../../../../test/support/sample-files';

/** One text attribute as pydicom decodes it: where it is (tags and item indices), its VR and values. */
export interface PydicomText {
  path: Array<string | number>;
  vr: string;
  /**
   * Normalised as our DICOM JSON does: PN as non-empty groups, SH/LO/UC trimmed, ST/LT/UT without
   * trailing spaces (a final line break is text, PS3.5 6.2), null for an empty value.
   */
  values: unknown[];
}

const SCRIPT = `
import json, sys, warnings, pydicom
warnings.simplefilter('ignore')
TEXT = {'PN', 'SH', 'LO', 'UC', 'ST', 'LT', 'UT'}
def norm(vr, value):
    if vr == 'PN':
        groups = {}
        for name, text in zip(('Alphabetic', 'Ideographic', 'Phonetic'), value.components):
            text = (text or '').rstrip('^ ')
            if text:
                groups[name] = text
        return groups or None
    text = str(value)
    text = text.strip() if vr in ('SH', 'LO', 'UC') else text.rstrip('\\0 ')
    return text or None
def walk(ds, prefix, out):
    for elem in ds:
        path = prefix + ['%08X' % elem.tag]
        if elem.VR == 'SQ':
            for index, item in enumerate(elem.value):
                walk(item, path + [index], out)
        elif elem.VR in TEXT and elem.value not in (None, ''):
            values = elem.value if isinstance(elem.value, pydicom.multival.MultiValue) else [elem.value]
            out.append({'path': path, 'vr': elem.VR, 'values': [norm(elem.VR, v) for v in values]})
out = {}
for f in sys.argv[1:]:
    texts = []
    walk(pydicom.dcmread(f, stop_before_pixels=True), [], texts)
    out[f] = texts
print(json.dumps(out))
`;

/** Every text attribute of each file, top level and in sequence items, decoded by pydicom. */
export function pydicomTexts(files: readonly string[]): Record<string, PydicomText[]> {
  return runPydicom(SCRIPT, files);
}

/** The attribute at `path` in a DICOM JSON dataset, or undefined. */
export function attributeAt(json: DicomJson, path: ReadonlyArray<string | number>): DicomAttribute | undefined {
  let dataset: DicomJson | undefined = json;
  let attribute: DicomAttribute | undefined;
  for (let index = 0; index < path.length; index++) {
    const step = path[index]!;
    if (typeof step === 'number') {
      const item: unknown = attribute?.Value?.[step];
      dataset = typeof item === 'object' && item !== null ? (item as DicomJson) : undefined;
    } else {
      attribute = dataset?.[step];
    }
    if (dataset === undefined || (typeof step === 'string' && attribute === undefined)) {
      return undefined;
    }
  }
  return attribute;
}
