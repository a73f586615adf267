/**
 * The Patient compartment of the types the gateway serves: how a search is restricted to one
 * patient, and which patient(s) a resource belongs to. Pure functions.
 */

/** A resource as the gateway handles it: JSON with a type, an id and anything else. */
export interface AnyResource {
  resourceType: string;
  id?: string;
  [element: string]: unknown;
}

interface CompartmentRule {
  /** The search parameter that restricts a search of the type to one patient. */
  searchParam: '_id' | 'patient';
  /** The value of that parameter for a patient id. */
  value: (patientId: string) => string;
  /** The elements that hold the patient's reference (kept when a client asks for `_elements`). */
  elements: readonly string[];
}

/**
 * Types in the Patient compartment (FHIR R4 compartmentdefinition-patient, restricted to the
 * elements our resources use). Types not listed (Endpoint) carry no patient data.
 */
export const PATIENT_COMPARTMENT: Readonly<Record<string, CompartmentRule>> = {
  Patient: { searchParam: '_id', value: (id) => id, elements: ['id'] },
  ImagingStudy: { searchParam: 'patient', value: (id) => `Patient/${id}`, elements: ['subject'] },
  DocumentReference: { searchParam: 'patient', value: (id) => `Patient/${id}`, elements: ['subject'] },
  Observation: { searchParam: 'patient', value: (id) => `Patient/${id}`, elements: ['subject'] },
};

export const isInPatientCompartment = (resourceType: string): boolean => resourceType in PATIENT_COMPARTMENT;

/**
 * The id a reference points to when it names a resource of `resourceType`: `Patient/1`,
 * `Patient/1/_history/2` and `http://any/base/Patient/1` all give `1`; anything else undefined.
 */
export function referencedId(reference: string | undefined, resourceType: string): string | undefined {
  if (!reference) {
    return undefined;
  }
  const match = new RegExp(`(?:^|/)${resourceType}/([A-Za-z0-9\\-.]{1,64})(?:/_history/[^/]+)?$`).exec(reference);
  return match?.[1];
}

/**
 * The ids of the patients a resource belongs to; undefined when the type is not in the Patient
 * compartment (it belongs to nobody). An empty list means "in the compartment, but no patient
 * could be found": such a resource belongs to no patient one may be restricted to.
 */
export function patientsOf(resource: AnyResource): string[] | undefined {
  if (!isInPatientCompartment(resource.resourceType)) {
    return undefined;
  }
  if (resource.resourceType === 'Patient') {
    return resource.id ? [resource.id] : [];
  }
  const subject = resource.subject as { reference?: string } | undefined;
  const id = referencedId(subject?.reference, 'Patient');
  return id ? [id] : [];
}

/** Whether a resource may be shown to a token restricted to `patientId`'s compartment. */
export function belongsTo(resource: AnyResource, patientId: string): boolean {
  const patients = patientsOf(resource);
  return patients === undefined || patients.includes(patientId);
}

/**
 * Search parameters that name a patient (so that a restricted token can be told it asked for
 * somebody else's data rather than silently getting nothing).
 */
export function namedPatients(resourceType: string, params: ReadonlyArray<readonly [string, string]>): string[] {
  const names = resourceType === 'Patient' ? ['_id'] : ['patient', 'subject', 'subject:Patient'];
  const ids: string[] = [];
  for (const [name, value] of params) {
    if (!names.includes(name)) {
      continue;
    }
    for (const item of value.split(',')) {
      const id = resourceType === 'Patient' ? item.trim() : (referencedId(item.trim(), 'Patient') ?? (/^[A-Za-z0-9\-.]{1,64}$/.test(item.trim()) ? item.trim() : undefined));
      if (id) {
        ids.push(id);
      }
    }
  }
  return ids;
}

/** Adds the compartment restriction to a search (ANDed by the server with whatever the client asked). */
export function restrictToPatient(
  resourceType: string,
  params: ReadonlyArray<readonly [string, string]>,
  patientId: string,
): Array<[string, string]> {
  const rule = PATIENT_COMPARTMENT[resourceType];
  const copy = params.map(([name, value]) => [name, value] as [string, string]);
  if (rule) {
    copy.push([rule.searchParam, rule.value(patientId)]);
  }
  return copy;
}
