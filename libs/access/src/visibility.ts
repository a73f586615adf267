import { belongsTo, isInPatientCompartment, patientsOf, type AnyResource } from './compartment';
import { consentAllows, type ConsentLookups, type ConsentRules } from './consent';
import { reportAllows, waitsForReport, type ReportGate } from './report-gate';
import { evaluateAccess, type Access, type Interaction, type ScopeHolder } from './scopes';

/** The clinical types the gateway serves (read and search). */
export const CLINICAL_TYPES: ReadonlySet<string> = new Set(['ImagingStudy', 'Patient', 'DocumentReference', 'Observation', 'Endpoint']);

/** Types outside the Patient compartment that carry no patient data: a patient's app sees them all. */
const SHARED_TYPES: ReadonlySet<string> = new Set(['Endpoint']);

/** Every type the gateway answers about: the clinical ones, the audit trail, and Subscriptions. */
export const SERVED_TYPES: ReadonlySet<string> = new Set([...CLINICAL_TYPES, 'AuditEvent', 'Subscription']);

/**
 * The access a token has to a type, with the gateway's own rules on top of the scopes: a
 * patient-restricted token reaches only its compartment and types holding no patient data (never
 * the audit trail, whatever its scopes say).
 */
export function typeAccess(holder: ScopeHolder, resourceType: string, interaction: Interaction): Access {
  if (!SERVED_TYPES.has(resourceType)) {
    return { allowed: false, reason: `${resourceType} is not served by this gateway` };
  }
  const access = evaluateAccess(holder, resourceType, interaction);
  if (
    access.allowed &&
    access.restriction === 'patient' &&
    resourceType !== 'Subscription' &&
    !isInPatientCompartment(resourceType) &&
    !SHARED_TYPES.has(resourceType)
  ) {
    return { allowed: false, reason: `a token restricted to a patient cannot ${interaction} ${resourceType}` };
  }
  return access;
}

/** Whether the token's scopes and compartment let it see one resource (consent aside). */
export function visibleToToken(resource: AnyResource, holder: ScopeHolder, interaction: 'read' | 'search'): boolean {
  if (resource.resourceType === 'OperationOutcome') {
    return true;
  }
  if (resource.resourceType === 'Subscription') {
    return false;
  }
  const access = typeAccess(holder, resource.resourceType, interaction);
  if (!access.allowed) {
    return false;
  }
  return access.restriction === 'none' || belongsTo(resource, access.patientId);
}

interface SearchBundle {
  resourceType: string;
  total?: number;
  entry?: Array<{ resource?: AnyResource; search?: { mode?: string } }>;
}

/** What decides, beyond scopes, what a token sees: consent, and the report rule for GPs (report-gate.ts). */
export interface SharingRules {
  rules: ConsentRules;
  lookups: ConsentLookups;
  /** Undefined: no token waits for reports. */
  reports?: ReportGate | undefined;
}

/** A token, with its role scopes (the report rule reads them). */
export type Viewer = ScopeHolder & { grantedScopes?: readonly string[] | undefined };

/** Consent, then the report rule for a token that waits for it. */
async function sharedWith(resources: readonly AnyResource[], holder: Viewer, sharing: SharingRules): Promise<boolean[]> {
  const allowed = await consentAllows(resources, sharing.rules, sharing.lookups);
  if (!sharing.reports || !waitsForReport(holder, sharing.reports)) {
    return allowed;
  }
  const reported = await reportAllows(resources, sharing.reports);
  return allowed.map((shared, index) => shared && reported[index] === true);
}

export interface Filtered<T> {
  value: T;
  /** Ids of the patients whose data is in the answer. */
  patients: string[];
  /** How many resources were taken out. */
  removed: number;
}

function patientIds(resources: readonly AnyResource[]): string[] {
  const ids = new Set<string>();
  for (const resource of resources) {
    for (const id of patientsOf(resource) ?? []) {
      ids.add(id);
    }
  }
  return [...ids];
}

/**
 * A search answer with everything the token may not see taken out: resources of other types or
 * other patients (brought by `_include` / `_revinclude`, or on a page of somebody else's search),
 * what consent withholds, and for a GP the studies not yet reported. `total` is dropped when a
 * match was taken out, and whenever consent may withhold anything or the token waits for reports:
 * a total counts the matches of every page, and a refuser's match on another page would be counted
 * (`Patient?_id=a,r&_count=1` would tell that `r` matches).
 */
export async function filterSearchBundle<B extends SearchBundle>(bundle: B, holder: Viewer, consent: SharingRules): Promise<Filtered<B>> {
  const entries = bundle.entry ?? [];
  const byToken = entries.filter(
    (entry) => entry.resource !== undefined && visibleToToken(entry.resource, holder, (entry.search?.mode ?? 'match') === 'match' ? 'search' : 'read'),
  );
  const resources = byToken.map((entry) => entry.resource as AnyResource);
  const allowed = await sharedWith(resources, holder, consent);
  const kept = byToken.filter((_entry, index) => allowed[index]);
  const keptSet = new Set(kept);
  const removedMatches = entries.filter((entry) => (entry.search?.mode ?? 'match') === 'match' && !keptSet.has(entry)).length;
  const removed = entries.length - kept.length;
  if (removed > 0) {
    bundle.entry = kept;
  }
  if (removedMatches > 0 || consent.rules.mayWithhold() || waitsForReport(holder, consent.reports)) {
    delete bundle.total;
  }
  return { value: bundle, patients: patientIds(kept.map((entry) => entry.resource as AnyResource)), removed };
}

/** Whether one resource read may be shown: false answers a 404, as for what does not exist. */
export async function readVisible(resource: AnyResource, holder: Viewer, consent: SharingRules): Promise<Filtered<boolean>> {
  const visible = visibleToToken(resource, holder, 'read') && (await sharedWith([resource], holder, consent))[0] === true;
  return { value: visible, patients: visible ? patientIds([resource]) : [], removed: visible ? 0 : 1 };
}
