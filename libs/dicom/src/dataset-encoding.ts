/** How the bytes of a dataset are laid out, derived from its transfer syntax (PS3.5 10, A). */
export interface DatasetEncoding {
  explicitVr: boolean;
  littleEndian: boolean;
  /** The whole dataset is a raw deflate stream (of Explicit VR Little Endian). */
  deflated: boolean;
  /** The transfer syntax of the dataset once inflated: the one its elements are read in. */
  datasetSyntax: string;
}

export const IMPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2';
export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
export const EXPLICIT_VR_BIG_ENDIAN = '1.2.840.10008.1.2.2';
export const DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1.99';

export const IMPLICIT_LITTLE: DatasetEncoding = {
  explicitVr: false,
  littleEndian: true,
  deflated: false,
  datasetSyntax: IMPLICIT_VR_LITTLE_ENDIAN,
};

/** Every other syntax we accept (the encapsulated ones) encodes the dataset as Explicit VR Little Endian. */
export function datasetEncoding(transferSyntaxUid: string): DatasetEncoding {
  switch (transferSyntaxUid) {
    case IMPLICIT_VR_LITTLE_ENDIAN:
      return IMPLICIT_LITTLE;
    case EXPLICIT_VR_BIG_ENDIAN:
      return { explicitVr: true, littleEndian: false, deflated: false, datasetSyntax: EXPLICIT_VR_BIG_ENDIAN };
    case DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN:
      return { explicitVr: true, littleEndian: true, deflated: true, datasetSyntax: EXPLICIT_VR_LITTLE_ENDIAN };
    default:
      return { explicitVr: true, littleEndian: true, deflated: false, datasetSyntax: EXPLICIT_VR_LITTLE_ENDIAN };
  }
}
