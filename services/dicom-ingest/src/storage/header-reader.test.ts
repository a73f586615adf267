import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { collectElements, datasetEncoding, FileByteSource, silenceDcmjs } from '@imaging-facade/dicom';
import { decode, readInstanceHeader, type DatasetLocation } from './header-reader';
import { runDcmtk as runTool } from '../../../../test/support/dcmtk';
import { part10Layout, runPydicom, sample as testFile, SYSTEM_PYTHON } from '../../../../test/support/sample-files';
import { rejectionNote } from '../../../../test/support/rejection-notes';

/** What pydicom (an independent reader) sees in each file. */
interface PydicomView {
  study: string;
  series: string;
  sop: string;
  sopClass: string;
  patientName: string | null;
  modality: string | null;
  instanceNumber: number | null;
}

const PYDICOM_VIEW = `
import json, sys, pydicom
out = {}
for f in sys.argv[1:]:
    ds = pydicom.dcmread(f, stop_before_pixels=True)
    pn = ds.get('PatientName')
    num = ds.get('InstanceNumber')
    out[f] = {
        'study': ds.StudyInstanceUID, 'series': ds.SeriesInstanceUID, 'sop': ds.SOPInstanceUID,
        'sopClass': ds.SOPClassUID,
        'patientName': str(pn) if pn not in (None, '') else None,
        'modality': ds.get('Modality') or None,
        'instanceNumber': int(num) if num not in (None, '') else None,
    }
print(json.dumps(out))
`;

const CASES: Array<{ file: string; situation: string }> = [
  { file: 'CT_small.dcm', situation: 'explicit VR little endian CT' },
  { file: 'MR_small_implicit.dcm', situation: 'implicit VR little endian' },
  { file: 'MR_small_bigendian.dcm', situation: 'explicit VR big endian' },
  { file: 'image_dfl.dcm', situation: 'deflated explicit VR little endian' },
  { file: 'JPEG-lossy.dcm', situation: 'JPEG extended (encapsulated pixel data)' },
  { file: 'MR_small_jpeg_ls_lossless.dcm', situation: 'JPEG-LS lossless' },
  { file: 'MR_small_jp2klossless.dcm', situation: 'JPEG 2000 lossless' },
  { file: 'MR_small_RLE.dcm', situation: 'RLE lossless' },
  { file: 'test-SR.dcm', situation: 'structured report with a content tree' },
  { file: 'rtplan.dcm', situation: 'RT plan with nested sequences, implicit VR' },
  { file: 'waveform_ecg.dcm', situation: 'ECG with large waveform data' },
  { file: 'chrRuss.dcm', situation: 'Cyrillic (ISO_IR 144)' },
  { file: 'chrX1.dcm', situation: 'UTF-8 with an ideographic person name' },
];

function locate(file: string, datasetOffset: number, headBytes?: number): DatasetLocation {
  const bytes = readFileSync(file);
  const head = headBytes === undefined ? undefined : bytes.subarray(datasetOffset, datasetOffset + headBytes);
  return { path: file, datasetOffset, fileSize: bytes.length, head };
}

