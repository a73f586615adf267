import { badRequest, forbidden, notAcceptable, OutcomeError } from '@imaging-facade/fhir-outcomes';
import { formatRefusal } from '@imaging-facade/service-kit';
import { WITHHELD_LABEL_TOKEN } from '@imaging-facade/consent';
import { type Access, evaluateAccess, namedPatients, PATIENT_COMPARTMENT, restrictToPatient, type ScopeHolder, type Viewer, waitsForReport } from '@imaging-facade/access';
import { REPORTED_STUDIES_ONLY } from '@imaging-facade/fhir';
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
 * a `next` link, would count a refuser who matches. For the same reason a GP's search (a token with
 * `reportRoleScope`) of studies, manifests and dose Observations is ANDed with the studies that hold
 * a validated report (libs/fhir REPORTED_STUDIES_ONLY).
 */
export function prepareSearch(resourceType: string, params: SearchParams, access: Access, holder: Viewer, reportRoleScope?: string): SearchParams {
  const checked = checkedSearch(resourceType, params, access, holder);
  const reported = REPORTED_STUDIES_ONLY[resourceType];
  const forGp = reported !== undefined && waitsForReport(holder, { roleScope: reportRoleScope }) ? [[...reported] as [string, string]] : [];
  return [...checked, ...(resourceType === 'Patient' ? [['_security:not', WITHHELD_LABEL_TOKEN] as [string, string]] : []), ...forGp];
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
    if (!PARAMETER_NAME.test(name)) {
      // Whatever the server would make of it (a trailing space, a control character), not what was checked.
      throw new OutcomeError(badRequest(`${JSON.stringify(name)} is not a search parameter name`));
    }
    if (name.startsWith('_')) {
      out.push(searchResultParameter(resourceType, name, value));
      continue;
    }
    const target = chainTarget(name);
    if (target === undefined) {
      out.push([name, value]);
      continue;
    }
    if (access.restriction === 'patient' && !PATIENT_COMPARTMENT[resourceType]) {
      // Endpoints are shared by every study: a chain from them would ask about other patients.
      throw new OutcomeError(forbidden(`a token restricted to a patient may not search ${resourceType} with a chained parameter`));
    }
    const targetAccess = evaluateAccess(holder, target, 'search');
    if (!targetAccess.allowed) {
      throw new OutcomeError(forbidden(`the search parameter ${name} looks into ${target}, which the token may not search`));
    }
    if (targetAccess.restriction === 'patient' && (access.restriction !== 'patient' || access.patientId !== targetAccess.patientId)) {
      // `user/ImagingStudy.rs patient/Patient.rs`: the chain would search every patient's record.
      throw new OutcomeError(forbidden(`the search parameter ${name} looks into ${target}, which the token may search for its patient only`));
    }
    out.push([chainedName(name, target), value]);
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

/** A search parameter's name, modifiers and one chain link included; nothing else reaches the server. */
const PARAMETER_NAME = /^[A-Za-z_][A-Za-z0-9_-]*(?::[A-Za-z][A-Za-z-]*)?(?:\.[a-z][a-z0-9-]*(?::[a-z][a-z-]*)?)?$/;

/**
 * What a chain into a Patient may ask: the patient's identifier only. A chain on another field
 * (`subject:Patient.birthdate=ne…`) is matched by the server on every record, a refuser's too (the
 * withheld label cannot be ANDed inside a chain), and whether a page has a `next` link then tells
 * that field's value one guess at a time. Search Patient first (labelled records are left out
 * there), then by `patient=Patient/<id>`.
 */
const PATIENT_CHAIN_PARAMETERS: ReadonlySet<string> = new Set(['identifier']);

/** The chain as sent: its link typed (`subject.identifier` → `subject:Patient.identifier`), so the server looks into that type only. */
function chainedName(name: string, target: string): string {
  const dot = name.indexOf('.');
  const [reference = ''] = name.slice(0, dot).split(':');
  const field = name.slice(dot + 1);
  if (target === 'Patient' && !PATIENT_CHAIN_PARAMETERS.has(field)) {
    throw new OutcomeError(badRequest(`${name}: a chain into Patient may only name the patient's identifier (${reference}.identifier=<system>|<value>); search Patient first, then by ${reference}=Patient/<id>`));
  }
  return `${reference}:${target}.${field}`;
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
