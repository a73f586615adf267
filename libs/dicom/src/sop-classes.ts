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
