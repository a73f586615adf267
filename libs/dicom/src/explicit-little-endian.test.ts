import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EXPLICIT_VR_LITTLE_ENDIAN } from './dataset-encoding';
import { MalformedDatasetError } from './element-walker';
import { part10TransferSyntax, toExplicitVrLittleEndian } from './explicit-little-endian';
import { readPart10 } from './part10';
import { readPixelFrames } from './pixel-data';
import { implicitVrCopies, pydicomDifferences } from '../../../test/support/dataset-compare';
import { runPydicom, sample, SAMPLES } from '../../../test/support/sample-files';

const work = mkdtempSync(path.join(tmpdir(), 'facade-explicit-le-'));

/** Files pydicom ships only in explicit VR little endian, written by pydicom in implicit VR: what `storescu -xi` sends. */
const IMPLICIT_COPIES = ['chrH31.dcm', 'chrH32.dcm', 'chrI2.dcm', 'chrJapMulti.dcm', 'chrKoreanMulti.dcm', 'CT_small.dcm'];
const implicitCopy = (name: string): string => path.join(work, `implicit-${name}`);

beforeAll(() => {
  implicitVrCopies(work, IMPLICIT_COPIES.map(sample));
});

/** [what is in it, the stored file]: one per way the rewrite differs from a copy. */
const NATIVE_CASES: ReadonlyArray<readonly [string, () => string]> = [
  ['explicit VR LE with 179 private elements (CT_small)', () => SAMPLES.ctExplicitLittle],
  ['implicit VR: private elements as UN, Pixel Padding Value SS by Pixel Representation (CT_small)', () => implicitCopy('CT_small.dcm')],
  ['implicit VR: Smallest/Largest Image Pixel Value SS (MR_small_implicit)', () => SAMPLES.mrImplicitLittle],
  ['big endian, 16 bits (MR_small_bigendian)', () => SAMPLES.mrExplicitBig],
  ['big endian with group lengths, 8-bit RGB (ExplVR_BigEnd)', () => sample('ExplVR_BigEnd.dcm')],
  ['big endian, 1 bit allocated (liver_expb_1frame)', () => sample('liver_expb_1frame.dcm')],
  ['implicit VR, 32 bits allocated, 15 frames (rtdose)', () => sample('rtdose.dcm')],
  ['big endian, 32 bits allocated, 15 frames (rtdose_expb)', () => sample('rtdose_expb.dcm')],
  ['deflated (image_dfl)', () => SAMPLES.deflated],
  ['implicit VR private sequence of undefined length (priv_SQ)', () => sample('priv_SQ.dcm')],
  ['implicit VR nested private sequences (nested_priv_SQ)', () => sample('nested_priv_SQ.dcm')],
  ['explicit UN holding an implicit VR sequence (UN_sequence)', () => sample('UN_sequence.dcm')],
  ['an item with its own ISO 2022 character set (chrSQEncoding1)', () => sample('chrSQEncoding1.dcm')],
  ['implicit VR, ISO 2022 IR 87 (chrH31)', () => implicitCopy('chrH31.dcm')],
  ['implicit VR, ISO 2022 IR 13 and 87 (chrH32)', () => implicitCopy('chrH32.dcm')],
  ['implicit VR, ISO 2022 IR 149 (chrI2)', () => implicitCopy('chrI2.dcm')],
  ['implicit VR, Japanese multi-valued with private elements (chrJapMulti)', () => implicitCopy('chrJapMulti.dcm')],
  ['implicit VR, Korean multi-valued with private elements (chrKoreanMulti)', () => implicitCopy('chrKoreanMulti.dcm')],
];

/** Each case's stored file converted, and pydicom's differences between the two (one Python run for all). */
const served = new Map<string, string>();
const differences = new Map<string, string[]>();

