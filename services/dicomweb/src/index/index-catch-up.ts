import type { Admin } from 'kafkajs';
import type { CatchingUp, Logger } from '@imaging-facade/service-kit';

/**
 * Whether the index holds what the study topic held when the service started. A rebuilt index (a new
 * file, or one derived otherwise: StudyIndexDb.rebuilt) is incomplete until its consumer group has
 * committed that far: meanwhile DICOMweb answers 503, as while the consent decisions load, rather
 * than lists that miss studies. An index that was already there is served while it follows the topic.
 */
export class IndexCatchUp implements CatchingUp {
  private ready: boolean;
  private timer: NodeJS.Timeout | undefined;
  error: Error | undefined;

  private constructor(
    private readonly admin: Pick<Admin, 'fetchOffsets'>,
    private readonly groupId: string,
    private readonly topic: string,
    private readonly targets: ReadonlyMap<number, bigint>,
    private readonly logger: Logger,
  ) {
    this.ready = targets.size === 0;
  }

  /** Starts following the group's progress when `rebuilt`; ready at once otherwise. */
  static async start(
    admin: Pick<Admin, 'fetchOffsets' | 'fetchTopicOffsets'>,
    options: { groupId: string; topic: string; rebuilt: boolean; logger: Logger; intervalMs?: number },
  ): Promise<IndexCatchUp> {
    const offsets = options.rebuilt ? await admin.fetchTopicOffsets(options.topic) : [];
    // Partitions with messages: the group must have committed up to their end as it is now.
    const targets = new Map(offsets.filter((bound) => BigInt(bound.high) > BigInt(bound.low)).map((bound) => [bound.partition, BigInt(bound.high)]));
    const catchUp = new IndexCatchUp(admin, options.groupId, options.topic, targets, options.logger);
    if (!catchUp.ready) {
      catchUp.timer = setInterval(() => void catchUp.check(), options.intervalMs ?? 1000);
    }
    return catchUp;
  }

  isReady(): boolean {
    return this.ready;
  }

  private async check(): Promise<void> {
    try {
      const [committed] = await this.admin.fetchOffsets({ groupId: this.groupId, topics: [this.topic] });
      const at = new Map((committed?.partitions ?? []).map((partition) => [partition.partition, BigInt(partition.offset)]));
      this.error = undefined;
      if ([...this.targets].every(([partition, high]) => (at.get(partition) ?? -1n) >= high)) {
        this.ready = true;
        this.stop();
        this.logger.info({ groupId: this.groupId }, 'the rebuilt index has read the study topic as far as it was at start');
      }
    } catch (error) {
      this.error = error instanceof Error ? error : new Error(String(error));
    }
  }

  stop(): void {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