describe('readInstanceHeader', () => {
  beforeAll(() => silenceDcmjs());
  const expected = runPydicom<Record<string, PydicomView>>(
    PYDICOM_VIEW,
    CASES.map(({ file }) => testFile(file)),
  );

  it.each(CASES)('reads the identity and levels of $situation ($file) as pydicom does', async ({ file }) => {
    const source = testFile(file);
    const layout = part10Layout(source);
    const view = expected[source]!;

    const header = await readInstanceHeader(locate(source, layout.datasetOffset), layout.transferSyntaxUid);

    expect(header.decodeWarning).toBeUndefined();
    expect(header.studyInstanceUid).toBe(view.study);
    expect(header.seriesInstanceUid).toBe(view.series);
    expect(header.sopInstanceUid).toBe(view.sop);
    expect(header.sopClassUid).toBe(view.sopClass);
    expect(header.study['0020000D']).toEqual({ vr: 'UI', Value: [view.study] });
    expect(header.series['0020000E']).toEqual({ vr: 'UI', Value: [view.series] });
    expect(header.instance['00080018']).toEqual({ vr: 'UI', Value: [view.sop] });
    const alphabetic = (header.study['00100010']?.Value?.[0] as { Alphabetic?: string } | undefined)?.Alphabetic;
    // pydicom prints the alphabetic group first; the other groups follow after '='.
    expect(alphabetic ?? null).toBe(view.patientName?.split('=')[0]?.replace(/\^+$/, '') || null);
    expect(header.series['00080060']?.Value?.[0] ?? null).toBe(view.modality);
    expect(header.instance['00200013']?.Value?.[0] ?? null).toBe(view.instanceNumber);
  });

  it.each([
    { file: 'CT_small.dcm', headBytes: 7 },
    { file: 'CT_small.dcm', headBytes: 300 },
    { file: 'CT_small.dcm', headBytes: 1_000_000 },
    { file: 'rtplan.dcm', headBytes: 1000 },
    { file: 'MR_small_bigendian.dcm', headBytes: 513 },
  ])('reads the same header of $file when its first $headBytes bytes are already in memory', async ({ file, headBytes }) => {
    const source = testFile(file);
    const layout = part10Layout(source);

    const fromDisk = await readInstanceHeader(locate(source, layout.datasetOffset), layout.transferSyntaxUid);
    const withHead = await readInstanceHeader(locate(source, layout.datasetOffset, headBytes), layout.transferSyntaxUid);

    expect(withHead).toEqual(fromDisk);
  });

  it('keeps a person name as its alphabetic and ideographic groups, decoded to Unicode', async () => {
    const source = testFile('chrX1.dcm');
    const layout = part10Layout(source);

    const header = await readInstanceHeader(locate(source, layout.datasetOffset), layout.transferSyntaxUid);

    expect(header.study['00100010']).toEqual({
      vr: 'PN',
      Value: [{ Alphabetic: 'Wang^XiaoDong', Ideographic: '王^小東' }],
    });
  });

  it('keeps sequences as items and drops nothing but binary values', async () => {
    const source = testFile('test-SR.dcm');
    const layout = part10Layout(source);

    const header = await readInstanceHeader(locate(source, layout.datasetOffset), layout.transferSyntaxUid);

    const title = header.instance['0040A043'];
    expect(title?.vr).toBe('SQ');
    expect(title?.Value?.[0]).toMatchObject({ '00080100': { vr: 'SH' }, '00080104': { vr: 'LO' } });
    const binary = Object.values({ ...header.study, ...header.series, ...header.instance }).filter((attribute) =>
      ['OB', 'OW', 'UN', 'OF', 'OD', 'OL', 'OV'].includes(attribute.vr),
    );
    expect(binary).toEqual([]);
  });

  it('omits the value of an attribute that is present but empty', async () => {
    const source = testFile('CT_small.dcm');
    const layout = part10Layout(source);

    const header = await readInstanceHeader(locate(source, layout.datasetOffset), layout.transferSyntaxUid);

    expect(header.study['00080090']).toEqual({ vr: 'PN' }); // ReferringPhysicianName, empty in the file
  });

  it('decodes ISO 2022 code extensions strictly, without a warning', async () => {
    const source = testFile('chrH32.dcm');
    const layout = part10Layout(source);

    const header = await readInstanceHeader(locate(source, layout.datasetOffset), layout.transferSyntaxUid);

    expect(header.decodeWarning).toBeUndefined();
    expect(header.studyInstanceUid).toMatch(/^[0-9.]+$/);
  });

  it('decodes with the default repertoire and says so when the dataset names a character set nobody knows', () => {
    const element = (tag: number, vr: string, text: string): Buffer => {
      const head = Buffer.alloc(8);
      head.writeUInt16LE(tag >>> 16, 0);
      head.writeUInt16LE(tag & 0xffff, 2);
      head.write(vr, 4, 'latin1');
      head.writeUInt16LE(text.length, 6);
      return Buffer.concat([head, Buffer.from(text, 'latin1')]);
    };
    const elements = Buffer.concat([element(0x00080005, 'CS', 'ISO_IR 999'), element(0x00100010, 'PN', 'Doe^Jane')]);

    const header = decode(elements, '1.2.840.10008.1.2.1', true);

    expect(header.decodeWarning).toMatch(/character set/);
    expect(header.study['00100010']).toEqual({ vr: 'PN', Value: [{ Alphabetic: 'Doe^Jane' }] });
  });

  it.each([
    { file: 'CT_small.dcm', situation: 'an explicit VR' },
    { file: 'MR_small_implicit.dcm', situation: 'an implicit VR' },
    { file: 'image_dfl.dcm', situation: 'a deflated' },
  ])('fails when $situation dataset ends in the middle of its header', async ({ file }) => {
    const source = testFile(file);
    const layout = part10Layout(source);
    const truncated = path.join(await mkdtemp(path.join(tmpdir(), 'header-reader-')), file);
    await writeFile(truncated, (await readFile(source)).subarray(0, layout.datasetOffset + 301));

    await expect(readInstanceHeader(locate(truncated, layout.datasetOffset), layout.transferSyntaxUid)).rejects.toThrow();
  });

  it.each([
    ['pixel data cut short (its length runs past the end)', (bytes: Buffer) => bytes.subarray(0, bytes.length - 100)],
    ['garbage after the last element', (bytes: Buffer) => Buffer.concat([bytes, Buffer.from('GARBAGE!GARBAGE!')])],
    ['half an element header at the end', (bytes: Buffer) => Buffer.concat([bytes, Buffer.from([0xe0, 0x7f, 0x10])])],
  ])('fails on a dataset whose structure breaks after everything it keeps: %s', async (_situation, damage) => {
    const source = testFile('CT_small.dcm');
    const layout = part10Layout(source);
    const damaged = path.join(await mkdtemp(path.join(tmpdir(), 'header-reader-')), 'damaged.dcm');
    await writeFile(damaged, damage(await readFile(source)));

    await expect(readInstanceHeader(locate(damaged, layout.datasetOffset), layout.transferSyntaxUid)).rejects.toThrow();
  });

  it('fails on bytes that are not a dataset', async () => {
    const garbage = path.join(await mkdtemp(path.join(tmpdir(), 'header-reader-')), 'garbage');
    await writeFile(garbage, Buffer.from('this is not DICOM at all, just some text that goes on'.repeat(20)));

    await expect(readInstanceHeader(locate(garbage, 0), '1.2.840.10008.1.2.1')).rejects.toThrow();
  });
});