beforeAll(() => {
  for (const [name, stored] of NATIVE_CASES) {
    const file = path.join(work, `served-${served.size}.dcm`);
    writeFileSync(file, toExplicitVrLittleEndian(readFileSync(stored())));
    served.set(name, file);
  }
  const found = pydicomDifferences(NATIVE_CASES.map(([name, stored]) => ({ stored: stored(), served: served.get(name) as string })));
  NATIVE_CASES.forEach(([name], index) => differences.set(name, found[index] as string[]));
}, 60_000);

describe('a native instance in explicit VR little endian, checked by pydicom against the stored file', () => {
  test.each(NATIVE_CASES.map(([name]) => [name]))('%s: every element and pixel the same, only the syntax changed', (name) => {
    expect(differences.get(name)).toEqual([`transfer syntax: ${EXPLICIT_VR_LITTLE_ENDIAN}`]);
  });
});

interface PydicomView {
  specificCharacterSet: string | string[] | null;
  patientName: string | null;
  paddingVr: string | null;
  padding: number | null;
  privateElements: number;
  firstPixel: number | null;
}

const PYDICOM_VIEW = `
import json, sys, pydicom
out = []
for f in sys.argv[1:]:
    ds = pydicom.dcmread(f)
    padding = ds["PixelPaddingValue"] if "PixelPaddingValue" in ds else None
    out.append({
        "specificCharacterSet": (lambda value: value if value is None or isinstance(value, str) else list(value))(ds.get("SpecificCharacterSet")),
        "patientName": str(ds.PatientName) if "PatientName" in ds else None,
        "paddingVr": padding.VR if padding is not None else None,
        "padding": padding.value if padding is not None else None,
        "privateElements": sum(1 for element in ds if element.tag.is_private),
        "firstPixel": int(ds.pixel_array.flat[0]) if "PixelData" in ds else None,
    })
print(json.dumps(out))
`;

describe('what the conformance review found altered, as pydicom reads the served file', () => {
  const EXPECTED: ReadonlyArray<readonly [string, Partial<PydicomView>]> = [
    ['implicit VR, ISO 2022 IR 87 (chrH31)', { specificCharacterSet: ['', 'ISO 2022 IR 87'], patientName: 'Yamada^Tarou=山田^太郎=やまだ^たろう' }],
    ['implicit VR, Korean multi-valued with private elements (chrKoreanMulti)', { specificCharacterSet: ['', 'ISO 2022 IR 149'], patientName: '김희중', privateElements: 10 }],
    ['implicit VR: private elements as UN, Pixel Padding Value SS by Pixel Representation (CT_small)', { paddingVr: 'SS', padding: -2000, privateElements: 179 }],
    ['big endian, 16 bits (MR_small_bigendian)', { firstPixel: 905 }],
  ];

  test.each(EXPECTED)('%s', (name, expected) => {
    const [view] = runPydicom<PydicomView[]>(PYDICOM_VIEW, [served.get(name) as string]);
    expect(view).toMatchObject(expected);
  });
});

