import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { data } from 'dcmjs';
import { silenceDcmjs } from './dcmjs-logs';
import { textAt } from './dicom-json';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME, readPart10, writeFileMetaHeader, type FileMeta } from './part10';
import { runPydicom, sample as testFile } from '../../../test/support/sample-files';

/** Where the dataset of a Part 10 file starts, and the UIDs of its meta. */
async function part10Layout(file: string) {
  const { meta, transferSyntaxUid, datasetOffset } = await readPart10(file);
  return {
    transferSyntaxUid,
    sopClassUid: textAt(meta, '00020002') ?? '',
    sopInstanceUid: textAt(meta, '00020003') ?? '',
    datasetOffset,
  };
}

const PYDICOM_META = `
import json, sys, pydicom
out = {}
for f in sys.argv[1:]:
    ds = pydicom.dcmread(f)
    m = ds.file_meta
    out[f] = {
        'preamble': ds.preamble.hex(),
        'version': m.FileMetaInformationVersion.hex(),
        'groupLength': m.FileMetaInformationGroupLength,
        'sopClass': m.MediaStorageSOPClassUID, 'sopInstance': m.MediaStorageSOPInstanceUID,
        'transferSyntax': m.TransferSyntaxUID, 'implementationClass': m.ImplementationClassUID,
        'implementationVersion': m.ImplementationVersionName, 'sourceAe': m.SourceApplicationEntityTitle,
        'datasetSop': ds.SOPInstanceUID,
    }
print(json.dumps(out))
`;

interface PydicomMeta {
  preamble: string;
  version: string;
  groupLength: number;
  sopClass: string;
  sopInstance: string;
  transferSyntax: string;
  implementationClass: string;
  implementationVersion: string;
  sourceAe: string;
  datasetSop: string;
}

/** Odd and even lengths, to cover both paddings; one per kind of transfer syntax. */
const CASES: Array<{ file: string; sourceAeTitle: string }> = [
  { file: 'CT_small.dcm', sourceAeTitle: 'MODALITY1' },
  { file: 'MR_small_implicit.dcm', sourceAeTitle: 'CT' },
  { file: 'MR_small_bigendian.dcm', sourceAeTitle: 'OLD_SCANNER_16CH' },
  { file: 'image_dfl.dcm', sourceAeTitle: 'A' },
  { file: 'JPEG2000.dcm', sourceAeTitle: 'PACS' },
];

describe('writeFileMetaHeader', () => {
  let written: Array<{ file: string; meta: FileMeta; dataset: Buffer }>;

  beforeAll(async () => {
    silenceDcmjs(); // dcmjs complains on the console about ambiguous VRs in implicit VR datasets

    const dir = await mkdtemp(path.join(tmpdir(), 'part10-'));
    written = await Promise.all(
      CASES.map(async ({ file, sourceAeTitle }) => {
        const source = testFile(file);
        const layout = await part10Layout(source);
        const dataset = (await readFile(source)).subarray(layout.datasetOffset);
        const meta: FileMeta = {
          sopClassUid: layout.sopClassUid,
          sopInstanceUid: layout.sopInstanceUid,
          transferSyntaxUid: layout.transferSyntaxUid,
          sourceAeTitle,
        };
        const target = path.join(dir, file);
        await writeFile(target, Buffer.concat([writeFileMetaHeader(meta), dataset]));
        return { file: target, meta, dataset };
      }),
    );
  });

  it('writes a file pydicom reads: preamble, every meta element, and the dataset after it', () => {
    const views = runPydicom<Record<string, PydicomMeta>>(
      PYDICOM_META,
      written.map(({ file }) => file),
    );
    for (const { file, meta } of written) {
      expect(views[file]).toEqual({
        preamble: '00'.repeat(128),
        version: '0001',
        groupLength: expect.any(Number),
        sopClass: meta.sopClassUid,
        sopInstance: meta.sopInstanceUid,
        transferSyntax: meta.transferSyntaxUid,
        implementationClass: IMPLEMENTATION_CLASS_UID,
        implementationVersion: IMPLEMENTATION_VERSION_NAME,
        sourceAe: meta.sourceAeTitle,
        datasetSop: meta.sopInstanceUid,
      });
    }
  });

  it('writes a file dcmjs reads, with the dataset bytes exactly where the group length says', async () => {
    for (const { file, meta, dataset } of written) {
      const bytes = await readFile(file);
      const parsed = data.DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
      expect(parsed.meta['00020002']?.Value).toEqual([meta.sopClassUid]);
      expect(parsed.meta['00020003']?.Value).toEqual([meta.sopInstanceUid]);
      expect(parsed.meta['00020010']?.Value).toEqual([meta.transferSyntaxUid]);
      expect(parsed.meta['00020016']?.Value).toEqual([meta.sourceAeTitle]);
      expect(parsed.dict['00080018']?.Value).toEqual([meta.sopInstanceUid]);
      expect(bytes.subarray((await part10Layout(file)).datasetOffset).equals(dataset)).toBe(true);
    }
  });

  it.each([
    { value: '1.2.3', padded: '1.2.3\0' },
    { value: '1.2.34', padded: '1.2.34' },
  ])('pads the UID "$value" with NUL to an even length', ({ value, padded }) => {
    const header = writeFileMetaHeader({ sopClassUid: value, sopInstanceUid: '1.2', transferSyntaxUid: '1.2.840.10008.1.2', sourceAeTitle: 'X' });
    const index = header.indexOf(Buffer.from([0x02, 0x00, 0x02, 0x00, 0x55, 0x49]));
    expect(header.readUInt16LE(index + 6)).toBe(padded.length);
    expect(header.toString('latin1', index + 8, index + 8 + padded.length)).toBe(padded);
  });
});
