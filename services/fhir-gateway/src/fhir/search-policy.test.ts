import { evaluateAccess, type ScopeHolder } from '@imaging-facade/access';
import { holder, statusOf } from '../test-support/policy';
import { chainTarget, parseQuery, prepareSearch } from './search-policy';

function prepare(type: string, query: string, who: ScopeHolder) {
  return prepareSearch(type, parseQuery(query), evaluateAccess(who, type, 'search'), who);
}

describe('prepareSearch', () => {
  const practitioner = holder('user/ImagingStudy.rs user/Patient.rs user/Endpoint.rs');
  const patientApp = holder('patient/*.rs', 'p1');

  test.each([
    ['a practitioner search goes as asked', 'ImagingStudy', 'status=available&_count=10', practitioner, [['status', 'available'], ['_count', '10']]],
    ['repeated parameters stay ANDed', 'ImagingStudy', 'modality=CT&modality=MR', practitioner, [['modality', 'CT'], ['modality', 'MR']]],
    ['_format json is dropped (always JSON)', 'ImagingStudy', '_format=json', practitioner, []],
    ['_elements keeps what the gateway checks', 'ImagingStudy', '_elements=started', practitioner, [['_elements', 'started,subject,identifier']]],
    ['a patient app is restricted to its patient', 'ImagingStudy', 'status=available', patientApp, [['status', 'available'], ['patient', 'Patient/p1']]],
    ['a patient app searching Patient gets its own id, and records labelled withheld are left out', 'Patient', '', patientApp, [['_id', 'p1'], ['_security:not', 'urn:imaging-facade:consent|withheld']]],
    ['any Patient search leaves out the records labelled withheld, in the query (the paging never counts them)', 'Patient', 'birthdate=1961-02-03&_count=1', practitioner, [['birthdate', '1961-02-03'], ['_count', '1'], ['_security:not', 'urn:imaging-facade:consent|withheld']]],
    ['a client asking for the label itself gets nothing: both are ANDed', 'Patient', '_security=urn:imaging-facade:consent|withheld', practitioner, [['_security', 'urn:imaging-facade:consent|withheld'], ['_security:not', 'urn:imaging-facade:consent|withheld']]],
    ['a patient app naming itself is fine', 'ImagingStudy', 'patient=Patient/p1', patientApp, [['patient', 'Patient/p1'], ['patient', 'Patient/p1']]],
    ['Endpoints carry no patient data: not restricted', 'Endpoint', 'status=active', patientApp, [['status', 'active']]],
    ['a chain into Patient by identifier, with Patient access: sent typed (the server looks into Patient only)', 'ImagingStudy', 'patient.identifier=x', practitioner, [['patient:Patient.identifier', 'x']]],
    ['a chain into Endpoint, typed likewise', 'ImagingStudy', 'endpoint.address=https%3A%2F%2Fnode', practitioner, [['endpoint:Endpoint.address', 'https://node']]],
    ['_include is left to the answer filter', 'ImagingStudy', '_include=ImagingStudy:subject', practitioner, [['_include', 'ImagingStudy:subject']]],
    ['_revinclude:iterate too', 'ImagingStudy', '_revinclude:iterate=Observation:part-of', practitioner, [['_revinclude:iterate', 'Observation:part-of']]],
    ['a chain naming its type', 'ImagingStudy', 'subject:Patient.identifier=x', practitioner, [['subject:Patient.identifier', 'x']]],
    ['filters on common parameters, with their modifiers', 'ImagingStudy', '_id:not=x&_lastUpdated=gt2020&_tag=a|b', practitioner, [['_id:not', 'x'], ['_lastUpdated', 'gt2020'], ['_tag', 'a|b']]],
    ['_summary true, false and data keep what the gateway checks', 'ImagingStudy', '_summary=true&_summary=data&_summary=false', practitioner, [['_summary', 'true'], ['_summary', 'data'], ['_summary', 'false']]],
    ['_summary in another case, sent as checked', 'ImagingStudy', '_summary=TRUE&_summary=Data', practitioner, [['_summary', 'true'], ['_summary', 'data']]],
    ['_total=none counts nothing', 'ImagingStudy', '_total=none&_sort=-_lastUpdated', practitioner, [['_total', 'none'], ['_sort', '-_lastUpdated']]],
  ] as const)('%s', (_situation, type, query, who, expected) => {
    expect(prepare(type, query, who)).toEqual(expected);
  });

  test.each([
    ['a GP\'s study search: reported studies only, in the query', 'ImagingStudy', 'patient=Patient/p1&_count=1', [['patient', 'Patient/p1'], ['_count', '1'], ['validated-report', 'true']]],
    ['a GP\'s manifests: those of reported studies', 'DocumentReference', 'patient=Patient/p1', [['patient', 'Patient/p1'], ['related:ImagingStudy.validated-report', 'true']]],
    ['a GP\'s Observations: the dose of reported studies (no cumulative dose)', 'Observation', 'subject=Patient/p1', [['subject', 'Patient/p1'], ['part-of:ImagingStudy.validated-report', 'true']]],
    ['a GP\'s Patient search: as anyone\'s', 'Patient', '', [['_security:not', 'urn:imaging-facade:consent|withheld']]],
  ] as const)('%s', (_situation, type, query, expected) => {
    const gp = { ...holder('user/ImagingStudy.rs user/Patient.rs user/DocumentReference.rs user/Observation.rs'), grantedScopes: ['gp'] };
    expect(prepareSearch(type, parseQuery(query), evaluateAccess(gp, type, 'search'), gp, 'gp')).toEqual(expected);
    // Without the role, or with no GP role configured, nothing is added.
    expect(prepareSearch(type, parseQuery(query), evaluateAccess(gp, type, 'search'), gp, undefined)).toEqual(expected.filter(([name]) => !name.includes('validated-report')));
  });

  test.each([
    ['a type the token may not search', 'Observation', '', practitioner, 403],
    ['a patient app asking about another patient', 'ImagingStudy', 'patient=Patient/p2', patientApp, 403],
    ['a patient app asking for another Patient', 'Patient', '_id=p2', patientApp, 403],
    ['a chain into a type the token may not search', 'ImagingStudy', 'patient.name=x', holder('user/ImagingStudy.rs'), 403],
    ['XML is not served', 'ImagingStudy', '_format=xml', practitioner, 406],
    ['paging parameters on a type', 'ImagingStudy', '_getpages=abc', practitioner, 400],
    // Parameters that reshape the answer could hide the patient or study the decision needs.
    ['_summary=text cannot be checked', 'ImagingStudy', '_summary=text', practitioner, 400],
    ['_summary in another case', 'Observation', '_summary=TEXT', holder('system/*.rs'), 400],
    ['_summary=true on DocumentReference (HAPI drops context.related, the manifest\'s study)', 'DocumentReference', '_summary=true', holder('system/*.rs'), 400],
    ['_summary=true on Observation', 'Observation', '_summary=true', holder('system/*.rs'), 400],
    ['_elements:exclude of the patient\'s identifiers', 'Patient', '_elements:exclude=Patient.identifier', practitioner, 400],
    ['_elements:exclude of the subject', 'ImagingStudy', '_elements:exclude=ImagingStudy.subject', practitioner, 400],
    ['_narrative', 'Observation', '_narrative=only', holder('system/*.rs'), 400],
    ['_contained', 'ImagingStudy', '_contained=true', practitioner, 400],
    ['a parameter name in another case', 'ImagingStudy', '_SUMMARY=text', practitioner, 400],
    ['_filter (chains inside a value)', 'ImagingStudy', '_filter=subject.name eq x', practitioner, 400],
    // Counting would count what consent withholds.
    ['_summary=count', 'Patient', '_summary=count&birthdate=1961-02-03', practitioner, 400],
    ['_total=accurate', 'Patient', '_total=accurate', practitioner, 400],
    // Reverse and long chains reach types the scopes were never checked against.
    ['_has, whatever the scopes', 'Patient', '_has:Observation:patient:code=1234', holder('system/*.rs'), 400],
    ['_has from ImagingStudy through Observation to Patient', 'ImagingStudy', '_has:Observation:part-of:subject.name=x', holder('user/ImagingStudy.rs user/Observation.rs'), 400],
    ['a chain of two links', 'Observation', 'part-of.patient.name=x', holder('user/Observation.rs'), 400],
    ['a chain ending in _has into the audit trail', 'ImagingStudy', 'patient._has:AuditEvent:patient:agent-name=app', practitioner, 400],
    ['a chain of unknown target', 'Observation', 'part-of.identifier=x', holder('user/Observation.rs'), 400],
    ['_sort on a chain', 'ImagingStudy', '_sort=patient.birthdate', practitioner, 400],
    ['a patient app chaining from Endpoint (shared by every patient)', 'Endpoint', 'endpoint:Endpoint.name=x', patientApp, 403],
    ['a patient app\'s _has from Endpoint', 'Endpoint', '_has:ImagingStudy:endpoint:patient=Patient/p2', patientApp, 400],
    // A chain is matched on every record, a refuser's too: a `next` link would tell a field's value one guess at a time.
    ['a chain on a field of a Patient other than its identifier', 'Observation', 'subject:Patient.birthdate=ne1965-03-09', holder('user/Observation.rs user/Patient.rs'), 400],
    ['a chain on a patient\'s name', 'ImagingStudy', 'patient.name=x', practitioner, 400],
    ['a chain on an identifier with a modifier', 'ImagingStudy', 'patient.identifier:missing=true', practitioner, 400],
    // Mixed scopes: every study, but only its own patient's record.
    ['a chain into Patient from a token that may search only its own patient', 'ImagingStudy', 'patient.identifier=x', holder('user/ImagingStudy.rs patient/Patient.rs', 'p1'), 403],
    ['a parameter name with a trailing space', 'Patient', '_id%20=x', practitioner, 400],
    ['a parameter name with a control character', 'ImagingStudy', 'status%00=x', practitioner, 400],
  ] as const)('refuses %s', (_situation, type, query, who, status) => {
    expect(statusOf(() => prepare(type, query, who))).toBe(status);
  });
});

describe('chainTarget', () => {
  test.each([
    ['status', undefined],
    ['patient.name', 'Patient'],
    ['subject:Patient.birthdate', 'Patient'],
    ['subject:Group.name', 'Group'],
    ['endpoint.address', 'Endpoint'],
    ['patient.name:exact', 'Patient'],
  ])('%s → %s', (name, expected) => {
    expect(chainTarget(name)).toBe(expected);
  });

  test.each([['performer.name'], ['part-of.patient.name'], ['patient._has:AuditEvent:patient:agent-name'], ['subject:missing.name'], ['patient.Patient.name']])(
    '%s is refused',
    (name) => {
      expect(statusOf(() => chainTarget(name))).toBe(400);
    },
  );
});
