import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Real DICOM files that Debian ships with pydicom (package python3-pydicom): real modalities, real
 * encoders, one file per transfer syntax we must accept, and the character set samples; and
 * pydicom itself, the independent reader our decoding is checked against. The one home of these
 * helpers for every package's tests.
 */
export const PYDICOM_TEST_FILES = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
export const PYDICOM_CHARSET_FILES = '/usr/lib/python3/dist-packages/pydicom/data/charset_files';
/** Debian's interpreter, which has pydicom; the first python3 in PATH (pyenv's) may not. */
export const SYSTEM_PYTHON = '/usr/bin/python3';

/** A pydicom sample by name: `chr*` files are the character set samples. */
export const sample = (name: string): string => path.join(name.startsWith('chr') ? PYDICOM_CHARSET_FILES : PYDICOM_TEST_FILES, name);

export const SAMPLES = {
  ctExplicitLittle: sample('CT_small.dcm'),
  mrExplicitLittle: sample('MR_small.dcm'),
  mrImplicitLittle: sample('MR_small_implicit.dcm'),
  mrExplicitBig: sample('MR_small_bigendian.dcm'),
  mrRle: sample('MR_small_RLE.dcm'),
  mrJpegLs: sample('MR_small_jpeg_ls_lossless.dcm'),
  mrJpeg2000Lossless: sample('MR_small_jp2klossless.dcm'),
  jpegExtended: sample('JPGExtended.dcm'),
  jpegBaseline: sample('SC_rgb_jpeg_dcmtk.dcm'),
  /** The colour bars of `jpegBaseline`, losslessly (RLE): what its lossy JPEG approximates. */
  rgbRle: sample('SC_rgb_rle.dcm'),
  deflated: sample('image_dfl.dcm'),
} as const;

export interface Part10Layout {
  transferSyntaxUid: string;
  sopClassUid: string;
  sopInstanceUid: string;
  /** Offset of the dataset, right after the file meta information. */
  datasetOffset: number;
}

/** Finds the dataset of a Part 10 file by its (0002,0000) group length and reads a few meta values. */
export function part10Layout(file: string): Part10Layout {
  const bytes = readFileSync(file);
  if (bytes.toString('latin1', 128, 132) !== 'DICM' || bytes.readUInt16LE(132) !== 0x0002 || bytes.readUInt16LE(134) !== 0) {
    throw new Error(`${file} has no file meta group length`);
  }
  const datasetOffset = 144 + bytes.readUInt32LE(140);
  const meta = new Map<number, string>();
  let offset = 144;
  while (offset < datasetOffset) {
    const element = bytes.readUInt16LE(offset + 2);
    const vr = bytes.toString('latin1', offset + 4, offset + 6);
    const long = ['OB', 'OW', 'UN', 'SQ', 'UT'].includes(vr);
    const length = long ? bytes.readUInt32LE(offset + 8) : bytes.readUInt16LE(offset + 6);
    const start = offset + (long ? 12 : 8);
    meta.set(element, bytes.toString('latin1', start, start + length).replace(/[\0 ]+$/, ''));
    offset = start + length;
  }
  return {
    transferSyntaxUid: meta.get(0x0010) ?? '',
    sopClassUid: meta.get(0x0002) ?? '',
    sopInstanceUid: meta.get(0x0003) ?? '',
    datasetOffset,
  };
}

/** Runs a Python snippet with pydicom available; `files` arrive as sys.argv[1:]; it prints JSON. */
export function runPydicom<T>(script: string, files: readonly string[]): T {
  return JSON.parse(execFileSync(SYSTEM_PYTHON, ['-c', script, ...files], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 })) as T;
}