const GENERATE_RDSR = path.join(__dirname, '..', '..', '..', '..', 'test', 'fixtures', 'generate-rdsr.py');

interface GeneratedReport {
  file: string;
  sopInstanceUid: string;
  dlpTotal?: number;
  totals?: { dap: number };
  activityMBq?: number;
}

async function generateReport(kind: 'ct' | 'projection' | 'nm', dir: string, transferSyntax?: '+ti'): Promise<GeneratedReport> {
  const file = path.join(dir, `${kind}.dcm`);
  const report = JSON.parse(execFileSync(SYSTEM_PYTHON, [GENERATE_RDSR, '--kind', kind, '--out', file, '--events', '4'], { encoding: 'utf8' })) as GeneratedReport;
  if (transferSyntax) {
    const converted = path.join(dir, `${kind}-implicit.dcm`);
    const run = await runTool('dcmconv', [transferSyntax, file, converted]);
    expect(run.code).toBe(0);
    return { ...report, file: converted };
  }
  return report;
}

type Item = Record<string, { vr: string; Value?: unknown[] }>;

/** The NUM value of the first content item with this concept, anywhere in the tree. */
function numericValue(items: readonly Item[], conceptCode: string): unknown {
  for (const item of items) {
    const concept = (item['0040A043']?.Value?.[0] as Item | undefined)?.['00080100']?.Value?.[0];
    if (concept === conceptCode) {
      return ((item['0040A300']?.Value?.[0] as Item | undefined)?.['0040A30A']?.Value?.[0]);
    }
    const found = numericValue((item['0040A730']?.Value ?? []) as Item[], conceptCode);
    if (found !== undefined) {
      return found;
    }
  }
  return undefined;
}

