import type { ImagingStudy } from '@medplum/fhirtypes';
import { imagingStudyFromSnapshot } from '../mapping/imaging-study-mapping';
import type { MappingContext } from '../mapping/mapping-table';
import { mergeImagingStudy, sameContent } from './merge';
import { compareUids } from './study-order';
import { studySnapshot, withSeries } from '../test-support/study-events';

const context: MappingContext = { defaultPatientIdSystem: 'urn:x', skip: () => undefined };
const subject = { reference: 'urn:uuid:7d7f6b1e-0000-5000-8000-000000000000' };

/** What the server holds after storing `study`: an id, server metadata, the real Patient reference. */
function stored(study: ImagingStudy, versionId = '1'): ImagingStudy {
  return {
    ...structuredClone(study),
    id: '42',
    meta: { versionId, lastUpdated: '2024-01-05T10:20:00.000+00:00', source: '#abc' },
    subject: { reference: 'Patient/7' },
  };
}

const threeSeries = studySnapshot({
  series: [
    { number: 1, modality: 'CT', instances: 2 },
    { number: 2, modality: 'CT', instances: 1 },
    { number: 3, modality: 'SR', instances: 1 },
  ],
});
const mapped = (snapshot = threeSeries) => imagingStudyFromSnapshot(snapshot, subject, context);

