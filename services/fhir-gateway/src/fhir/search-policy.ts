import { badRequest, forbidden, notAcceptable, OutcomeError } from '@imaging-facade/fhir-outcomes';
import { formatRefusal } from '@imaging-facade/service-kit';
import { type Access, evaluateAccess, namedPatients, PATIENT_COMPARTMENT, restrictToPatient, type ScopeHolder } from '@imaging-facade/access';

/** Query parameters in order, repeated names kept (`a=1&a=2` is an AND in FHIR search). */
export type SearchParams = Array<[string, string]>;

/**
 * Elements the gateway needs to decide whether it may show a resource (its patient, its study):
 * added to a client's `_elements` so that a narrowed answer can still be checked.
 */
export const ELEMENTS_NEEDED: Readonly<Record<string, readonly string[]>> = {
  Patient: ['identifier'],
  ImagingStudy: ['subject', 'identifier'],
  DocumentReference: ['subject', 'context'],
  Observation: ['subject', 'partOf', 'derivedFrom'],
};

/** Reference search parameters whose target type is known without asking the server. */
const CHAIN_TARGETS: Readonly<Record<string, string>> = { patient: 'Patient', subject: 'Patient', endpoint: 'Endpoint' };

export function parseQuery(rawQuery: string): SearchParams {
  return [...new URLSearchParams(rawQuery)].map(([name, value]) => [name, value]);
}

export function formatQuery(params: SearchParams): string {
  return new URLSearchParams(params).toString();
}

/**
 * Checks a client's search parameters against its token and returns the parameters to send to the
 * FHIR server: chained searches and `_has` need search access to the type they look into, answers
 * are JSON (the gateway reads every answer), `_elements` keeps what the gateway must check, and a
 * patient-restricted token's search is ANDed with its compartment.
 */
export function prepareSearch(resourceType: string, params: SearchParams, access: Access, holder: ScopeHolder): SearchParams {
  if (!access.allowed) {
    throw new OutcomeError(forbidden(access.reason));
  }
  const out: SearchParams = [];
  for (const [name, value] of params) {
    if (name === '_format') {
      // Also checked for every request by middleware/representation.ts; here for a POSTed form's.
      const refusal = formatRefusal([value]);
      if (refusal) {
        throw new OutcomeError(notAcceptable(refusal));
      }
      continue;
    }
    if (name === '_getpages' || name === '_getpagesoffset') {
      throw new OutcomeError(badRequest(`${name} is only valid on the base URL, as in the links of a search answer`));
    }
    if (name === '_summary' && value === 'text') {
      throw new OutcomeError(badRequest('_summary=text is not supported by the gateway'));
    }
    if (name === '_elements') {
      const wanted = new Set(value.split(',').map((element) => element.trim()).filter(Boolean));
      for (const element of ELEMENTS_NEEDED[resourceType] ?? []) {
        wanted.add(element);
      }
      out.push([name, [...wanted].join(',')]);
      continue;
    }
    const target = lookedIntoType(name);
    if (target !== undefined && !evaluateAccess(holder, target, 'search').allowed) {
      throw new OutcomeError(forbidden(`the search parameter ${name} looks into ${target}, which the token may not search`));
    }
    out.push([name, value]);
  }
  if (access.restriction === 'patient') {
    const others = namedPatients(resourceType, out).filter((id) => id !== access.patientId);
    if (others.length > 0) {
      throw new OutcomeError(forbidden('a token restricted to a patient may only search that patient\'s data'));
    }
    if (!PATIENT_COMPARTMENT[resourceType]) {
      return out;
    }
    return restrictToPatient(resourceType, out, access.patientId);
  }
  return out;
}

/**
 * The type a parameter searches into: `_has:Observation:patient:code` → Observation,
 * `subject:Patient.name` → Patient, `patient.identifier` → Patient; undefined for plain parameters
 * and for chains whose target is not known (they cannot reach patient data of the served types).
 */
export function lookedIntoType(name: string): string | undefined {
  if (name.startsWith('_has:')) {
    return name.split(':')[1];
  }
  const dot = name.indexOf('.');
  if (dot < 0) {
    return undefined;
  }
  const [reference, modifier] = name.slice(0, dot).split(':');
  if (modifier && /^[A-Z][A-Za-z]+$/.test(modifier)) {
    return modifier;
  }
  return CHAIN_TARGETS[reference ?? ''];
}
