import type { DicomJson } from '@imaging-facade/dicom';
import type { StudyCompletedV1Data } from '@imaging-facade/events';
import type { Coding, DocumentReference, Patient } from '@medplum/fhirtypes';
import { nodeEndpoint } from './endpoint-mapping';
import { insOf, manifestDocumentReference, manifestEntryIdentifier, type ManifestContext } from './manifest-mapping';
import { DEFAULT_NODE_SETTINGS, type NodeSettings } from '../node-settings';
import { manifestOf } from '../test-support/dose-content';
import { validateR4 } from '../test-support/fhir-validation';
import { attr, studySnapshot } from '../test-support/study-events';

const node: NodeSettings = {
  dicomWebBaseUrl: 'https://pacs.example/dicomweb',
  nodeUid: '1.2.250.1.999.7',
  nodeName: 'Node A',
  organization: { name: 'Centre d’imagerie A', system: 'urn:oid:1.2.250.1.71.4.2.2', value: '1750000000' },
  nationalProfile: 'none',
};
const CT: Coding = { system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'CT' };
const NIR = '1.2.250.1.213.1.4.8';

function snapshotWith(study: DicomJson = {}): StudyCompletedV1Data {
  const snapshot = studySnapshot({ series: [{ instances: 2 }] });
  return { ...snapshot, study: { ...snapshot.study, ...study }, manifest: manifestOf(snapshot.studyInstanceUid) };
}

function map(data: StudyCompletedV1Data, overrides: Partial<ManifestContext> = {}) {
  return manifestDocumentReference({
    data,
    manifest: data.manifest!,
    subject: { reference: 'Patient/p1' },
    study: { reference: 'ImagingStudy/s1', type: 'ImagingStudy', identifier: { system: 'urn:dicom:uid', value: `urn:oid:${data.studyInstanceUid}` } },
    started: '2024-01-05T10:15:00+01:00',
    modalities: [CT],
    settings: node,
    sourcePatient: () => ({ resourceType: 'Patient', name: [{ family: 'Doe', given: ['Jane'] }], gender: 'female', birthDate: '1980-02-15' }),
    ...overrides,
  });
}

const data = snapshotWith({ '00080050': { vr: 'SH', Value: ['ACC-9'] }, '00081030': { vr: 'LO', Value: ['CT thorax'] } });
const { documentReference: doc, notes } = map(data);

