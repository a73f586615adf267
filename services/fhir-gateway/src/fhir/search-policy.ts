import { badRequest, forbidden, notAcceptable, OutcomeError } from '@imaging-facade/fhir-outcomes';
import { formatRefusal } from '@imaging-facade/service-kit';
import { WITHHELD_LABEL_TOKEN } from '@imaging-facade/consent';
import { type Access, evaluateAccess, namedPatients, PATIENT_COMPARTMENT, restrictToPatient, type ScopeHolder } from '@imaging-facade/access';
import { searchResultParameter } from './result-parameters';

/** Query parameters in order, repeated names kept (`a=1&a=2` is an AND in FHIR search). */
export type SearchParams = Array<[string, string]>;

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
 * FHIR server: a chained parameter (one link) needs search access to the type it looks into, the
 * `_`-parameters are those of result-parameters.ts, answers are JSON (the gateway reads every
 * answer), and a patient-restricted token's search is ANDed with its compartment. A Patient search
 * leaves out the records the mapper labelled withheld (libs/consent WITHHELD_LABEL) in the query
 * itself: the answer is filtered for consent anyway, but the server's paging, and whether it writes
 * a `next` link, would count a refuser who matches.
 */
export function prepareSearch(resourceType: string, params: SearchParams, access: Access, holder: ScopeHolder): SearchParams {
  const checked = checkedSearch(resourceType, params, access, holder);
  return resourceType === 'Patient' ? [...checked, ['_security:not', WITHHELD_LABEL_TOKEN]] : checked;
}

function checkedSearch(resourceType: string, params: SearchParams, access: Access, holder: ScopeHolder): SearchParams {
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
    if (name.startsWith('_')) {
      out.push(searchResultParameter(resourceType, name, value));
      continue;
    }
    const target = chainTarget(name);
    if (target !== undefined && access.restriction === 'patient' && !PATIENT_COMPARTMENT[resourceType]) {
      // Endpoints are shared by every study: a chain from them would ask about other patients.
      throw new OutcomeError(forbidden(`a token restricted to a patient may not search ${resourceType} with a chained parameter`));
    }
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
 * The type a chained parameter searches into: `subject:Patient.birthdate` → Patient,
 * `patient.identifier` → Patient; undefined for a plain parameter. Only chains of one link are
 * let through, into a type named or known: a longer chain, or a link of unknown target, could
 * reach types the token's scopes were never checked against (a 400).
 */
export function chainTarget(name: string): string | undefined {
  const dot = name.indexOf('.');
  if (dot < 0) {
    return undefined;
  }
  const [reference = '', modifier, ...more] = name.slice(0, dot).split(':');
  if (!/^[a-z][a-z0-9-]*(?::[a-z][a-z-]*)?$/.test(name.slice(dot + 1)) || more.length > 0) {
    throw new OutcomeError(badRequest(`${name}: chains of more than one link are not supported by the gateway`));
  }
  if (modifier !== undefined) {
    if (!/^[A-Z][A-Za-z]+$/.test(modifier)) {
      throw new OutcomeError(badRequest(`${name}: the modifier :${modifier} cannot start a chain`));
    }
    return modifier;
  }
  const target = CHAIN_TARGETS[reference];
  if (target === undefined) {
    throw new OutcomeError(badRequest(`${name}: name the type the chain looks into (${reference}:<Type>.…)`));
  }
  return target;
}
