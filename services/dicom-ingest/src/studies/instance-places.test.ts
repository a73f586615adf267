import { supersededPlaces } from './instance-places';
import type { IndexRecord } from './study-index';
import { indexRecord } from '../test-support/records';

/** The line of instance `sop` sent with series `series` (its place: `1.2.3/<series>/<sop>.dcm`). */
const line = (series: string, sop: string, sizeBytes = 1000): IndexRecord => indexRecord({ seriesInstanceUid: series, sopInstanceUid: sop, sizeBytes });

/** The last line of each instance, as the readers of an index take it. */
function lastOf(lines: IndexRecord[]): Map<string, IndexRecord> {
  return new Map(lines.map((record) => [record.sopInstanceUid, record]));
}

describe('supersededPlaces (one place per instance: the newest send wins)', () => {
  const [a, b, c] = ['1.2.3.1', '1.2.3.2', '1.2.3.3'];

  it.each([
    { situation: 'instances sent once each', lines: [line(a, '9.1'), line(b, '9.2')], superseded: [] },
    { situation: 'an instance sent again with its series (one place, replaced by the rename)', lines: [line(a, '9.1'), line(a, '9.1', 2000)], superseded: [] },
    { situation: 'an instance sent again with another series', lines: [line(a, '9.1'), line(a, '9.2'), line(b, '9.1')], superseded: [`1.2.3/${a}/9.1.dcm`] },
    { situation: 'an instance moved twice', lines: [line(a, '9.1'), line(b, '9.1'), line(c, '9.1')], superseded: [`1.2.3/${a}/9.1.dcm`, `1.2.3/${b}/9.1.dcm`] },
    { situation: 'an instance moved, then sent with its first series again', lines: [line(a, '9.1'), line(b, '9.1'), line(a, '9.1')], superseded: [`1.2.3/${b}/9.1.dcm`] },
  ])('$situation', ({ lines, superseded }) => {
    expect(supersededPlaces(lines, lastOf(lines))).toEqual(superseded);
  });

  it('the held line need not be the last one (a later copy void): the places of the others are superseded, its own is not', () => {
    const held = line(a, '9.1');
    const failed = line(b, '9.1');
    expect(supersededPlaces([held, failed], new Map([['9.1', held]]))).toEqual([`1.2.3/${b}/9.1.dcm`]);
  });

  it('an instance without a held line (its only copies void) keeps its places', () => {
    expect(supersededPlaces([line(a, '9.1'), line(b, '9.1')], new Map())).toEqual([]);
  });

  it('never names the place of a held line, even one another instance\'s line names', () => {
    const kept = line(a, '9.1');
    const odd = { ...line(b, '9.2'), storagePath: kept.storagePath };
    expect(supersededPlaces([odd, line(a, '9.2'), kept], new Map([['9.1', kept], ['9.2', line(a, '9.2')]]))).toEqual([]);
  });
});
