/**
 * How far a view that keeps its state on disk has read its compacted topic, saved with that state,
 * so that a restart reads on from there instead of from the beginning.
 */
export interface SavedReadPosition {
  /** Per partition, the offset of the next record to apply, as last saved with the state. */
  load(): Map<number, bigint>;
  /** Forgets the state and its position: they were not read from the topic as it is now. */
  reset(): void;
  /** Applies a batch's records and saves the partition's next offset with them, all or nothing. */
  saveWith(partition: number, nextOffset: bigint, applyRecords: () => void): void;
}

/** A partition's first and next offsets, as the broker gives them at start. */
export interface PartitionBounds {
  partition: number;
  low: bigint;
  high: bigint;
}

/**
 * Where each partition is read from: the saved offsets, when every one of them lies within its
 * partition; otherwise nothing is kept (`reset`) and every partition is read from the beginning.
 * An offset past the end means the topic is not the one the state was read from (deleted and made
 * again); one before the start, that records were deleted before they were read.
 */
export function startingPoints(saved: ReadonlyMap<number, bigint>, partitions: readonly PartitionBounds[]): { reset: boolean; from: Map<number, bigint> } {
  const bounds = new Map(partitions.map((bound) => [bound.partition, bound]));
  const from = new Map<number, bigint>();
  for (const [partition, offset] of saved) {
    const bound = bounds.get(partition);
    if (!bound || offset < bound.low || offset > bound.high) {
      return { reset: true, from: new Map() };
    }
    from.set(partition, offset);
  }
  return { reset: false, from };
}