describe('the manifest DocumentReference (IHE MHD-I / RAD MADO, DICOM KOS)', () => {
  it('is valid R4', () => {
    expect(validateR4(doc)).toEqual([]);
    expect(notes).toEqual([]);
  });

  it.each<[string, (d: DocumentReference) => unknown, unknown]>([
    ['masterIdentifier: the KOS SOP Instance UID', (d) => d.masterIdentifier, { system: 'urn:ietf:rfc:3986', value: `urn:oid:${data.manifest!.sopInstanceUid}` }],
    [
      'identifier: the stable entry per node and study, then the master identifier (MADO)',
      (d) => d.identifier,
      [manifestEntryIdentifier(node, data.studyInstanceUid), { use: 'usual', system: 'urn:ietf:rfc:3986', value: `urn:oid:${data.manifest!.sopInstanceUid}` }],
    ],
    ['status', (d) => d.status, 'current'],
    ['type: LOINC 18748-4', (d) => d.type, { coding: [{ system: 'http://loinc.org', code: '18748-4', display: 'Diagnostic imaging study' }] }],
    ['category: LOINC 18726-0', (d) => d.category, [{ coding: [{ system: 'http://loinc.org', code: '18726-0', display: 'Radiology studies (set)' }] }]],
    ['subject', (d) => d.subject, { reference: 'Patient/p1' }],
    ['date: the study start', (d) => d.date, '2024-01-05T10:15:00+01:00'],
    ['description: StudyDescription', (d) => d.description, 'CT thorax'],
    ['author and custodian: the configured organization', (d) => [d.author, d.custodian], [[{ reference: '#manifest-organization' }], { reference: '#manifest-organization' }]],
    [
      'the organization, contained',
      (d) => d.contained,
      [{ resourceType: 'Organization', id: 'manifest-organization', identifier: [{ system: 'urn:oid:1.2.250.1.71.4.2.2', value: '1750000000' }], name: 'Centre d’imagerie A' }],
    ],
    [
      'content: the KOS, application/dicom, by its WADO-RS URL on the Endpoint base',
      (d) => d.content,
      [
        {
          attachment: {
            contentType: 'application/dicom',
            url: `https://pacs.example/dicomweb/studies/${data.studyInstanceUid}/series/${data.manifest!.seriesInstanceUid}/instances/${data.manifest!.sopInstanceUid}`,
            title: 'Manifest',
            creation: '2024-01-05T12:00:00.000Z',
          },
          format: { system: 'http://dicom.nema.org/resources/ontology/DCMUID', code: '1.2.840.10008.5.1.4.1.1.88.59', display: 'Key Object Selection Document' },
        },
      ],
    ],
    ['context.event: the modalities', (d) => d.context?.event, [{ coding: [CT] }]],
    ['context.period: the study start', (d) => d.context?.period, { start: '2024-01-05T10:15:00+01:00' }],
    [
      'context.related: the ImagingStudy with its Study Instance UID, and the accession number',
      (d) => d.context?.related,
      [
        { reference: 'ImagingStudy/s1', type: 'ImagingStudy', identifier: { system: 'urn:dicom:uid', value: `urn:oid:${data.studyInstanceUid}` } },
        { identifier: { type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'ACSN', display: 'Accession ID' }] }, value: 'ACC-9' } },
      ],
    ],
    ['no source patient outside France', (d) => d.context?.sourcePatientInfo, undefined],
  ])('%s', (_element, read, expected) => {
    expect(read(doc)).toEqual(expected);
  });

  it('uses a LOINC procedure code of the study as type when it has one', () => {
    const withProcedure = snapshotWith({
      '00081032': {
        vr: 'SQ',
        Value: [
          { '00080100': attr('SH', 'CTCHEST'), '00080102': attr('SH', '99LOCAL'), '00080104': attr('LO', 'CT chest') },
          { '00080100': attr('SH', '24627-2'), '00080102': attr('SH', 'LN'), '00080104': attr('LO', 'CT Chest') },
        ],
      },
    });
    expect(map(withProcedure).documentReference.type).toEqual({ coding: [{ system: 'http://loinc.org', code: '24627-2', display: 'CT Chest' }] });
  });

  it('names the accession number by its issuer when the study gives one (ISO → urn:oid:)', () => {
    const issued = snapshotWith({
      '00080050': attr('SH', 'ACC-9'),
      '00080051': attr('SQ', { '00400032': attr('UT', '1.2.250.1.999.8'), '00400033': attr('CS', 'ISO') }),
    });
    expect(map(issued).documentReference.context?.related?.[1]?.identifier?.system).toBe('urn:oid:1.2.250.1.999.8');
  });

  it('without a full start time, is dated by the manifest and has no period', () => {
    const dated = map(data, { started: '2024-01-05' }).documentReference;
    expect(dated.date).toBe('2024-01-05T12:00:00.000Z');
    expect(dated.context?.period).toEqual({ start: '2024-01-05' });
    const undated = map(data, { started: undefined }).documentReference;
    expect(undated.context).not.toHaveProperty('period');
  });

  it('keeps the same identity (entry identifier) for a newer manifest of the same study, another for another study or node', () => {
    const newer = map({ ...data, manifest: manifestOf(data.studyInstanceUid, { sopInstanceUid: '2.25.42' }) }).documentReference;
    expect(newer.identifier?.[0]).toEqual(doc.identifier?.[0]);
    expect(newer.masterIdentifier?.value).toBe('urn:oid:2.25.42');
    expect(manifestEntryIdentifier(node, '1.2.3')).not.toEqual(manifestEntryIdentifier(node, '1.2.4'));
    expect(manifestEntryIdentifier(node, '1.2.3')).not.toEqual(manifestEntryIdentifier({ nodeUid: '1.2.9' }, '1.2.3'));
  });
});

