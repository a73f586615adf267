import path from 'node:path';

/**
 * Real DICOM files that Debian ships with pydicom (package python3-pydicom): real modalities,
 * real encoders, one file per transfer syntax we must accept.
 */
export const PYDICOM_TEST_FILES = '/usr/lib/python3/dist-packages/pydicom/data/test_files';

export const sample = (name: string): string => path.join(PYDICOM_TEST_FILES, name);

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
  deflated: sample('image_dfl.dcm'),
} as const;