describe('merging a snapshot into what FHIR holds', () => {
  it('when nothing is stored, the snapshot is the study', () => {
    const merged = mergeImagingStudy(undefined, mapped());
    expect(merged.numberOfSeries).toBe(3);
    expect(merged.numberOfInstances).toBe(4);
    expect(merged.subject).toEqual(subject);
  });

  it('when the same snapshot is replayed, nothing changes', () => {
    const existing = stored(mergeImagingStudy(undefined, mapped()));
    const merged = mergeImagingStudy(existing, mapped());
    expect(sameContent(merged, existing)).toBe(true);
    expect(merged.subject).toEqual({ reference: 'Patient/7' });
  });

  it('when an older snapshot arrives after a newer one, nothing changes', () => {
    const existing = stored(mergeImagingStudy(undefined, mapped()));
    const older = withSeries(threeSeries, 1);
    older.series[0] = { ...older.series[0]!, instances: older.series[0]!.instances.slice(0, 1) };
    const merged = mergeImagingStudy(existing, mapped(older));
    expect(sameContent(merged, existing)).toBe(true);
  });

  it('when a late series arrives, it is added and the counts follow', () => {
    const existing = stored(mergeImagingStudy(undefined, mapped(withSeries(threeSeries, 2))));
    expect(existing.numberOfSeries).toBe(2);
    const merged = mergeImagingStudy(existing, mapped());
    expect(sameContent(merged, existing)).toBe(false);
    expect(merged.numberOfSeries).toBe(3);
    expect(merged.numberOfInstances).toBe(4);
    expect(merged.modality?.map((coding) => coding.code)).toEqual(['CT', 'SR']);
    expect(merged.id).toBe('42');
  });

  it('when a late instance arrives in a stored series, it is added to that series', () => {
    const fewer = structuredClone(threeSeries);
    fewer.series[0]!.instances = fewer.series[0]!.instances.slice(0, 1);
    const existing = stored(mergeImagingStudy(undefined, mapped(fewer)));
    const merged = mergeImagingStudy(existing, mapped());
    expect(merged.series![0]!.numberOfInstances).toBe(2);
    expect(merged.numberOfInstances).toBe(4);
  });

  describe('an instance sent again under another series of the study is listed once, where the snapshot places it', () => {
    const moved = (uid: string, from: number, to: number) => {
      const snapshot = structuredClone(threeSeries);
      const [instance] = snapshot.series[from]!.instances.splice(snapshot.series[from]!.instances.findIndex((item) => item.sopInstanceUid === uid), 1);
      snapshot.series[to]!.instances.push(instance!);
      snapshot.series = snapshot.series.filter((series) => series.instances.length > 0);
      return snapshot;
    };
    const seriesOf = (study: ImagingStudy) => (study.series ?? []).map((series) => [series.number, (series.instance ?? []).map((instance) => instance.uid)]);
    const firstOf = (index: number) => threeSeries.series[index]!.instances[0]!.sopInstanceUid;

    it.each([
      ['one of two instances of series 1 moved to series 2: series 1 keeps the other', firstOf(0), 0, 1, [[1, 1], [2, 2], [3, 1]]],
      ['the only instance of series 2 moved to series 1: series 2 goes', firstOf(1), 1, 0, [[1, 3], [3, 1]]],
    ] as const)('%s', (_case, uid, from, to, counts) => {
      const existing = stored(mergeImagingStudy(undefined, mapped()));
      const merged = mergeImagingStudy(existing, mapped(moved(uid, from, to)));
      expect(merged.series!.map((series) => [series.number, series.numberOfInstances])).toEqual(counts);
      expect(seriesOf(merged).filter(([, uids]) => (uids as string[]).includes(uid))).toHaveLength(1);
      expect(merged.numberOfInstances).toBe(4);
      expect(merged.numberOfSeries).toBe(counts.length);
    });

    it('a series the snapshot does not list keeps its instances the snapshot does not list either (another node\'s, or a late series)', () => {
      const existing = stored(mergeImagingStudy(undefined, mapped()));
      const merged = mergeImagingStudy(existing, mapped(withSeries(threeSeries, 1)));
      expect(sameContent(merged, existing)).toBe(true);
    });
  });

  it('keeps what the server holds for an element both have, and what others added', () => {
    const existing = stored(mergeImagingStudy(undefined, mapped()));
    existing.description = 'added by someone else';
    existing.series![0]!.number = 99;
    existing.identifier!.push({ system: 'urn:other', value: 'x' });
    const merged = mergeImagingStudy(existing, mapped());
    expect(merged.description).toBe('added by someone else');
    expect(merged.series!.find((series) => series.uid === threeSeries.series[0]!.seriesInstanceUid)?.number).toBe(99);
    expect(merged.identifier).toHaveLength(2);
    expect(sameContent(merged, existing)).toBe(false); // the series order changed with the number
  });

  it('one accession is one ACSN identifier: the one without a system gives way once it comes with one', () => {
    const acsn = (system?: string) => ({
      type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'ACSN' }] },
      ...(system ? { system } : {}),
      value: 'H-42',
    });
    const existing = stored(mergeImagingStudy(undefined, mapped()));
    existing.identifier!.push(acsn());
    const qualified = mapped();
    qualified.identifier!.push(acsn('urn:oid:1.2.250.1.999.1.2'));

    const merged = mergeImagingStudy(existing, qualified);

    expect(merged.identifier?.filter((identifier) => identifier.value === 'H-42')).toEqual([acsn('urn:oid:1.2.250.1.999.1.2')]);
    // Two issuers of the same number stay two identifiers.
    const other = mapped();
    other.identifier!.push(acsn('urn:oid:1.2.250.1.999.9'));
    expect(mergeImagingStudy(stored(merged), other).identifier?.filter((identifier) => identifier.value === 'H-42')).toHaveLength(2);
  });

  it('fills an element the stored series lacks', () => {
    const existing = stored(mergeImagingStudy(undefined, mapped()));
    delete existing.series![0]!.number;
    const merged = mergeImagingStudy(existing, mapped());
    expect(merged.series![0]!.number).toBe(1);
  });

  it('never sends or compares server metadata', () => {
    const existing = stored(mergeImagingStudy(undefined, mapped()));
    existing.meta!.tag = [{ system: 'urn:tags', code: 'keep' }];
    const merged = mergeImagingStudy(existing, mapped());
    expect(merged.meta).toEqual({ tag: [{ system: 'urn:tags', code: 'keep' }] });
    expect(sameContent(merged, { ...existing, meta: { ...existing.meta, versionId: '9' } })).toBe(true);
  });

  it('is deterministic: the same content in any order gives the same bytes', () => {
    const reversed = structuredClone(threeSeries);
    reversed.series.reverse();
    for (const series of reversed.series) {
      series.instances.reverse();
    }
    expect(JSON.stringify(mergeImagingStudy(undefined, mapped(reversed)))).toBe(
      JSON.stringify(mergeImagingStudy(undefined, mapped())),
    );
  });

  it('orders series by number then UID, unnumbered last', () => {
    const snapshot = studySnapshot({
      series: [
        { uid: '1.2.10', number: 2, instances: 1 },
        { uid: '1.2.9', number: 2, instances: 1 },
        { uid: '1.2.1', number: 1, instances: 1 },
        { uid: '1.2.0', instances: 1 },
      ],
    });
    delete snapshot.series[3]!.attributes['00200011'];
    const merged = mergeImagingStudy(undefined, mapped(snapshot));
    expect(merged.series!.map((series) => series.uid)).toEqual(['1.2.1', '1.2.9', '1.2.10', '1.2.0']);
  });

  it('lists the elements in R4 order', () => {
    const existing = stored(mergeImagingStudy(undefined, mapped()));
    const merged = mergeImagingStudy(existing, mapped());
    expect(Object.keys(merged)).toEqual([
      'resourceType',
      'id',
      'identifier',
      'status',
      'modality',
      'subject',
      'started',
      'numberOfSeries',
      'numberOfInstances',
      'series',
    ]);
    expect(Object.keys(merged.series![0]!)).toEqual(['uid', 'number', 'modality', 'numberOfInstances', 'instance']);
  });

  it('keeps one of each series when the snapshot lists a UID twice', () => {
    const doubled = structuredClone(threeSeries);
    doubled.series.push(structuredClone(doubled.series[0]!));
    expect(mergeImagingStudy(undefined, mapped(doubled)).numberOfSeries).toBe(3);
  });
});

describe('UID order', () => {
  it.each([
    ['1.2.9', '1.2.10', -1],
    ['1.2.10', '1.2.9', 1],
    ['1.2', '1.2.0', -1],
    ['1.2.3', '1.2.3', 0],
    ['2.25.100', '1.3', 1],
  ])('%s vs %s', (a, b, sign) => {
    expect(Math.sign(compareUids(a, b))).toBe(sign);
  });
});
