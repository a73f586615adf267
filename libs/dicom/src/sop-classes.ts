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
 * Objects made about a study's images rather than acquired (PS3.4 B.5): structured reports (dose
 * reports, key object selections), presentation states and encapsulated documents. Another system
 * often makes them later (a dose management system, a PACS, a scanner of paper requests), with a
 * patient module of its own.
 */
const MADE_ABOUT_IMAGES_BRANCHES = ['1.2.840.10008.5.1.4.1.1.88.', '1.2.840.10008.5.1.4.1.1.11.', '1.2.840.10008.5.1.4.1.1.104.'];

export function isMadeAboutImages(sopClassUid: string): boolean {
  return MADE_ABOUT_IMAGES_BRANCHES.some((branch) => sopClassUid.startsWith(branch));
}