describe('the rewrite itself', () => {
  test('the File Meta Information names explicit VR little endian and keeps the SOP Class and Instance UIDs', async () => {
    const stored = await readPart10(SAMPLES.mrExplicitBig);
    const rewritten = await readPart10(toExplicitVrLittleEndian(readFileSync(SAMPLES.mrExplicitBig)));
    expect(rewritten.transferSyntaxUid).toBe(EXPLICIT_VR_LITTLE_ENDIAN);
    expect([rewritten.meta['00020002'], rewritten.meta['00020003']]).toEqual([stored.meta['00020002'], stored.meta['00020003']]);
  });

  test('big endian frames come out little endian, equal to the same image stored little endian', async () => {
    const [fromBig, fromLittle] = await Promise.all([
      readPixelFrames(toExplicitVrLittleEndian(readFileSync(sample('rtdose_expb.dcm')))),
      readPixelFrames(sample('rtdose.dcm')),
    ]);
    expect(fromBig.frames.length).toBe(15);
    expect(fromBig.frames.map((frame) => Buffer.from(frame).toString('hex'))).toEqual(fromLittle.frames.map((frame) => Buffer.from(frame).toString('hex')));
  });

  test('group lengths are left out: their stored values no longer hold', () => {
    const rewritten = toExplicitVrLittleEndian(readFileSync(sample('ExplVR_BigEnd.dcm')));
    // (0008,0000) UL 4, as written in explicit VR little endian.
    expect(rewritten.includes(Buffer.from([0x08, 0x00, 0x00, 0x00, 0x55, 0x4c, 0x04, 0x00]))).toBe(false);
  });

  test('an explicit VR little endian dataset without group lengths nor sequences is kept byte for byte (chrH31)', async () => {
    const stored = readFileSync(sample('chrH31.dcm'));
    const rewritten = toExplicitVrLittleEndian(stored);
    const dataset = async (bytes: Buffer): Promise<Buffer> => bytes.subarray((await readPart10(bytes)).datasetOffset);
    expect((await dataset(rewritten)).equals(await dataset(stored))).toBe(true);
  });

  test('encapsulated Pixel Data must be decoded by the caller: refused, not written under a native syntax', () => {
    expect(() => toExplicitVrLittleEndian(readFileSync(SAMPLES.mrRle))).toThrow(MalformedDatasetError);
  });

  test('replacements take the place of stored elements, or are added in tag order', async () => {
    const pixels = new Uint8Array(64 * 64 * 2).fill(7);
    const rewritten = toExplicitVrLittleEndian(
      readFileSync(SAMPLES.mrRle),
      new Map([
        ['7FE00010', { vr: 'OW', value: pixels }],
        ['00280006', { vr: 'US', value: 0 }],
      ]),
    );
    const { frames } = await readPixelFrames(rewritten);
    expect(Buffer.from(frames[0] as Uint8Array).equals(Buffer.from(pixels))).toBe(true);
    const { dataset } = await readPart10(rewritten);
    expect(dataset['00280006']).toEqual({ vr: 'US', Value: [0] });
  });

  test('an Extended Offset Table, which describes encapsulated frames only, is left out with them', async () => {
    const withTable = path.join(work, 'extended-offset-table.dcm');
    runPydicom(
      `import json, sys, pydicom
from pydicom.encaps import encapsulate_extended, generate_pixel_data_frame
ds = pydicom.dcmread(sys.argv[1])
frames = list(generate_pixel_data_frame(ds.PixelData, int(ds.NumberOfFrames)))
ds.PixelData, ds.ExtendedOffsetTable, ds.ExtendedOffsetTableLengths = encapsulate_extended(frames)
ds.save_as(sys.argv[2])
print(json.dumps('ExtendedOffsetTable' in pydicom.dcmread(sys.argv[2])))`,
      [sample('SC_rgb_rle_2frame.dcm'), withTable],
    );
    const withBinary = { bulkDataUri: (tagPath: ReadonlyArray<string | number>) => tagPath.join('/') };
    const stored = await readPart10(withTable, withBinary);
    expect(stored.dataset['7FE00001']).toBeDefined();

    const decoded = new Uint8Array(100 * 100 * 3 * 2);
    const rewritten = toExplicitVrLittleEndian(readFileSync(withTable), new Map([['7FE00010', { vr: 'OB', value: decoded }]]));
    const { dataset } = await readPart10(rewritten, withBinary);

    expect([dataset['7FE00001'], dataset['7FE00002']]).toEqual([undefined, undefined]);
    expect(dataset['00280008']).toEqual(stored.dataset['00280008']);
  });

  test('the stored transfer syntax is read from the File Meta Information', () => {
    expect(part10TransferSyntax(readFileSync(SAMPLES.deflated))).toBe('1.2.840.10008.1.2.1.99');
  });

  test('a file that is not Part 10 is refused', () => {
    expect(() => toExplicitVrLittleEndian(Buffer.alloc(200))).toThrow(MalformedDatasetError);
  });
});
