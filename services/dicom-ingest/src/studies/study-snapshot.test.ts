import { studyCompletedV1DataSchema } from '@imaging-facade/events';
import { buildSnapshot } from './study-snapshot';
import { indexRecord } from '../test-support/records';

const STUDY = '1.2.3';

function counts(snapshot: ReturnType<typeof buildSnapshot>): Record<string, string[]> {
  return Object.fromEntries(
    (snapshot?.series ?? []).map((series) => [series.seriesInstanceUid, series.instances.map((instance) => instance.sopInstanceUid)]),
  );
}

describe('buildSnapshot', () => {
  it('returns nothing for an empty index', () => {
    expect(buildSnapshot(STUDY, [])).toBeUndefined();
  });

  it('groups instances by series, in the order they first arrived, and satisfies the event schema', () => {
    const snapshot = buildSnapshot(STUDY, [
      indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.1' }),
      indexRecord({ seriesInstanceUid: '1.2.3.2', sopInstanceUid: '1.2.3.2.1' }),
      indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.2' }),
    ]);

    expect(counts(snapshot)).toEqual({ '1.2.3.1': ['1.2.3.1.1', '1.2.3.1.2'], '1.2.3.2': ['1.2.3.2.1'] });
    expect(studyCompletedV1DataSchema.safeParse(snapshot).success).toBe(true);
  });

  it('when an instance is received again, it counts once, with its last record, in its first position', () => {
    const snapshot = buildSnapshot(STUDY, [
      indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.1', transferSyntaxUid: '1.2.840.10008.1.2' }),
      indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.2' }),
      indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.1', transferSyntaxUid: '1.2.840.10008.1.2.4.90' }),
    ]);

    expect(counts(snapshot)).toEqual({ '1.2.3.1': ['1.2.3.1.1', '1.2.3.1.2'] });
    expect(snapshot?.series[0]?.instances[0]?.transferSyntaxUid).toBe('1.2.840.10008.1.2.4.90');
  });

  it('when a late series arrives, the snapshot holds every series ever received, not only the new one', () => {
    const earlier = [
      indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.1' }),
      indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.2' }),
    ];
    const late = indexRecord({ seriesInstanceUid: '1.2.3.9', sopInstanceUid: '1.2.3.9.1' });

    expect(counts(buildSnapshot(STUDY, [...earlier, late]))).toEqual({
      '1.2.3.1': ['1.2.3.1.1', '1.2.3.1.2'],
      '1.2.3.9': ['1.2.3.9.1'],
    });
  });

  it('takes study attributes from the latest record and series attributes from the latest record of each series', () => {
    const name = (value: string) => ({ '00100010': { vr: 'PN', Value: [{ Alphabetic: value }] } });
    const description = (value: string) => ({ '0008103E': { vr: 'LO', Value: [value] } });
    const snapshot = buildSnapshot(STUDY, [
      indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.1', study: name('OLD^NAME'), series: description('first') }),
      indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.2', study: name('OLD^NAME'), series: description('corrected') }),
      indexRecord({ seriesInstanceUid: '1.2.3.2', sopInstanceUid: '1.2.3.2.1', study: name('NEW^NAME'), series: description('other') }),
    ]);

    expect(snapshot?.study).toEqual(name('NEW^NAME'));
    expect(snapshot?.series.map((series) => series.attributes)).toEqual([description('corrected'), description('other')]);
  });

  it('fills what the newest record leaves empty from the records before it, of the same patient, held by the study', () => {
    const study = (patientId: string, description?: string, referrer?: string) => ({
      '00100020': { vr: 'LO', Value: [patientId] },
      ...(description ? { '00081030': { vr: 'LO', Value: [description] } } : {}),
      ...(referrer ? { '00080090': { vr: 'PN', Value: [{ Alphabetic: referrer }] } } : {}),
    });
    const seriesDescription = (value?: string) => ({ '0008103E': value ? { vr: 'LO', Value: [value] } : { vr: 'LO' } });
    const snapshot = buildSnapshot(STUDY, [
      // the modality's images: description and series description on the first only
      indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.1', study: study('P1', 'CT THORAX'), series: seriesDescription('AXIAL') }),
      indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.2', study: study('P1'), series: seriesDescription() }),
      // filed under another patient: gives nothing
      indexRecord({ seriesInstanceUid: '1.2.3.3', sopInstanceUid: '1.2.3.3.1', study: study('OTHER', 'WRONG', 'WRONG^DOCTOR') }),
      // replaced by its re-send below: gives nothing
      indexRecord({ seriesInstanceUid: '1.2.3.2', sopInstanceUid: '1.2.3.2.1', study: study('P1', undefined, 'REPLACED^VALUE') }),
      indexRecord({ seriesInstanceUid: '1.2.3.2', sopInstanceUid: '1.2.3.2.1', study: study('P1') }),
    ]);

    expect(snapshot?.study).toEqual(study('P1', 'CT THORAX'));
    expect(snapshot?.series[0]?.attributes).toEqual(seriesDescription('AXIAL'));
  });

  it("takes the patient and the study from the images, not from a dose report sent last with a patient module of its own", () => {
    const images = {
      '00100010': { vr: 'PN', Value: [{ Alphabetic: 'Dupont^Jean' }] },
      '00100020': { vr: 'LO', Value: ['P1'] },
      '00100021': { vr: 'LO', Value: ['1.2.250.1.999.1.1'] },
      '00101000': { vr: 'LO', Value: ['OTHER-ID'] },
      '00081030': { vr: 'LO', Value: ['CT THORAX'] },
    };
    const doseReport = { '00100010': { vr: 'PN', Value: [{ Alphabetic: 'Dose^Test' }] }, '00100020': { vr: 'LO', Value: ['P1'] }, '00080090': { vr: 'PN', Value: [{ Alphabetic: 'Referrer^A' }] } };
    const snapshot = buildSnapshot(STUDY, [
      indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.1', study: images }),
      indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.2', study: images }),
      indexRecord({ seriesInstanceUid: '1.2.3.9', sopInstanceUid: '1.2.3.9.1', sopClassUid: '1.2.840.10008.5.1.4.1.1.88.67', study: doseReport }),
    ]);

    // The report's empty slots aside, what it adds (a referrer the images left out) is kept.
    expect(snapshot?.study).toEqual({ ...images, '00080090': doseReport['00080090'] });
  });

  it('a study of dose reports only takes its attributes from the newest of them', () => {
    const report = (name: string) => ({ '00100010': { vr: 'PN', Value: [{ Alphabetic: name }] }, '00100020': { vr: 'LO', Value: ['P1'] } });
    const snapshot = buildSnapshot(STUDY, [
      indexRecord({ seriesInstanceUid: '1.2.3.9', sopInstanceUid: '1.2.3.9.1', sopClassUid: '1.2.840.10008.5.1.4.1.1.88.67', study: report('OLD^NAME') }),
      indexRecord({ seriesInstanceUid: '1.2.3.9', sopInstanceUid: '1.2.3.9.2', sopClassUid: '1.2.840.10008.5.1.4.1.1.88.67', study: report('NEW^NAME') }),
    ]);
    expect(snapshot?.study).toEqual(report('NEW^NAME'));
  });

  it('spans the earliest and latest reception, even when appends came slightly out of order', () => {
    const snapshot = buildSnapshot(STUDY, [
      indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.1', receivedAt: '2026-01-01T10:00:01.000Z' }),
      indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.2', receivedAt: '2026-01-01T10:00:00.500Z' }),
      indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: '1.2.3.1.3', receivedAt: '2026-01-01T10:05:00.000Z' }),
    ]);

    expect(snapshot?.firstReceivedAt).toBe('2026-01-01T10:00:00.500Z');
    expect(snapshot?.lastReceivedAt).toBe('2026-01-01T10:05:00.000Z');
  });

  describe('rejection notes (IHE IOCM)', () => {
    const KOS = '1.2.840.10008.5.1.4.1.1.88.59';
    const titled = (code: string) => ({ '0040A043': { vr: 'SQ', Value: [{ '00080100': { vr: 'SH', Value: [code] }, '00080102': { vr: 'SH', Value: ['DCM'] } }] } });
    const sequence = (...items: object[]) => ({ vr: 'SQ', Value: items });
    const uid = (value: string) => ({ vr: 'UI', Value: [value] });
    const evidence = (study: string, sops: string[]) => ({
      '0040A375': sequence({
        '0020000D': uid(study),
        '00081115': sequence({ '0020000E': uid('1.2.3.1'), '00081199': sequence(...sops.map((sop) => ({ '00081155': uid(sop) }))) }),
      }),
    });
    const note = (sop: string, code: string, rejects: string[], study = STUDY) =>
      indexRecord({ seriesInstanceUid: '1.2.3.8', sopInstanceUid: sop, sopClassUid: KOS, instance: titled(code), content: evidence(study, rejects) });
    const image = (sop: string, name = 'RIGHT^PATIENT') => indexRecord({ seriesInstanceUid: '1.2.3.1', sopInstanceUid: sop, study: { '00100010': { vr: 'PN', Value: [{ Alphabetic: name }] } } });

    it('hides the instances a note rejects and the note, names them in `rejected`, and takes no attribute from them', () => {
      const snapshot = buildSnapshot(STUDY, [image('1.2.3.1.1'), image('1.2.3.1.2', 'WRONG^PATIENT'), note('1.2.3.8.1', '113038', ['1.2.3.1.2'])]);
      expect(counts(snapshot)).toEqual({ '1.2.3.1': ['1.2.3.1.1'] });
      // The note too, with its reason: a consumer that listed it before drops it.
      expect(snapshot?.rejected).toEqual([{ sopInstanceUid: '1.2.3.1.2', reason: '113038' }, { sopInstanceUid: '1.2.3.8.1', reason: '113038' }]);
      expect(snapshot?.study['00100010']).toEqual({ vr: 'PN', Value: [{ Alphabetic: 'RIGHT^PATIENT' }] });
      expect(studyCompletedV1DataSchema.safeParse(snapshot).success).toBe(true);
    });

    it('a rejected instance sent again after its note stays hidden (the note decides)', () => {
      const snapshot = buildSnapshot(STUDY, [image('1.2.3.1.1'), image('1.2.3.1.2'), note('1.2.3.8.1', '113001', ['1.2.3.1.2']), image('1.2.3.1.2')]);
      expect(counts(snapshot)).toEqual({ '1.2.3.1': ['1.2.3.1.1'] });
    });

    it('every instance rejected: no series, every one named, the study\'s attributes still given (its patient decides who hides it)', () => {
      const snapshot = buildSnapshot(STUDY, [image('1.2.3.1.1'), image('1.2.3.1.2'), note('1.2.3.8.1', '113039', ['1.2.3.1.1', '1.2.3.1.2'])]);
      expect(snapshot?.series).toEqual([]);
      expect(snapshot?.rejected?.map((item) => item.sopInstanceUid)).toEqual(['1.2.3.1.1', '1.2.3.1.2', '1.2.3.8.1']);
      expect(snapshot?.study['00100010']).toEqual({ vr: 'PN', Value: [{ Alphabetic: 'RIGHT^PATIENT' }] });
      expect(studyCompletedV1DataSchema.safeParse(snapshot).success).toBe(true);
    });

    it('a key image selection is listed and rejects nothing', () => {
      const snapshot = buildSnapshot(STUDY, [image('1.2.3.1.1'), note('1.2.3.8.1', '113000', ['1.2.3.1.1'])]);
      expect(counts(snapshot)).toEqual({ '1.2.3.1': ['1.2.3.1.1'], '1.2.3.8': ['1.2.3.8.1'] });
      expect(snapshot?.rejected).toBeUndefined();
    });

    it('a note that rejects nothing of its study (another study\'s references, or none carried) is listed as any document', () => {
      const snapshot = buildSnapshot(STUDY, [note('1.2.3.8.1', '113001', ['9.9.9.1'], '9.9.9'), image('1.2.3.1.1'), note('1.2.3.8.2', '113001', [])]);
      expect(counts(snapshot)).toEqual({ '1.2.3.8': ['1.2.3.8.1', '1.2.3.8.2'], '1.2.3.1': ['1.2.3.1.1'] });
      expect(snapshot?.rejected).toBeUndefined();
    });

    it('a note alone in its study, rejecting another study\'s instances only, is listed (not an empty study)', () => {
      const snapshot = buildSnapshot(STUDY, [note('1.2.3.8.1', '113001', ['9.9.9.1'], '9.9.9')]);
      expect(counts(snapshot)).toEqual({ '1.2.3.8': ['1.2.3.8.1'] });
      expect(studyCompletedV1DataSchema.safeParse(snapshot).success).toBe(true);
    });
  });
});
