import { evaluateAccess, type ScopeHolder } from '@imaging-facade/access';
import { holder, statusOf } from '../test-support/policy';
import { lookedIntoType, parseQuery, prepareSearch } from './search-policy';

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
    ['a patient app searching Patient gets its own id', 'Patient', '', patientApp, [['_id', 'p1']]],
    ['a patient app naming itself is fine', 'ImagingStudy', 'patient=Patient/p1', patientApp, [['patient', 'Patient/p1'], ['patient', 'Patient/p1']]],
    ['Endpoints carry no patient data: not restricted', 'Endpoint', 'status=active', patientApp, [['status', 'active']]],
    ['a chain into Patient with Patient access', 'ImagingStudy', 'patient.identifier=x', practitioner, [['patient.identifier', 'x']]],
    ['_include is left to the answer filter', 'ImagingStudy', '_include=ImagingStudy:subject', practitioner, [['_include', 'ImagingStudy:subject']]],
  ] as const)('%s', (_situation, type, query, who, expected) => {
    expect(prepare(type, query, who)).toEqual(expected);
  });

  test.each([
    ['a type the token may not search', 'Observation', '', practitioner, 403],
    ['a patient app asking about another patient', 'ImagingStudy', 'patient=Patient/p2', patientApp, 403],
    ['a patient app asking for another Patient', 'Patient', '_id=p2', patientApp, 403],
    ['a chain into a type the token may not search', 'ImagingStudy', 'patient.name=x', holder('user/ImagingStudy.rs'), 403],
    ['_has into a type the token may not search', 'Patient', '_has:Observation:patient:code=1234', holder('user/Patient.rs'), 403],
    ['XML is not served', 'ImagingStudy', '_format=xml', practitioner, 406],
    ['_summary=text cannot be checked', 'ImagingStudy', '_summary=text', practitioner, 400],
    ['paging parameters on a type', 'ImagingStudy', '_getpages=abc', practitioner, 400],
  ] as const)('refuses %s', (_situation, type, query, who, status) => {
    expect(statusOf(() => prepare(type, query, who))).toBe(status);
  });
});

describe('lookedIntoType', () => {
  test.each([
    ['status', undefined],
    ['patient.name', 'Patient'],
    ['subject:Patient.birthdate', 'Patient'],
    ['subject:Group.name', 'Group'],
    ['endpoint.address', 'Endpoint'],
    ['performer.name', undefined],
    ['_has:Observation:patient:code', 'Observation'],
  ])('%s → %s', (name, expected) => {
    expect(lookedIntoType(name)).toBe(expected);
  });
});
