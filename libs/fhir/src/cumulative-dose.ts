import type { Coding, Observation } from '@medplum/fhirtypes';

/**
 * The cumulative radiation dose of a patient: one Observation per patient, written by the mapper
 * (the sum over the patient's studies, per dose type), read by the consent desk and the dose
 * dashboard. Its code is declared here, once, for all of them.
 */
export const CUMULATIVE_DOSE_CODE: Coding = {
  system: 'https://imagingfacade.org/fhir/CodeSystem/radiation-dose',
  code: 'cumulative-patient-dose',
  display: 'Cumulative radiation dose of the patient, per dose type',
};

/** One dose type of a cumulative dose, as people read it. */
export interface CumulativeDoseLine {
  label: string;
  value: number;
  unit: string;
}

/** The dose types of a cumulative dose Observation, in its order; components without a quantity are left out. */
export function cumulativeDoseLines(observation: Observation): CumulativeDoseLine[] {
  return (observation.component ?? []).flatMap((component) => {
    const quantity = component.valueQuantity;
    const label = component.code.text ?? component.code.coding?.[0]?.display;
    return quantity?.value !== undefined && label ? [{ label, value: quantity.value, unit: quantity.code ?? quantity.unit ?? '' }] : [];
  });
}
