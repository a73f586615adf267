import { copyFileSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '@imaging-facade/service-kit';
import type { Kafka } from 'kafkajs';
import { StudyCatalog } from './study-catalog';
import { studySnapshot, testUid } from './test-support/snapshots';

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
    expect(studies.snapshotOf(snapshot.studyInstanceUid)).toEqual(snapshot);
  });

  test('a kept snapshot reads back as applied, every value of its DICOM JSON included, as a new copy each time', () => {
    const studies = catalog();
    const snapshot = studySnapshot({ patientId: 'P1', patientName: 'Yamada^Tarou=山田^太郎=やまだ^たろう', description: 'Ünïcödé ✓', modalities: ['CT', 'SR'] });
    const [series] = snapshot.series;
    series!.instances[0] = {
      ...series!.instances[0]!,
      attributes: { '00200013': { vr: 'IS', Value: [1] }, '00281050': { vr: 'DS', Value: [-600.5, 1e-7] }, '00081140': { vr: 'SQ', Value: [{}] }, '00180050': { vr: 'DS' } },
      storagePath: 'a/b/c.dcm',
      sizeBytes: 39_098,
    };
    snapshot.manifest = { seriesInstanceUid: '2.25.1', sopInstanceUid: '2.25.2', sopClassUid: '1.2.840.10008.5.1.4.1.1.88.59', transferSyntaxUid: '1.2.840.10008.1.2.1', storagePath: 'm.dcm', createdAt: '2025-01-01T10:00:00.000Z', referencedInstances: 2 };
    studies.apply(snapshot);

    const first = studies.snapshotOf(snapshot.studyInstanceUid)!;
    expect(first).toEqual(snapshot);
    first.series.pop();
    expect(studies.snapshotOf(snapshot.studyInstanceUid)).toEqual(snapshot);
    expect(studies.snapshotOf(testUid())).toBeUndefined();
  });

  test('a catalogue that does not keep snapshots has none to give', () => {
    const studies = new StudyCatalog({ kafka: {} as Kafka, topicPrefix: '', defaultPatientIdSystem: SYSTEM, logger: createLogger('test', 'silent') });
    const snapshot = studySnapshot({ patientId: 'P1' });
    studies.apply(snapshot);
    expect(studies.study(snapshot.studyInstanceUid)).toBeDefined();
    expect(studies.snapshotOf(snapshot.studyInstanceUid)).toBeUndefined();
  });

  test('when a corrected snapshot moves a study to another patient, the first patient no longer lists it', () => {
    const studies = catalog();
    const first = studySnapshot({ patientId: 'P1', lastReceivedAt: '2025-01-01T10:00:00Z' });
    studies.apply(first);
    studies.apply({ ...studySnapshot({ studyInstanceUid: first.studyInstanceUid, patientId: 'P2', lastReceivedAt: '2025-01-01T10:05:00Z' }) });
    expect(studies.patient(`${SYSTEM}|P1`)).toBeUndefined();
    expect(studies.studiesOf(`${SYSTEM}|P2`).map((s) => s.studyInstanceUid)).toEqual([first.studyInstanceUid]);
  });

  test('a study whose every instance was rejected (IHE IOCM: no series) is forgotten', () => {
    const studies = catalog();
    const first = studySnapshot({ patientId: 'P1', lastReceivedAt: '2025-01-01T10:00:00Z' });
    studies.apply(first);
    studies.apply({ ...first, series: [], rejected: [{ sopInstanceUid: '2.25.1', reason: '113039' }], lastReceivedAt: '2025-01-01T10:05:00Z' });
    expect(studies.study(first.studyInstanceUid)).toBeUndefined();
    expect(studies.patient(`${SYSTEM}|P1`)).toBeUndefined();
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

describe('StudyCatalog (its file)', () => {
  const onFile = (directory: string, topicPrefix = '') =>
    new StudyCatalog({ kafka: {} as Kafka, topicPrefix, defaultPatientIdSystem: SYSTEM, logger: createLogger('test', 'silent'), keepSnapshots: true, directory });

  test('a catalogue opened again on its file holds what was applied, snapshots included; its directory is closed to other users', async () => {
    const directory = path.join(mkdtempSync(path.join(tmpdir(), 'study-catalog-')), 'made-by-the-catalogue');
    const first = onFile(directory);
    const snapshot = studySnapshot({ patientId: 'P1', patientName: 'DUPONT^HELENE', birthDate: '19800101' });
    first.apply(snapshot);
    await first.stop();

    expect(statSync(directory).mode & 0o007).toBe(0); // no access for other users

    const again = onFile(directory);
    expect(again.file).toBe(path.join(directory, 'imaging.study-completed.v1.sqlite'));
    expect(again.size).toBe(1);
    expect(again.snapshotOf(snapshot.studyInstanceUid)).toEqual(snapshot);
    expect(again.findByNameAndBirthDate('dupont', '1980-01-01').map((patient) => patient.key)).toEqual([`${SYSTEM}|P1`]);
    await again.stop();
  });

  test('a file made from another topic is not used: the catalogue starts empty', async () => {
    const directory = mkdtempSync(path.join(tmpdir(), 'study-catalog-'));
    const first = onFile(directory, 'a.');
    first.apply(studySnapshot({ patientId: 'P1' }));
    await first.stop();
    copyFileSync(first.file, path.join(directory, 'b.imaging.study-completed.v1.sqlite'));

    const other = onFile(directory, 'b.');
    expect(other.size).toBe(0);
    await other.stop();
  });
});
