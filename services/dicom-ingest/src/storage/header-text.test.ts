import { readFileSync } from 'node:fs';
import { readPart10, silenceDcmjs, type DicomJson } from '@imaging-facade/dicom';
import { INSTANCE_LEVEL_TAGS, SERIES_LEVEL_TAGS, STUDY_LEVEL_TAGS } from '@imaging-facade/events';
import { decode, readInstanceHeader } from './header-reader';
import { attributeAt, pydicomTexts } from '../test-support/pydicom-text';
import { part10Layout, sample as testFile } from '../../../../test/support/sample-files';

/**
 * Real files of Debian's pydicom, every text attribute compared with what pydicom decodes, including
 * chrSQEncoding.dcm, whose sequence item declares ISO 2022 code extensions of its own.
 */
const CHARSET_FILES = [
  'chrArab.dcm',
  'chrFren.dcm',
  'chrFrenMulti.dcm',
  'chrGerm.dcm',
  'chrGreek.dcm',
  'chrH31.dcm',
  'chrH32.dcm',
  'chrHbrw.dcm',
  'chrI2.dcm',
  'chrJapMulti.dcm',
  'chrJapMultiExplicitIR6.dcm',
  'chrKoreanMulti.dcm',
  'chrRuss.dcm',
  'chrSQEncoding.dcm',
  'chrSQEncoding1.dcm',
  'chrX1.dcm',
  'chrX2.dcm',
];
const OTHER_FILES = [
  'CT_small.dcm',
  'J2K_pixelrep_mismatch.dcm',
  'reportsi.dcm',
  'test-SR.dcm',
  'rtplan.dcm',
  'waveform_ecg.dcm',
  'SC_rgb_small_odd.dcm',
];
const FILES = [...CHARSET_FILES, ...OTHER_FILES];
const LEVEL_TAGS = new Set([...STUDY_LEVEL_TAGS, ...SERIES_LEVEL_TAGS, ...INSTANCE_LEVEL_TAGS]);

/** An element in Explicit VR Little Endian: text (latin1, `ESC` for 0x1B), bytes, or the elements of each item of a sequence. */
function element(tag: string, vr: string, value: string | Uint8Array | Buffer[][]): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16LE(Number.parseInt(tag.slice(0, 4), 16), 0);
  head.writeUInt16LE(Number.parseInt(tag.slice(4), 16), 2);
  if (Array.isArray(value)) {
    // Items and the sequence of undefined length, with their delimiters.
    const item = Buffer.from([0xfe, 0xff, 0x00, 0xe0, 0xff, 0xff, 0xff, 0xff]);
    const itemEnd = Buffer.from([0xfe, 0xff, 0x0d, 0xe0, 0, 0, 0, 0]);
    const items = value.map((elements) => Buffer.concat([item, ...elements, itemEnd]));
    const end = Buffer.from([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0]);
    return Buffer.concat([head, Buffer.from('SQ\0\0', 'latin1'), Buffer.from([0xff, 0xff, 0xff, 0xff]), ...items, end]);
  }
  let bytes = typeof value === 'string' ? Buffer.from(value.replace(/ESC/g, '\x1b'), 'latin1') : Buffer.from(value);
  if (bytes.length % 2 === 1) {
    bytes = Buffer.concat([bytes, Buffer.from(vr === 'UI' ? [0] : [0x20])]);
  }
  const length = Buffer.alloc(2);
  length.writeUInt16LE(bytes.length);
  return Buffer.concat([head, Buffer.from(vr, 'latin1'), length, bytes]);
}

const EXPLICIT_LITTLE = '1.2.840.10008.1.2.1';

async function readWholeFile(file: string): Promise<DicomJson> {
  return (await readPart10(file)).dataset;
}

/** The attributes of `tags` that the dataset holds. */
function pickAttributes(dataset: DicomJson, tags: readonly string[]): DicomJson {
  return Object.fromEntries(tags.flatMap((tag) => (dataset[tag] ? [[tag, dataset[tag]]] : [])));
}

