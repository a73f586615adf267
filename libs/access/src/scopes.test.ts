import { evaluateAccess, parseScope, parseScopes, type ScopeHolder } from './scopes';

const holder = (scope: string, patientId?: string): ScopeHolder => ({ scopes: parseScopes(scope), patientId });

describe('parseScope', () => {
  test.each([
    ['v2 read and search', 'user/ImagingStudy.rs', { context: 'user', resourceType: 'ImagingStudy', permissions: ['r', 's'] }],
    ['v2 every permission', 'system/Subscription.cruds', { context: 'system', resourceType: 'Subscription', permissions: ['c', 'r', 'u', 'd', 's'] }],
    ['v2 wildcard type', 'patient/*.rs', { context: 'patient', resourceType: '*', permissions: ['r', 's'] }],
    ['v2 create and delete only', 'patient/Subscription.cd', { context: 'patient', resourceType: 'Subscription', permissions: ['c', 'd'] }],
    ['v1 read is read and search', 'user/Observation.read', { context: 'user', resourceType: 'Observation', permissions: ['r', 's'] }],
    ['v1 write is create, update, delete', 'system/Subscription.write', { context: 'system', resourceType: 'Subscription', permissions: ['c', 'u', 'd'] }],
    ['v1 star is everything', 'system/*.*', { context: 'system', resourceType: '*', permissions: ['c', 'r', 'u', 'd', 's'] }],
  ])('%s: %s', (_situation, scope, expected) => {
    const parsed = parseScope(scope);
    expect(parsed).toBeDefined();
    expect({ context: parsed?.context, resourceType: parsed?.resourceType, permissions: [...(parsed?.permissions ?? [])] }).toEqual(expected);
    expect(parsed?.constrained).toBe(false);
  });

  test.each([
    ['openid', 'openid'],
    ['launch context request', 'launch/patient'],
    ['fhirUser', 'fhirUser'],
    ['permissions out of order', 'user/ImagingStudy.sr'],
    ['an unknown permission', 'user/ImagingStudy.x'],
    ['an unknown context', 'admin/ImagingStudy.rs'],
    ['no permission', 'user/ImagingStudy.'],
  ])('ignores %s (%s)', (_situation, scope) => {
    expect(parseScope(scope)).toBeUndefined();
  });

  test('a granular v2 scope with a query is marked constrained', () => {
    expect(parseScope('patient/Observation.rs?category=laboratory')?.constrained).toBe(true);
  });

  test('scp as an array (some providers) is read like scope', () => {
    expect(parseScopes(['user/Patient.rs', 'openid']).map((scope) => scope.resourceType)).toEqual(['Patient']);
  });
});

describe('evaluateAccess', () => {
  test.each([
    ['user scope reads its type', 'user/ImagingStudy.rs', undefined, 'ImagingStudy', 'read', { allowed: true, restriction: 'none' }],
    ['user scope searches its type', 'user/ImagingStudy.rs', undefined, 'ImagingStudy', 'search', { allowed: true, restriction: 'none' }],
    ['read-only scope cannot search', 'user/ImagingStudy.r', undefined, 'ImagingStudy', 'search', { allowed: false }],
    ['search-only scope cannot read', 'user/ImagingStudy.s', undefined, 'ImagingStudy', 'read', { allowed: false }],
    ['other type is refused', 'user/ImagingStudy.rs', undefined, 'Patient', 'read', { allowed: false }],
    ['system wildcard covers clinical types', 'system/*.rs', undefined, 'Observation', 'search', { allowed: true, restriction: 'none' }],
    ['a wildcard never covers the audit trail', 'system/*.rs', undefined, 'AuditEvent', 'search', { allowed: false }],
    ['the auditor scope names AuditEvent', 'user/AuditEvent.rs', undefined, 'AuditEvent', 'search', { allowed: true, restriction: 'none' }],
    ['patient scope with context is restricted', 'patient/*.rs', 'p1', 'ImagingStudy', 'search', { allowed: true, restriction: 'patient', patientId: 'p1' }],
    ['patient scope without context grants nothing', 'patient/*.rs', undefined, 'ImagingStudy', 'search', { allowed: false }],
    ['user scope beats patient scope', 'patient/*.rs user/ImagingStudy.rs', 'p1', 'ImagingStudy', 'read', { allowed: true, restriction: 'none' }],
    ['patient scope still restricts other types', 'patient/*.rs user/ImagingStudy.rs', 'p1', 'Patient', 'read', { allowed: true, restriction: 'patient', patientId: 'p1' }],
    ['v1 read grants search', 'user/Patient.read', undefined, 'Patient', 'search', { allowed: true, restriction: 'none' }],
    ['read scope cannot create', 'user/Subscription.rs', undefined, 'Subscription', 'create', { allowed: false }],
    ['create scope creates', 'system/Subscription.crd', undefined, 'Subscription', 'create', { allowed: true, restriction: 'none' }],
    ['a constrained scope grants nothing', 'user/Observation.rs?category=laboratory', undefined, 'Observation', 'search', { allowed: false }],
    ['no scopes at all', 'openid fhirUser', undefined, 'Patient', 'read', { allowed: false }],
  ] as const)('%s', (_situation, scope, patientId, resourceType, interaction, expected) => {
    expect(evaluateAccess(holder(scope, patientId), resourceType, interaction)).toMatchObject(expected);
  });
});
