/** SOP classes (PS3.4 B.5) the services treat specially. */

export const KEY_OBJECT_SELECTION_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.88.59';

/** Radiation dose structured reports (IHE REM): their content tree travels in the snapshot. */
export const DOSE_SR_SOP_CLASSES: Readonly<Record<string, string>> = {
  '1.2.840.10008.5.1.4.1.1.88.67': 'X-Ray Radiation Dose SR',
  '1.2.840.10008.5.1.4.1.1.88.68': 'Radiopharmaceutical Radiation Dose SR',
  '1.2.840.10008.5.1.4.1.1.88.76': 'Enhanced X-Ray Radiation Dose SR',
};

export function isDoseReport(sopClassUid: string | undefined): boolean {
  return sopClassUid !== undefined && Object.hasOwn(DOSE_SR_SOP_CLASSES, sopClassUid);
}

/**
 * Objects made from or about a study's images rather than acquired (PS3.4 B.5): structured reports
 * (dose reports, key object selections), presentation states, encapsulated documents, secondary
 * captures, segmentations, registrations and fiducials, real world value maps, and RT objects other
 * than RT Images. Another system often makes them later (a dose management system, an AI, a
 * workstation, a treatment planning system, a PACS), with a patient module of its own.
 */
const MADE_ABOUT_IMAGES_BRANCHES = [
  '1.2.840.10008.5.1.4.1.1.88.', // structured reports, key object selections
  '1.2.840.10008.5.1.4.1.1.11.', // presentation states
  '1.2.840.10008.5.1.4.1.1.104.', // encapsulated PDF, CDA, STL…
  '1.2.840.10008.5.1.4.1.1.7.', // multi-frame secondary captures
  '1.2.840.10008.5.1.4.1.1.66.', // registrations, fiducials, segmentations
];
const MADE_ABOUT_IMAGES_CLASSES = new Set([
  '1.2.840.10008.5.1.4.1.1.7', // secondary capture
  '1.2.840.10008.5.1.4.1.1.66', // raw data
  '1.2.840.10008.5.1.4.1.1.67', // real world value mapping
  '1.2.840.10008.5.1.4.1.1.30', // parametric map
]);
const RT_BRANCH = '1.2.840.10008.5.1.4.1.1.481.';
const RT_IMAGE = '1.2.840.10008.5.1.4.1.1.481.1';

export function isMadeAboutImages(sopClassUid: string): boolean {
  if (sopClassUid.startsWith(RT_BRANCH)) {
    return sopClassUid !== RT_IMAGE;
  }
  return MADE_ABOUT_IMAGES_CLASSES.has(sopClassUid) || MADE_ABOUT_IMAGES_BRANCHES.some((branch) => sopClassUid.startsWith(branch));
}
