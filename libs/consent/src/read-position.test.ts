import { startingPoints, type PartitionBounds } from './read-position';

const partitions: PartitionBounds[] = [
  { partition: 0, low: 0n, high: 10n },
  { partition: 1, low: 5n, high: 8n },
  { partition: 2, low: 0n, high: 0n },
];

describe('startingPoints (where a view kept on disk reads on after a restart)', () => {
  test.each([
    { situation: 'nothing saved: every partition from the beginning', saved: [], reset: false, from: [] },
    { situation: 'saved offsets within their partitions: from there', saved: [[0, 7n], [1, 8n]], reset: false, from: [[0, 7n], [1, 8n]] },
    { situation: 'a saved offset at the start of its partition', saved: [[1, 5n]], reset: false, from: [[1, 5n]] },
    { situation: 'a partition saved, another not: the other from the beginning', saved: [[2, 0n]], reset: false, from: [[2, 0n]] },
    { situation: 'an offset past the end (the topic was made again): read anew', saved: [[0, 7n], [1, 9n]], reset: true, from: [] },
    { situation: 'an offset before the start (records deleted unread): read anew', saved: [[1, 4n]], reset: true, from: [] },
    { situation: 'a partition the topic does not have: read anew', saved: [[3, 0n]], reset: true, from: [] },
  ] as Array<{ situation: string; saved: Array<[number, bigint]>; reset: boolean; from: Array<[number, bigint]> }>)('$situation', ({ saved, reset, from }) => {
    expect(startingPoints(new Map(saved), partitions)).toEqual({ reset, from: new Map(from) });
  });
});