describe('text in DICOM JSON, decoded per Specific Character Set', () => {
  beforeAll(() => silenceDcmjs());
  const expected = pydicomTexts(FILES.map(testFile));

  it.each(FILES)('the header reader gives the study, series and instance text of %s as pydicom reads it', async (file) => {
    const source = testFile(file);
    const layout = part10Layout(source);
    const header = await readInstanceHeader(
      { path: source, datasetOffset: layout.datasetOffset, fileSize: readFileSync(source).length },
      layout.transferSyntaxUid,
    );
    const json: DicomJson = { ...header.study, ...header.series, ...header.instance };

    const wanted = expected[source]!.filter(({ path }) => LEVEL_TAGS.has(path[0] as string));
    for (const text of wanted) {
      expect({ path: text.path, attribute: attributeAt(json, text.path) }).toEqual({
        path: text.path,
        attribute: text.values.some((value) => value !== null) ? { vr: text.vr, Value: text.values } : { vr: text.vr },
      });
    }
  });

  it.each(FILES)('every text attribute of %s, in sequence items too, is decoded as pydicom decodes it', async (file) => {
    const source = testFile(file);
    const dataset = await readWholeFile(source);
    const json = pickAttributes(dataset, Object.keys(dataset).sort());

    const texts = expected[source]!;
    expect(texts.length).toBeGreaterThan(0);
    for (const text of texts) {
      const attribute = attributeAt(json, text.path);
      // A private attribute whose VR the dictionary does not know is binary (UN) to us: not text.
      if (attribute === undefined || attribute.vr === 'UN') {
        expect(text.path.some((step) => typeof step === 'string' && Number.parseInt(step.slice(0, 4), 16) % 2 === 1)).toBe(true);
        continue;
      }
      expect({ path: text.path, attribute }).toEqual({
        path: text.path,
        attribute: text.values.some((value) => value !== null) ? { vr: text.vr, Value: text.values } : { vr: text.vr },
      });
    }
  });

  it('decodes a person name in ISO 2022 IR 13 and IR 87 group by group', async () => {
    const source = testFile('chrH32.dcm');
    const layout = part10Layout(source);
    const header = await readInstanceHeader(
      { path: source, datasetOffset: layout.datasetOffset, fileSize: readFileSync(source).length },
      layout.transferSyntaxUid,
    );

    expect(header.study['00100010']).toEqual({
      vr: 'PN',
      Value: [{ Alphabetic: 'ﾔﾏﾀﾞ^ﾀﾛｳ', Ideographic: '山田^太郎', Phonetic: 'やまだ^たろう' }],
    });
  });

  it('decodes the items of a sequence with the character set of the dataset', async () => {
    const dataset = await readWholeFile(testFile('chrSQEncoding1.dcm'));

    const json = pickAttributes(dataset, ['00321064']);

    expect(attributeAt(json, ['00321064', 0, '00100010'])).toEqual({
      vr: 'PN',
      Value: [{ Alphabetic: 'ﾔﾏﾀﾞ^ﾀﾛｳ', Ideographic: '山田^太郎', Phonetic: 'やまだ^たろう' }],
    });
  });

  it.each<[string, Buffer[], unknown]>([
    [
      'a character set dcmjs does not know (ISO_IR 203, Latin-9)',
      [element('00080005', 'CS', 'ISO_IR 203'), element('00100010', 'PN', Uint8Array.from([0xbc, 0x75, 0x76, 0x72, 0x65]))],
      { Alphabetic: 'Œuvre' },
    ],
    [
      'JIS X 0212 (ISO 2022 IR 159)',
      [element('00080005', 'CS', '\\ISO 2022 IR 159'), element('00100010', 'PN', 'Yamada=ESC$(D0!ESC(B')],
      { Alphabetic: 'Yamada', Ideographic: '丂' },
    ],
    [
      'GB 2312 (ISO 2022 IR 58, K.2)',
      [
        element('00080005', 'CS', '\\ISO 2022 IR 58'),
        element('00100010', 'PN', Buffer.from('Zhang^XiaoDong=\x1b$)A\xd5\xc5^\x1b$)A\xd0\xa1\xb6\xab=', 'latin1')),
      ],
      { Alphabetic: 'Zhang^XiaoDong', Ideographic: '张^小东' },
    ],
  ])('the header reader decodes %s', (_situation, elements, name) => {
    const header = decode(Buffer.concat(elements), EXPLICIT_LITTLE, true);
    expect(header.study['00100010']).toEqual({ vr: 'PN', Value: [name] });
  });

  it('the header reader decodes sequence items, which dcmjs reads as Latin-1, in the dataset’s character set', () => {
    const elements = [
      element('00080005', 'CS', '\\ISO 2022 IR 149'),
      element('00081032', 'SQ', [
        [
          element('00080100', 'SH', 'P1'),
          element('00080102', 'SH', '99KR'),
          element('00080104', 'LO', Buffer.from('\x1b$)C\xc8\xab', 'latin1')),
        ],
      ]),
    ];
    const header = decode(Buffer.concat(elements), EXPLICIT_LITTLE, true);
    expect(attributeAt(header.study, ['00081032', 0, '00080104'])).toEqual({ vr: 'LO', Value: ['홍'] });
  });

  it('decodes the items of a UTF-8 dataset as UTF-8, not as Latin-1', () => {
    const elements = [
      element('00080005', 'CS', 'ISO_IR 192'),
      element('00081032', 'SQ', [[element('00080104', 'LO', Buffer.from('Échographie ', 'utf8'))]]),
    ];

    expect(decode(Buffer.concat(elements), EXPLICIT_LITTLE, true).study['00081032']).toEqual({
      vr: 'SQ',
      Value: [{ '00080104': { vr: 'LO', Value: ['Échographie'] } }],
    });
  });

  it('decodes Latin-1 text of a dataset in ISO_IR 100', () => {
    const elements = [
      element('00080005', 'CS', 'ISO_IR 100'),
      element('00081030', 'LO', 'Scanner'),
      element('00100010', 'PN', Buffer.from('Buc^Jérôme', 'latin1')),
    ];

    const header = decode(Buffer.concat(elements), EXPLICIT_LITTLE, true);
    expect({ '00100010': header.study['00100010'], '00081030': header.study['00081030'] }).toEqual({
      '00100010': { vr: 'PN', Value: [{ Alphabetic: 'Buc^Jérôme' }] },
      '00081030': { vr: 'LO', Value: ['Scanner'] },
    });
  });
});
