import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readInstanceHeader, type DatasetLocation } from './header-reader';
import { silenceDcmjs } from './library-logs';
import { part10Layout, runPydicom, testFile } from './test-support/sample-files';

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
  // dcmjs warns on the console about the ISO 2022 case; the service routes or silences it.
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

  it('decodes with the first character set and says so when the dataset uses ISO 2022 code extensions', async () => {
    const source = testFile('chrH32.dcm');
    const layout = part10Layout(source);

    const header = await readInstanceHeader(locate(source, layout.datasetOffset), layout.transferSyntaxUid);

    expect(header.decodeWarning).toMatch(/character set/);
    expect(header.studyInstanceUid).toMatch(/^[0-9.]+$/);
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

  it('fails on bytes that are not a dataset', async () => {
    const garbage = path.join(await mkdtemp(path.join(tmpdir(), 'header-reader-')), 'garbage');
    await writeFile(garbage, Buffer.from('this is not DICOM at all, just some text that goes on'.repeat(20)));

    await expect(readInstanceHeader(locate(garbage, 0), '1.2.840.10008.1.2.1')).rejects.toThrow();
  });
});
