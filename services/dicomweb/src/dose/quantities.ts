/**
 * The dose quantities the dashboard compares with reference levels, and the UCUM unit each is read
 * and shown in (the units the mapper publishes, HL7 Radiation Dose Summary IG).
 *
 * CT has two DLPs: `dlp` is the exam's total (CT Dose Length Product Total), `dlp_acquisition` the
 * DLP of its most exposed acquisition (one irradiation event, one helix), for levels set per
 * acquisition as the French CT levels have been. CTDIvol is always the most exposed acquisition's.
 *
 * Mammography has two: `agd` is a breast's accumulated average glandular dose (the larger breast's,
 * never a sum over both), `agd_view` the glandular dose of one view (one irradiation event; the
 * exam's most exposed view). Reference levels for mammography are usually given per view.
 */
export const DOSE_QUANTITIES = ['ctdivol', 'dlp', 'dlp_acquisition', 'dap', 'agd', 'agd_view'] as const;
export type DoseQuantity = (typeof DOSE_QUANTITIES)[number];

export const QUANTITY_UNIT: Readonly<Record<DoseQuantity, string>> = { ctdivol: 'mGy', dlp: 'mGy.cm', dlp_acquisition: 'mGy.cm', dap: 'mGy.cm2', agd: 'mGy', agd_view: 'mGy' };
export const QUANTITY_LABEL: Readonly<Record<DoseQuantity, string>> = {
  ctdivol: 'CTDIvol',
  dlp: 'DLP',
  dlp_acquisition: 'DLP per acquisition',
  dap: 'DAP',
  agd: 'AGD per breast',
  agd_view: 'AGD per view',
};

/** The quantities a modality's exams are judged by: CT by CTDIvol and DLP (the exam's, and its most exposed acquisition's), mammography by AGD per view and per breast, other projection X-ray by DAP. */
export function keyQuantities(modality: string): readonly DoseQuantity[] {
  if (modality === 'CT') return ['ctdivol', 'dlp', 'dlp_acquisition'];
  if (modality === 'MG') return ['agd_view', 'agd'];
  return ['dap'];
}

/** The one quantity a trend follows per modality (the exam's total: DLP for CT, the larger breast's AGD for mammography). */
export function trendQuantity(modality: string): DoseQuantity {
  if (modality === 'CT') return 'dlp';
  if (modality === 'MG') return 'agd';
  return 'dap';
}
