import { createLogger } from '@imaging-facade/service-kit';
import type { Kafka } from 'kafkajs';
import { StudyCatalog } from './study-catalog';
import { studySnapshot } from './test-support/snapshots';

const SYSTEM = 'urn:oid:1.2.250.1.999.1';

function catalog(): StudyCatalog {
  return new StudyCatalog({ kafka: {} as Kafka, topicPrefix: '', defaultPatientIdSystem: SYSTEM, logger: createLogger('test', 'silent'), keepSnapshots: true });
}

describe('StudyCatalog (applying snapshots)', () => {
  test('a study is listed under its patient, with what the desk shows of it', () => {
    const studies = catalog();
    const snapshot = studySnapshot({ patientId: 'P1', patientName: 'DUPONT^HÉLÈNE', birthDate: '19800101', accessionNumber: 'A1', studyDate: '20240105', description: 'CT THORAX', modalities: ['CT', 'SR', 'CT'] });
    studies.apply(snapshot);
    expect(studies.patient(`${SYSTEM}|P1`)).toMatchObject({
      key: `${SYSTEM}|P1`,
      identifier: { system: SYSTEM, value: 'P1' },
      name: 'DUPONT^HÉLÈNE',
      birthDate: '1980-01-01',
      studies: [{ studyInstanceUid: snapshot.studyInstanceUid, accessionNumber: 'A1', date: '2024-01-05', description: 'CT THORAX', modalities: ['CT', 'SR'], seriesCount: 3, instanceCount: 3 }],
    });
    expect(studies.study(snapshot.studyInstanceUid)?.patientKey).toBe(`${SYSTEM}|P1`);
    expect(studies.snapshotOf(snapshot.studyInstanceUid)).toBe(snapshot);
  });

  test('when a corrected snapshot moves a study to another patient, the first patient no longer lists it', () => {
    const studies = catalog();
    const first = studySnapshot({ patientId: 'P1', lastReceivedAt: '2025-01-01T10:00:00Z' });
    studies.apply(first);
    studies.apply({ ...studySnapshot({ studyInstanceUid: first.studyInstanceUid, patientId: 'P2', lastReceivedAt: '2025-01-01T10:05:00Z' }) });
    expect(studies.patient(`${SYSTEM}|P1`)).toBeUndefined();
    expect(studies.studiesOf(`${SYSTEM}|P2`).map((s) => s.studyInstanceUid)).toEqual([first.studyInstanceUid]);
  });

  test('an older snapshot arriving late does not replace a newer one', () => {
    const studies = catalog();
    const uid = studySnapshot().studyInstanceUid;
    studies.apply(studySnapshot({ studyInstanceUid: uid, patientId: 'P1', description: 'new', lastReceivedAt: '2025-01-01T10:05:00Z' }));
    studies.apply(studySnapshot({ studyInstanceUid: uid, patientId: 'P1', description: 'old', lastReceivedAt: '2025-01-01T10:00:00Z' }));
    expect(studies.studiesOf(`${SYSTEM}|P1`)[0]?.description).toBe('new');
  });

  test('a study without Patient ID is catalogued but belongs to no patient', () => {
    const studies = catalog();
    const snapshot = studySnapshot({});
    studies.apply(snapshot);
    expect(studies.size).toBe(1);
    expect(studies.study(snapshot.studyInstanceUid)?.patientKey).toBeUndefined();
  });

  test('patientKeys lists every patient with a study, once', () => {
    const studies = catalog();
    studies.apply(studySnapshot({ patientId: 'P1' }));
    studies.apply(studySnapshot({ patientId: 'P1' }));
    studies.apply(studySnapshot({ patientId: 'P2', issuer: '1.2.3' }));
    studies.apply(studySnapshot({}));
    expect(studies.patientKeys().sort()).toEqual([`${SYSTEM}|P1`, 'urn:oid:1.2.3|P2']);
  });

  test('studies are listed most recent first', () => {
    const studies = catalog();
    studies.apply(studySnapshot({ patientId: 'P1', studyDate: '20230101', description: 'old' }));
    studies.apply(studySnapshot({ patientId: 'P1', studyDate: '20250101', description: 'new' }));
    expect(studies.studiesOf(`${SYSTEM}|P1`).map((s) => s.description)).toEqual(['new', 'old']);
  });

  describe('search', () => {
    const studies = catalog();
    studies.apply(studySnapshot({ patientId: 'P1', patientName: 'DUPONT^HÉLÈNE', birthDate: '19800101' }));
    studies.apply(studySnapshot({ patientId: 'P1', issuer: '1.2.3', patientName: 'MARTIN^JEAN', birthDate: '19700505' }));
    studies.apply(studySnapshot({ patientId: 'P3', patientName: 'DUPONT^MARC', birthDate: '19800101' }));

    test.each([
      ['by identifier value: every system that has it', () => studies.findByIdentifier('P1'), [`${SYSTEM}|P1`, 'urn:oid:1.2.3|P1']],
      ['by identifier in one system', () => studies.findByIdentifier(' P1 ', 'urn:oid:1.2.3'), ['urn:oid:1.2.3|P1']],
      ['by an unknown identifier: nobody', () => studies.findByIdentifier('P9'), []],
      ['by family name and birth date', () => studies.findByNameAndBirthDate('dupont', '1980-01-01'), [`${SYSTEM}|P1`, `${SYSTEM}|P3`]],
      ['by name without accents, any case, word starts', () => studies.findByNameAndBirthDate('Dup helene', '1980-01-01'), [`${SYSTEM}|P1`]],
      ['by name in DICOM form', () => studies.findByNameAndBirthDate('DUPONT^MARC', '1980-01-01'), [`${SYSTEM}|P3`]],
      ['by the right name but another birth date: nobody', () => studies.findByNameAndBirthDate('dupont', '1980-01-02'), []],
      ['by an empty name: nobody', () => studies.findByNameAndBirthDate(' ^ ', '1980-01-01'), []],
    ])('%s', (_situation, find, keys) => {
      expect(find().map((patient) => patient.key).sort()).toEqual([...keys].sort());
    });
  });
});
