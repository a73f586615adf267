/**
 * The SR value type a Key Object Selection document uses to reference an instance (TID 2010 rows
 * 5–7): IMAGE for image storage SOP classes, WAVEFORM for waveforms, COMPOSITE for every other
 * object (reports, presentation states, encapsulated documents, RT objects, private classes…).
 * Readers such as DCMTK check that an IMAGE reference names an image SOP class.
 */
export type ReferenceValueType = 'IMAGE' | 'WAVEFORM' | 'COMPOSITE';

const STORAGE_ROOT = '1.2.840.10008.5.1.4.1.1.';

/** Standard storage SOP classes (PS3.4 B.5) under STORAGE_ROOT whose IODs are not images, by family. */
const NON_IMAGE_FAMILIES: ReadonlyArray<string> = [
  '4.2', // MR Spectroscopy
  '11.', // presentation states
  '66', // raw data, spatial registration and fiducials, deformable registration (66.4 segmentation is an image)
  '66.1',
  '66.2',
  '66.3',
  '66.5', // surface segmentation
  '66.6', // tractography results
  '67', // real world value mapping
  '68.', // surface scans
  '77.1.5.3', // stereometric relationship
  '77.1.5.8', // OCT B-scan volume analysis
  '78.', // ophthalmic measurements and lens prescriptions
  '79.', // macular grid report
  '80.', // visual field perimetry
  '88.', // structured reports, key object selections, dose reports
  '90.', // content assessment results
  '91.', // microscopy annotations
  '104.', // encapsulated PDF, CDA, STL, OBJ, MTL
  '131', // basic structured display
  '200.', // procedure protocols
  '501.3', // DICOS threat detection report
  '501.6', // DICOS quadrupole resonance
];

/**
 * RT objects: only RT Image (481.1) is referenced as an image. RT Dose may hold pixel data but
 * readers such as DCMTK do not count it among the image SOP classes, so it is COMPOSITE.
 */
const RT_ROOT = '481.';
const RT_IMAGES: ReadonlySet<string> = new Set(['481.1']);

export function referenceValueType(sopClassUid: string): ReferenceValueType {
  if (!sopClassUid.startsWith(STORAGE_ROOT)) {
    return 'COMPOSITE';
  }
  const local = sopClassUid.slice(STORAGE_ROOT.length);
  if (local.startsWith('9.')) {
    return 'WAVEFORM';
  }
  if (local.startsWith(RT_ROOT)) {
    return RT_IMAGES.has(local) ? 'IMAGE' : 'COMPOSITE';
  }
  const nonImage = NON_IMAGE_FAMILIES.some((family) => (family.endsWith('.') ? local.startsWith(family) : local === family));
  return nonImage ? 'COMPOSITE' : 'IMAGE';
}
