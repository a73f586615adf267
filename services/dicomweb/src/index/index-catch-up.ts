import type { Admin } from 'kafkajs';
import type { CatchingUp, Logger } from '@imaging-facade/service-kit';

/**
 * Whether the index holds what the study topic held when the service started. A rebuilding index (a
 * new file, or one derived otherwise, until it has caught up once: StudyIndexDb.rebuilding, kept in
 * the file across restarts) is incomplete until its consumer group has committed as far as the
 * topic reached at this start: meanwhile DICOMweb answers 503, as while the consent decisions load,
 * rather than lists that miss studies. An index that has caught up once is served while it follows
 * the topic.
 */
export class IndexCatchUp implements CatchingUp {
  private ready: boolean;
  private timer: NodeJS.Timeout | undefined;
  private checking = false;
  /** Where the topic ended at start, per partition with messages; undefined until read. */
  private targets: ReadonlyMap<number, bigint> | undefined;
  private progress = '';
  error: Error | undefined;

  constructor(
    private readonly admin: Pick<Admin, 'fetchOffsets' | 'fetchTopicOffsets'>,
    private readonly options: { groupId: string; topic: string; rebuilding: boolean; onCaughtUp: () => void; logger: Logger; intervalMs?: number },
  ) {
    this.ready = !options.rebuilding;
    if (!this.ready) {
      this.timer = setInterval(() => void this.check(), options.intervalMs ?? 1000);
      void this.check();
    }
  }

  isReady(): boolean {
    return this.ready;
  }

  /** What a rebuilding index has read so far, for /readyz: `12,000 of 50,000 messages`. */
  describe(): string {
    return this.ready ? 'caught up' : `still reading the study topic into the rebuilt index${this.progress}`;
  }

  private async check(): Promise<void> {
    // A slow broker must not pile up requests: one check at a time.
    if (this.checking || this.ready) return;
    this.checking = true;
    try {
      this.targets ??= await this.topicEnds();
      const [committed] = await this.admin.fetchOffsets({ groupId: this.options.groupId, topics: [this.options.topic] });
      const at = new Map((committed?.partitions ?? []).map((partition) => [partition.partition, BigInt(partition.offset)]));
      const read = (partition: number, end: bigint): bigint => { const offset = at.get(partition) ?? 0n; return offset < 0n ? 0n : offset > end ? end : offset; };
      const total = [...this.targets.values()].reduce((sum, end) => sum + end, 0n);
      const done = [...this.targets].reduce((sum, [partition, end]) => sum + read(partition, end), 0n);
      this.progress = `: ${done} of ${total} messages`;
      this.error = undefined;
      if ([...this.targets].every(([partition, end]) => (at.get(partition) ?? -1n) >= end)) {
        this.ready = true;
        this.stop();
        this.options.onCaughtUp();
        this.options.logger.info({ groupId: this.options.groupId }, 'the rebuilt index has read the study topic as far as it was at start');
      }
    } catch (error) {
      // Retried at the next tick: the broker may be starting, or moving a partition.
      this.error = error instanceof Error ? error : new Error(String(error));
    } finally {
      this.checking = false;
    }
  }

  private async topicEnds(): Promise<ReadonlyMap<number, bigint>> {
    const offsets = await this.admin.fetchTopicOffsets(this.options.topic);
    return new Map(offsets.filter((bound) => BigInt(bound.high) > BigInt(bound.low)).map((bound) => [bound.partition, BigInt(bound.high)]));
  }

  stop(): void {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