describe('the manifest DocumentReference for French deployments (DMP, DRIMbox)', () => {
  const france = { ...node, nationalProfile: 'fr' as const };
  const withIns = snapshotWith({
    '00101002': attr('SQ', { '00100020': attr('LO', '279035121518989'), '00100024': attr('SQ', { '00400032': attr('UT', NIR), '00400033': attr('CS', 'ISO') }) }),
  });
  const { documentReference: fr, notes: frNotes } = map(withIns, { settings: france });

  it('adds the national type IMG-KOS and class 31 as extra codings', () => {
    expect(fr.type?.coding?.map((coding) => [coding.system, coding.code])).toEqual([
      ['http://loinc.org', '18748-4'],
      ['urn:oid:1.2.250.1.213.1.1.4.12', 'IMG-KOS'],
    ]);
    expect(fr.category?.[0]?.coding?.map((coding) => [coding.system, coding.code])).toEqual([
      ['http://loinc.org', '18726-0'],
      ['urn:oid:1.2.250.1.213.1.1.4.1', '31'],
    ]);
  });

  it("gives the patient's INS as the source patient: a contained Patient, referenced by context.sourcePatientInfo", () => {
    expect(fr.context?.sourcePatientInfo).toEqual({ reference: '#source-patient' });
    const patient = fr.contained?.find((resource): resource is Patient => resource.resourceType === 'Patient');
    expect(patient).toEqual({
      resourceType: 'Patient',
      id: 'source-patient',
      identifier: [{ use: 'official', system: `urn:oid:${NIR}`, value: '279035121518989' }],
      name: [{ family: 'Doe', given: ['Jane'] }],
      gender: 'female',
      birthDate: '1980-02-15',
    });
    expect(frNotes).toEqual([]);
    expect(validateR4(fr)).toEqual([]);
  });

  it('without an INS, has no source patient and says so', () => {
    const { documentReference, notes: missing } = map(snapshotWith(), { settings: france });
    expect(documentReference.context?.sourcePatientInfo).toBeUndefined();
    expect(documentReference.contained?.map((resource) => resource.resourceType)).toEqual(['Organization']);
    expect(missing).toEqual([expect.stringMatching(/no INS/)]);
  });
});

describe('insOf', () => {
  it.each<[string, DicomJson, unknown]>([
    ['the Patient ID itself, by Issuer of Patient ID', { '00100020': attr('LO', '1234'), '00100021': attr('LO', NIR) }, { oid: NIR, value: '1234' }],
    ['an Other Patient ID, by the Universal Entity ID of its issuer', { '00101002': attr('SQ', { '00100020': attr('LO', '99'), '00100024': attr('SQ', { '00400032': attr('UT', '1.2.250.1.213.1.4.10') }) }) }, { oid: '1.2.250.1.213.1.4.10', value: '99' }],
    ['a local ID only', { '00100020': attr('LO', '1234'), '00100021': attr('LO', 'HOSP') }, undefined],
    ['an INS issuer without a value', { '00100021': attr('LO', NIR) }, undefined],
  ])('finds %s', (_situation, study, expected) => {
    expect(insOf(study)).toEqual(expected);
  });
});

describe("the node's Endpoint", () => {
  it('is an active DICOM WADO-RS endpoint on the configured base URL, valid R4', () => {
    const endpoint = nodeEndpoint(node);
    expect(endpoint).toMatchObject({
      identifier: [{ system: 'urn:ietf:rfc:3986', value: 'urn:oid:1.2.250.1.999.7' }],
      status: 'active',
      connectionType: { system: 'http://terminology.hl7.org/CodeSystem/endpoint-connection-type', code: 'dicom-wado-rs' },
      payloadMimeType: ['application/dicom'],
      address: 'https://pacs.example/dicomweb',
      name: 'Node A',
    });
    expect(endpoint.payloadType?.[0]?.coding?.map((coding) => coding.code)).toEqual(['113014', 'none']);
    expect(validateR4(endpoint)).toEqual([]);
    expect(validateR4(nodeEndpoint(DEFAULT_NODE_SETTINGS))).toEqual([]);
  });
});
