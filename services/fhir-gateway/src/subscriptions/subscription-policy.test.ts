import { holder, statusOf } from '../test-support/policy';
import { isOwnedBy, ownerTag, prepareSubscription } from './subscription-policy';

const subscription = (overrides: Record<string, unknown> = {}, channel: Record<string, unknown> = {}) => ({
  resourceType: 'Subscription',
  status: 'active',
  reason: 'new studies',
  criteria: 'ImagingStudy?status=available',
  channel: { type: 'rest-hook', endpoint: 'https://app.example.org/hook', header: ['Authorization: Bearer secret'], ...channel },
  ...overrides,
});

describe('prepareSubscription', () => {
  const app = holder('system/Subscription.crd system/ImagingStudy.rs');
  const patientApp = holder('patient/Subscription.crd patient/ImagingStudy.rs', 'p1');

  test('a back-end app subscribes to available studies as asked, status requested, owner tagged, header kept', () => {
    const stored = prepareSubscription(subscription({ id: 'chosen-by-client' }), app, 'owner-1');
    expect(stored.criteria).toBe('ImagingStudy?status=available');
    expect(stored.status).toBe('requested');
    expect(stored.id).toBeUndefined();
    expect(stored.channel).toEqual({ type: 'rest-hook', endpoint: 'https://app.example.org/hook', header: ['Authorization: Bearer secret'] });
    expect(isOwnedBy(stored, 'owner-1')).toBe(true);
    expect(isOwnedBy(stored, 'owner-2')).toBe(false);
  });

  test.each([
    ['a patient app gets its patient added', 'ImagingStudy?status=available', 'ImagingStudy?status=available&patient=Patient%2Fp1'],
    ['a patient app with no parameters', 'ImagingStudy', 'ImagingStudy?patient=Patient%2Fp1'],
    ['a patient app naming itself', 'ImagingStudy?patient=Patient/p1', 'ImagingStudy?patient=Patient%2Fp1&patient=Patient%2Fp1'],
  ])('%s', (_situation, criteria, expected) => {
    expect(prepareSubscription(subscription({ criteria }), patientApp, 't').criteria).toBe(expected);
  });

  test('a GP\'s criteria match the studies once reported, as its searches do (not woken by a study it cannot see yet)', () => {
    const gp = { ...holder('user/Subscription.crd user/ImagingStudy.rs'), grantedScopes: ['gp'] };
    expect(prepareSubscription(subscription({ criteria: 'ImagingStudy?modality=CT' }), gp, 't', new Date(), 'gp').criteria).toBe('ImagingStudy?modality=CT&validated-report=true');
    expect(prepareSubscription(subscription({ criteria: 'ImagingStudy?modality=CT' }), gp, 't', new Date(), undefined).criteria).toBe('ImagingStudy?modality=CT');
  });

  test('a back-end app\'s criteria with no parameter (every new study) get the `?` the FHIR server wants; only the accepted fields are stored', () => {
    const stored = prepareSubscription(subscription({ criteria: 'ImagingStudy', end: '2999-01-01T00:00:00Z', text: { status: 'generated', div: '<div/>' } }), app, 't');
    expect(stored.criteria).toBe('ImagingStudy?');
    expect(Object.keys(stored).sort()).toEqual(['channel', 'criteria', 'end', 'meta', 'reason', 'resourceType', 'status']);
  });

  test("Patient criteria leave out the records labelled withheld, as a Patient search does: a refuser's record wakes nobody", () => {
    const criteria = prepareSubscription(subscription({ criteria: 'Patient?birthdate=1961-02-03' }), holder('user/Patient.rs'), 't').criteria;
    expect(criteria).toBe('Patient?birthdate=1961-02-03&_security%3Anot=urn%3Aimaging-facade%3Aconsent%7Cwithheld');
  });

  test.each([
    ['a full-resource payload', subscription({}, { payload: 'application/fhir+json' }), app, 400],
    ['an email channel', subscription({}, { type: 'email', endpoint: 'mailto:a@b' }), app, 400],
    ['an endpoint that is not http', subscription({}, { endpoint: 'ftp://x/y' }), app, 400],
    ['criteria of a type not served', subscription({ criteria: 'Practitioner?name=x' }), app, 400],
    ['criteria on the audit trail', subscription({ criteria: 'AuditEvent?type=rest' }), holder('system/*.* system/AuditEvent.rs'), 400],
    ['criteria the token may not search', subscription({ criteria: 'Observation?code=x' }), app, 403],
    ['a patient app subscribing to another patient', subscription({ criteria: 'ImagingStudy?patient=Patient/p2' }), patientApp, 403],
    ['not a Subscription', { resourceType: 'Patient' }, app, 400],
    ['an extension (HAPI posts the results of its payload search)', subscription({ extension: [{ url: 'http://hapifhir.io/fhir/StructureDefinition/subscription-payload-search-criteria', valueString: 'Patient?' }] }), app, 400],
    ['a modifier extension', subscription({ modifierExtension: [{ url: 'http://example.org/x', valueString: 'y' }] }), app, 400],
    ['an extension on the criteria (a primitive\'s)', subscription({ _criteria: { extension: [{ url: 'http://example.org/x', valueString: 'y' }] } }), app, 400],
    ['a contained resource', subscription({ contained: [{ resourceType: 'Patient' }] }), app, 400],
    ['an extension on the channel', subscription({}, { extension: [{ url: 'http://example.org/x', valueString: 'y' }] }), app, 400],
    ['a header given as a string', subscription({}, { header: 'Authorization: Bearer x' }), app, 400],
    ['a header over two lines', subscription({}, { header: ['X-A: 1\r\nX-B: 2'] }), app, 400],
    ['an end in the past', subscription({ end: '2000-01-01T00:00:00Z' }), app, 400],
    ['criteria with a result parameter', subscription({ criteria: 'ImagingStudy?_sort=date' }), app, 400],
    ['criteria with _lastUpdated', subscription({ criteria: 'ImagingStudy?_lastUpdated=gt2030-01-01' }), app, 400],
  ] as const)('refuses %s', (_situation, body, who, status) => {
    expect(statusOf(() => prepareSubscription(body, who, 't'))).toBe(status);
  });
});

describe('ownerTag', () => {
  test('differs by client and by patient in context, is stable otherwise', () => {
    const base = { issuer: 'https://idp', clientId: 'app' };
    expect(ownerTag(base)).toBe(ownerTag({ ...base }));
    expect(ownerTag(base)).not.toBe(ownerTag({ ...base, clientId: 'other' }));
    expect(ownerTag({ ...base, patientId: 'p1' })).not.toBe(ownerTag({ ...base, patientId: 'p2' }));
  });
});
