import { belongsTo, namedPatients, patientsOf, referencedId, restrictToPatient } from './compartment';

describe('referencedId', () => {
  test.each([
    ['relative', 'Patient/123', '123'],
    ['versioned', 'Patient/123/_history/4', '123'],
    ['absolute', 'http://localhost:8080/fhir/Patient/abc-1', 'abc-1'],
    ['another type', 'Group/123', undefined],
    ['a type whose name ends like it', 'RelatedPatient/1', undefined],
    ['nothing', undefined, undefined],
  ])('%s: %s', (_situation, reference, expected) => {
    expect(referencedId(reference, 'Patient')).toBe(expected);
  });
});

describe('patientsOf / belongsTo', () => {
  test.each([
    ['a Patient is its own', { resourceType: 'Patient', id: 'p1' }, ['p1'], true],
    ['another Patient', { resourceType: 'Patient', id: 'p2' }, ['p2'], false],
    ['a study of the patient', { resourceType: 'ImagingStudy', subject: { reference: 'Patient/p1' } }, ['p1'], true],
    ['a study of another patient', { resourceType: 'ImagingStudy', subject: { reference: 'Patient/p2' } }, ['p2'], false],
    ['a study of a group belongs to no patient', { resourceType: 'ImagingStudy', subject: { reference: 'Group/g' } }, [], false],
    ['an observation of the patient', { resourceType: 'Observation', subject: { reference: 'Patient/p1' } }, ['p1'], true],
    ['a document of another patient', { resourceType: 'DocumentReference', subject: { reference: 'Patient/p2' } }, ['p2'], false],
    ['an Endpoint is outside the compartment', { resourceType: 'Endpoint', id: 'e' }, undefined, true],
  ])('%s', (_situation, resource, patients, belongs) => {
    expect(patientsOf(resource)).toEqual(patients);
    expect(belongsTo(resource, 'p1')).toBe(belongs);
  });
});

describe('restrictToPatient', () => {
  test.each([
    ['a study search gets the patient', 'ImagingStudy', [['status', 'available']], [['status', 'available'], ['patient', 'Patient/p1']]],
    ['a Patient search gets the id', 'Patient', [['name', 'x']], [['name', 'x'], ['_id', 'p1']]],
    ['an Endpoint search is left alone', 'Endpoint', [['status', 'active']], [['status', 'active']]],
  ] as const)('%s', (_situation, type, params, expected) => {
    expect(restrictToPatient(type, params, 'p1')).toEqual(expected);
  });
});

describe('namedPatients', () => {
  test.each([
    ['patient reference', 'ImagingStudy', [['patient', 'Patient/p2']], ['p2']],
    ['bare id', 'ImagingStudy', [['patient', 'p2']], ['p2']],
    ['subject, several', 'Observation', [['subject', 'Patient/p1,Patient/p3']], ['p1', 'p3']],
    ['Patient by _id', 'Patient', [['_id', 'p2']], ['p2']],
    ['none', 'ImagingStudy', [['status', 'available']], []],
  ] as const)('%s', (_situation, type, params, expected) => {
    expect(namedPatients(type, params)).toEqual(expected);
  });
});
