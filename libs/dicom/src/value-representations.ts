/** What the VRs of PS3.5 6.2 mean for reading and writing. */

/**
 * Explicit VRs with a 2-byte length field (PS3.5 7.1.2). All others (OB, SQ, UN, UT, ...) have 2
 * reserved bytes and a 4-byte length.
 */
export const SHORT_LENGTH_VRS: ReadonlySet<string> = new Set(
  'AE AS AT CS DA DS DT FD FL IS LO LT PN SH SL SS ST TM UI UL US'.split(' '),
);

/** Bulk data: bytes, not values. DICOM JSON gives them as InlineBinary or BulkDataURI, the events leave them out. */
export const BINARY_VRS: ReadonlySet<string> = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);

/** Binary numbers: VR → bytes per value. */
export const BINARY_NUMBER_VRS: Readonly<Record<string, number>> = {
  US: 2,
  SS: 2,
  UL: 4,
  SL: 4,
  FL: 4,
  FD: 8,
  SV: 8,
  UV: 8,
};

/** Numbers written as text: in DICOM JSON their values are JSON numbers (PS3.18 F.2.3). */
export const NUMBER_STRING_VRS: ReadonlySet<string> = new Set(['IS', 'DS']);