describe('readInstanceHeader of radiation dose reports', () => {
  // Each case first writes a report with pydicom (a Python process): seconds on a busy machine.
  jest.setTimeout(30_000);
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'header-reader-rdsr-'));
  });

  it.each([
    { kind: 'ct' as const, title: '113701', template: '10011', concept: '113813', value: (r: GeneratedReport) => r.dlpTotal },
    { kind: 'projection' as const, title: '113701', template: '10001', concept: '113722', value: (r: GeneratedReport) => r.totals?.dap },
    { kind: 'nm' as const, title: '113500', template: '10021', concept: '113507', value: (r: GeneratedReport) => r.activityMBq },
  ])('carries the content tree of a $kind dose report (TID $template), values by concept', async ({ kind, title, template, concept, value }) => {
    const report = await generateReport(kind, dir);
    const layout = part10Layout(report.file);

    const header = await readInstanceHeader(locate(report.file, layout.datasetOffset), layout.transferSyntaxUid);

    expect(header.sopInstanceUid).toBe(report.sopInstanceUid);
    expect(Object.keys(header.content ?? {}).sort()).toEqual(['0040A043', '0040A504', '0040A730']);
    expect(((header.content?.['0040A043']?.Value?.[0] as Item)['00080100'])?.Value).toEqual([title]);
    expect(((header.content?.['0040A504']?.Value?.[0] as Item)['0040DB00'])?.Value).toEqual([template]);
    expect(Number(numericValue(header.content?.['0040A730']?.Value as Item[], concept))).toBeCloseTo(value(report) ?? NaN, 9);
    expect(header.contentOmitted).toBe(false);
  });

  it('carries the same content from an implicit VR dose report', async () => {
    const explicit = await generateReport('ct', dir);
    const implicit = await generateReport('ct', dir, '+ti');
    const read = async (file: string) => {
      const layout = part10Layout(file);
      return readInstanceHeader(locate(file, layout.datasetOffset), layout.transferSyntaxUid);
    };
    expect((await read(implicit.file)).content).toEqual((await read(explicit.file)).content);
  });

  it.each([
    { file: 'test-SR.dcm', situation: 'a structured report that is not a dose report' },
    { file: 'CT_small.dcm', situation: 'an image' },
  ])('carries no content for $situation', async ({ file }) => {
    const source = testFile(file);
    const layout = part10Layout(source);
    const header = await readInstanceHeader(locate(source, layout.datasetOffset), layout.transferSyntaxUid);
    expect(header.content).toBeUndefined();
  });

  it('leaves out a content tree larger than the limit, and says so, keeping everything else', async () => {
    const report = await generateReport('projection', dir);
    const layout = part10Layout(report.file);
    const { size } = await stat(report.file);
    const omitted: number[] = [];
    const encoding = datasetEncoding(layout.transferSyntaxUid);
    const source = new FileByteSource(report.file, layout.datasetOffset, size);
    const wanted = new Set([0x00080016, 0x00080018, 0x0040a043]);

    const bytes = await collectElements(source, encoding, wanted, {
      forSopClass: () => new Set([0x0040a504, 0x0040a730]),
      maxBytes: 1024,
      omitted: (tag) => omitted.push(tag),
    });
    await source.close();

    expect(omitted).toEqual([0x0040a730]);
    const header = decode(bytes, encoding.datasetSyntax, encoding.littleEndian);
    expect(header.sopInstanceUid).toBe(report.sopInstanceUid);
    expect(Object.keys(header.content ?? {}).sort()).toEqual(['0040A043', '0040A504']);
  });
});

describe('readInstanceHeader of key object selections', () => {
  jest.setTimeout(30_000);
  const CT = '1.2.840.10008.5.1.4.1.1.2';

  it.each([
    ['a rejection note (113001) carries the references it rejects', '113001', true],
    ['a key image selection (113000, "Of Interest") carries none', '113000', false],
  ])('%s', async (_situation, title, carried) => {
    const rejected = ['2.25.3', '2.25.4'].map((sopInstanceUid) => ({ seriesInstanceUid: '2.25.2', sopClassUid: CT, sopInstanceUid }));
    const out = rejectionNote({ studyInstanceUid: '2.25.1', patientId: 'P1' }, '113001', rejected).file;
    if (title !== '113001') {
      // The same document with another title, as pydicom writes it.
      runPydicom(`import sys, pydicom\nds = pydicom.dcmread(sys.argv[1])\nds.ConceptNameCodeSequence[0].CodeValue = '${title}'\nds.save_as(sys.argv[1])\nprint('null')`, [out]);
    }
    const layout = part10Layout(out);
    const header = await readInstanceHeader(locate(out, layout.datasetOffset), layout.transferSyntaxUid);
    const references = ((header.content?.['0040A375']?.Value?.[0] as Item | undefined)?.['00081115']?.Value?.[0] as Item | undefined)?.['00081199']?.Value as Item[] | undefined;
    expect(references?.map((item) => item['00081155']?.Value?.[0])).toEqual(carried ? ['2.25.3', '2.25.4'] : undefined);
    expect(((header.instance['0040A043']?.Value?.[0] as Item)['00080100'])?.Value).toEqual([title]);
  });
});

