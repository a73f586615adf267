/**
 * SMART on FHIR scopes (App Launch v2, with v1 compatibility): parsing, and the access a set of
 * scopes grants for one interaction on one resource type. Pure functions.
 *
 *   patient/ImagingStudy.rs   v2: the patient in context's studies, read and search
 *   user/*.rs                 v2: what the user may see, every type
 *   system/Observation.read   v1: read and search ("read" = "rs")
 *   system/*.*                v1: everything ("*" = "cruds")
 */

export type ScopeContext = 'patient' | 'user' | 'system';
export type Permission = 'c' | 'r' | 'u' | 'd' | 's';
export type Interaction = 'read' | 'search' | 'create' | 'update' | 'delete';

export interface ResourceScope {
  context: ScopeContext;
  /** A resource type, or `*`. */
  resourceType: string;
  permissions: ReadonlySet<Permission>;
  /**
   * v2 granular scopes carry a query (`patient/Observation.rs?category=laboratory`); the gateway
   * does not evaluate them, so such a scope grants nothing (it never widens access).
   */
  constrained: boolean;
}

/** Types a wildcard never covers: the audit trail needs a scope that names it. */
export const EXPLICIT_SCOPE_TYPES: ReadonlySet<string> = new Set(['AuditEvent']);

const PERMISSION_OF: Record<Interaction, Permission> = { read: 'r', search: 's', create: 'c', update: 'u', delete: 'd' };
const V2_PERMISSIONS = /^c?r?u?d?s?$/;
const SCOPE = /^(patient|user|system)\/([A-Za-z]+|\*)\.([^?]+)(\?.*)?$/;

/** Parses one scope; undefined for scopes that are not about resources (openid, launch, fhirUser…) or malformed. */
export function parseScope(scope: string): ResourceScope | undefined {
  const match = SCOPE.exec(scope);
  if (!match) {
    return undefined;
  }
  const [, context, resourceType, permissionText, query] = match as unknown as [string, ScopeContext, string, string, string | undefined];
  let permissions: Set<Permission>;
  if (permissionText === 'read') {
    permissions = new Set(['r', 's']);
  } else if (permissionText === 'write') {
    permissions = new Set(['c', 'u', 'd']);
  } else if (permissionText === '*') {
    permissions = new Set(['c', 'r', 'u', 'd', 's']);
  } else if (permissionText.length > 0 && V2_PERMISSIONS.test(permissionText)) {
    permissions = new Set(permissionText.split('') as Permission[]);
  } else {
    return undefined;
  }
  return { context, resourceType, permissions, constrained: query !== undefined && query.length > 1 };
}

/** The resource scopes of a token: `scope` (space-separated, RFC 8693/9068) or `scp` (string or array, as some providers send). */
export function parseScopes(scope: unknown): ResourceScope[] {
  const texts = typeof scope === 'string' ? scope.split(/\s+/) : Array.isArray(scope) ? scope.filter((s): s is string => typeof s === 'string') : [];
  return texts.map((text) => parseScope(text.trim())).filter((parsed): parsed is ResourceScope => parsed !== undefined);
}

export type Access =
  | { allowed: false; reason: string }
  /** Everything of the type the server holds (consent still applies). */
  | { allowed: true; restriction: 'none' }
  /** Only the patient's compartment. */
  | { allowed: true; restriction: 'patient'; patientId: string };

export interface ScopeHolder {
  scopes: readonly ResourceScope[];
  /** The SMART launch context's patient (the token's `patient` claim), a Patient id. */
  patientId?: string | undefined;
}

function grants(scope: ResourceScope, resourceType: string, permission: Permission): boolean {
  if (scope.constrained || !scope.permissions.has(permission)) {
    return false;
  }
  if (scope.resourceType === '*') {
    return !EXPLICIT_SCOPE_TYPES.has(resourceType);
  }
  return scope.resourceType === resourceType;
}

/**
 * What the holder may do: a `user/` or `system/` scope grants the whole type; failing that, a
 * `patient/` scope grants the patient compartment, and only when the token names its patient.
 */
export function evaluateAccess(holder: ScopeHolder, resourceType: string, interaction: Interaction): Access {
  const permission = PERMISSION_OF[interaction];
  const granting = holder.scopes.filter((scope) => grants(scope, resourceType, permission));
  if (granting.some((scope) => scope.context === 'user' || scope.context === 'system')) {
    return { allowed: true, restriction: 'none' };
  }
  if (granting.some((scope) => scope.context === 'patient')) {
    if (holder.patientId === undefined) {
      return { allowed: false, reason: `patient/ scopes need a patient in the token's launch context (claim "patient")` };
    }
    return { allowed: true, restriction: 'patient', patientId: holder.patientId };
  }
  return { allowed: false, reason: `the token's scopes do not allow ${interaction} of ${resourceType}` };
}
