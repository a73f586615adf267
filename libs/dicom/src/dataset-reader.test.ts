import { readFile } from 'node:fs/promises';
import { datasetEncoding, EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN } from './dataset-encoding';
import { readDataset } from './dataset-reader';
import { TruncatedDatasetError } from './byte-source';
import { readPart10 } from './part10';
import { runPydicom as pydicom, sample as pydicomFile } from '../../../test/support/sample-files';

/** An element in Explicit VR Little Endian (short VRs), or a long-form one for UN/OB/SQ. */
function element(tag: string, vr: string, value: Buffer | string): Buffer {
  let bytes = typeof value === 'string' ? Buffer.from(value, 'latin1') : value;
  if (bytes.length % 2 === 1) {
    bytes = Buffer.concat([bytes, Buffer.from([vr === 'UI' ? 0 : 0x20])]);
  }
  const long = ['OB', 'OW', 'SQ', 'UN', 'UT', 'UC', 'UR'].includes(vr);
  const head = Buffer.alloc(long ? 12 : 8);
  head.writeUInt16LE(Number.parseInt(tag.slice(0, 4), 16), 0);
  head.writeUInt16LE(Number.parseInt(tag.slice(4), 16), 2);
  head.write(vr, 4, 'latin1');
  if (long) {
    head.writeUInt32LE(bytes.length, 8);
  } else {
    head.writeUInt16LE(bytes.length, 6);
  }
  return Buffer.concat([head, bytes]);
}

const explicitLittle = datasetEncoding(EXPLICIT_VR_LITTLE_ENDIAN);

describe('readPart10 of real files, compared with pydicom', () => {
  it('decodes a sequence item in the character set the item declares (chrSQEncoding.dcm)', async () => {
    const file = pydicomFile('chrSQEncoding.dcm');
    const expected = pydicom<{ name: string; requesting: string }>(
      `
import json, sys, pydicom
ds = pydicom.dcmread(sys.argv[1])
print(json.dumps({'name': str(ds.RequestedProcedureCodeSequence[0].PatientName), 'requesting': str(ds.RequestingPhysician)}))
`,
      [file],
    );

    const { dataset, warnings } = await readPart10(file);

    const [alphabetic, ideographic, phonetic] = expected.name.split('=');
    expect(dataset['00321064']?.Value?.[0]).toMatchObject({
      '00100010': { vr: 'PN', Value: [{ Alphabetic: alphabetic, Ideographic: ideographic, Phonetic: phonetic }] },
    });
    expect(dataset['00321032']).toEqual({ vr: 'PN', Value: [{ Alphabetic: expected.requesting }] });
    expect(warnings).toEqual([]);
  });

  it('reads an implicit VR file with the dictionary’s VRs: numbers as numbers, names as groups', async () => {
    const file = pydicomFile('MR_small_implicit.dcm');
    const expected = pydicom<{ position: number[]; rows: number; series: number; name: string }>(
      `
import json, sys, pydicom
ds = pydicom.dcmread(sys.argv[1], stop_before_pixels=True)
print(json.dumps({'position': [float(v) for v in ds.ImagePositionPatient], 'rows': ds.Rows, 'series': int(ds.SeriesNumber), 'name': str(ds.PatientName)}))
`,
      [file],
    );

    const { dataset, transferSyntaxUid } = await readPart10(file);

    expect(transferSyntaxUid).toBe(IMPLICIT_VR_LITTLE_ENDIAN);
    expect(dataset['00200032']).toEqual({ vr: 'DS', Value: expected.position });
    expect(dataset['00280010']).toEqual({ vr: 'US', Value: [expected.rows] });
    expect(dataset['00200011']).toEqual({ vr: 'IS', Value: [expected.series] });
    expect(dataset['00100010']).toEqual({ vr: 'PN', Value: [{ Alphabetic: expected.name }] });
  });

  it('reads a deflated file once inflated', async () => {
    const file = pydicomFile('image_dfl.dcm');
    const expected = pydicom<{ modality: string; sop: string }>(
      `
import json, sys, pydicom
ds = pydicom.dcmread(sys.argv[1], stop_before_pixels=True)
print(json.dumps({'modality': ds.Modality, 'sop': ds.SOPInstanceUID}))
`,
      [file],
    );

    const { dataset } = await readPart10(file);

    expect(dataset['00080060']).toEqual({ vr: 'CS', Value: [expected.modality] });
    expect(dataset['00080018']).toEqual({ vr: 'UI', Value: [expected.sop] });
  });
});

describe('group lengths', () => {
  it('are left out of the DICOM JSON (PS3.18 F.2.2), and what follows them is read (ExplVR_BigEnd)', async () => {
    const file = pydicomFile('ExplVR_BigEnd.dcm');
    const { dataset } = await readPart10(file, { bulkDataUri: (path) => path.join('/') });
    const tags = (json: object): string[] => Object.entries(json).flatMap(([tag, attribute]) => [tag, ...((attribute as { Value?: unknown[] }).Value ?? []).flatMap((item) => (item && typeof item === 'object' && !('Alphabetic' in item) ? tags(item) : []))]);
    expect(tags(dataset).filter((tag) => tag.endsWith('0000'))).toEqual([]);
    expect(dataset['00080060']).toEqual({ vr: 'CS', Value: ['US'] });
  });
});

describe('binary values', () => {
  it('are left out unless the caller names their BulkDataURI', async () => {
    const bytes = await readFile(pydicomFile('CT_small.dcm'));

    const without = await readPart10(bytes);
    const withUris = await readPart10(bytes, { bulkDataUri: (path) => `bulk/${path.join('/')}` });

    expect(without.dataset['7FE00010']).toBeUndefined();
    expect(withUris.dataset['7FE00010']).toEqual({ vr: 'OW', BulkDataURI: 'bulk/7FE00010' });
  });

  it('skips encapsulated pixel data fragment by fragment', async () => {
    const { dataset } = await readPart10(pydicomFile('JPEG2000.dcm'), { bulkDataUri: (path) => path.join('/') });
    expect(dataset['7FE00010']).toEqual({ vr: 'OB', BulkDataURI: '7FE00010' });
  });
});

describe('readDataset', () => {
  it('reads an explicit UN of a standard attribute as the dictionary’s VR', () => {
    const bytes = element('00100010', 'UN', 'Doe^Jane');
    expect(readDataset(bytes, explicitLittle).dataset).toEqual({ '00100010': { vr: 'PN', Value: [{ Alphabetic: 'Doe^Jane' }] } });
  });

  it.each<[string, Buffer, unknown]>([
    ['AT as tags', element('00209165', 'AT', Buffer.from([0x20, 0x00, 0x32, 0x00])), { vr: 'AT', Value: ['00200032'] }],
    ['empty values as null', element('00080008', 'CS', 'ORIGINAL\\\\PRIMARY'), { vr: 'CS', Value: ['ORIGINAL', null, 'PRIMARY'] }],
    ['a DS that is not a number as null', element('00181050', 'DS', '0.5\\abc'), { vr: 'DS', Value: [0.5, null] }],
    ['a DS with a decimal comma as null, never 10 times the value', element('00280030', 'DS', '0,5\\0,5'), { vr: 'DS' }],
    ['an IS with stray characters as null, never its digits', element('00181151', 'IS', '12abc'), { vr: 'IS' }],
    ['DS in every standard form, padding ignored', element('00181050', 'DS', ' +1.5e2\\-.25\\7.\\0.8000 '), { vr: 'DS', Value: [150, -0.25, 7, 0.8] }],
    ['a UT keeps its final line break (only trailing spaces are padding)', element('00404001', 'UT', 'A\r\nB\r\n  '), { vr: 'UT', Value: ['A\r\nB\r\n'] }],
    ['UIDs without padding', element('0020000D', 'UI', '1.2.3'), { vr: 'UI', Value: ['1.2.3'] }],
    ['an invalid UID exactly as sent, never cleaned (1.2.3A4 is not 1.2.34)', element('00080018', 'UI', '1.2.3A4'), { vr: 'UI', Value: ['1.2.3A4'] }],
    ['a UID padded with a space without its padding', element('0020000E', 'UI', Buffer.from('1.2.34 ', 'latin1')), { vr: 'UI', Value: ['1.2.34'] }],
    ['an attribute without value as its VR alone', element('00080090', 'PN', ''), { vr: 'PN' }],
  ])('gives %s', (_situation, bytes, attribute) => {
    const { dataset } = readDataset(bytes, explicitLittle);
    expect(Object.values(dataset)).toEqual([attribute]);
  });

  it('names an unknown character set in its warnings and reads the text with the default repertoire', () => {
    const bytes = Buffer.concat([element('00080005', 'CS', 'ISO_IR 999'), element('00100010', 'PN', 'Doe')]);
    const { dataset, warnings } = readDataset(bytes, explicitLittle);
    expect(warnings).toEqual([expect.stringMatching(/ISO_IR 999/)]);
    expect(dataset['00100010']).toEqual({ vr: 'PN', Value: [{ Alphabetic: 'Doe' }] });
  });

  it('fails on a dataset that ends in the middle of an element', () => {
    const bytes = element('00100010', 'PN', 'Doe^Jane').subarray(0, 12);
    expect(() => readDataset(bytes, explicitLittle)).toThrow(TruncatedDatasetError);
  });
});
