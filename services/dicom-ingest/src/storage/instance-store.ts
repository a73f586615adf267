import { errorMessage, type Logger } from '@imaging-facade/service-kit';
import { readInstanceHeader } from './header-reader';
import type { InstanceFiles } from './instance-files';
import { checkIdentity } from './instance-identity';
import type { IngestMetrics } from '../metrics';
import { StoreStatus, statusLabel, type StoreResult } from '../dimse/store-status';
import type { StudyCompletion } from '../studies/study-completion';

/** A dataset fully received into an incoming Part 10 file, with what its command and association said. */
export interface ReceivedInstance {
  incomingPath: string;
  /** Resolves once the file is completely written and fsynced; rejects when writing it failed. */
  durable: Promise<void>;
  /** Resolves once the file's sync has started (its fdatasync, or its one O_DSYNC write), or failed; absent: the file is written already. */
  syncing?: Promise<void>;
  datasetOffset: number;
  sizeBytes: number;
  /** The first bytes of the dataset, kept in memory while it was received. */
  datasetHead: Buffer;
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  callingAeTitle: string;
  calledAeTitle: string;
}

export interface InstanceStoreOptions {
  files: Pick<InstanceFiles, 'destination' | 'placeWhenRecorded' | 'relativeToRoot' | 'discard'>;
  completion: Pick<StudyCompletion, 'recordInstance'>;
  logger: Logger;
  metrics: Pick<IngestMetrics, 'instancesStored' | 'storeFailures'>;
  readHeader?: typeof readInstanceHeader;
}

/**
 * Turns a received file into a stored and indexed instance, and says what to answer. Success only
 * once the file's bytes are durable (fdatasync of its spool file, whose name was durable before it
 * was written) and its line in the study index, naming both the spool file and its place, is
 * fsynced; the file is moved to its place right after, off the answer's path. Kafka is not on
 * this path: the index is also the outbox its instance-stored event is published from (see
 * InstanceOutbox). Never throws: every failure is a DIMSE status. Logs carry UIDs, AE titles and
 * reasons, never patient attributes.
 */
export class InstanceStore {
  private readonly readHeader: typeof readInstanceHeader;

  constructor(private readonly options: InstanceStoreOptions) {
    this.readHeader = options.readHeader ?? readInstanceHeader;
  }

  async store(received: ReceivedInstance): Promise<StoreResult> {
    const logger = this.options.logger.child({
      callingAeTitle: received.callingAeTitle,
      sopInstanceUid: received.sopInstanceUid,
    });
    const { keepFile, ...result } = await this.attempt(received, logger);
    if (result.status === StoreStatus.Success) {
      this.options.metrics.instancesStored.inc();
    } else {
      this.options.metrics.storeFailures.inc({ status: statusLabel(result.status) });
    }
    if (result.status !== StoreStatus.Success && keepFile !== true) {
      await this.options.files.discard(received.incomingPath).catch((error: unknown) => {
        logger.error({ err: errorMessage(error) }, 'could not remove the incoming file of a failed store');
      });
    }
    return result;
  }

  private async attempt(received: ReceivedInstance, logger: Logger): Promise<StoreResult & { keepFile?: boolean }> {
    // Parsing (mostly from the head in memory) overlaps the fdatasync of the file. It starts once
    // the fdatasync was issued: it keeps the main thread busy, and would hold back the writes' turn.
    const parsing = (received.syncing ?? Promise.resolve())
      .then(() =>
        this.readHeader(
          {
            path: received.incomingPath,
            datasetOffset: received.datasetOffset,
            fileSize: received.sizeBytes,
            head: received.datasetHead,
            written: received.durable,
          },
          received.transferSyntaxUid,
        ),
      )
      .then(
      (header) => ({ ok: true as const, header }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    try {
      await received.durable;
    } catch (error) {
      await parsing;
      return refuse(logger, { status: StoreStatus.OutOfResources, reason: 'dataset could not be written' }, error);
    }
    const parsed = await parsing;
    if (!parsed.ok) {
      return refuse(logger, { status: StoreStatus.CannotUnderstand, reason: 'dataset cannot be parsed' }, parsed.error);
    }
    const { header } = parsed;
    const checked = checkIdentity(header, received);
    if (!checked.ok) {
      return refuse(logger, checked.failure);
    }
    const { identity } = checked;
    if (header.decodeWarning !== undefined) {
      const { studyInstanceUid } = identity;
      logger.warn({ studyInstanceUid, reason: header.decodeWarning }, 'text decoded leniently');
    }
    if (header.contentOmitted) {
      logger.warn({ studyInstanceUid: identity.studyInstanceUid }, 'dose report content too large to be carried; left out');
    }

    const receivedAt = new Date().toISOString();
    let storagePath: string;
    try {
      storagePath = await this.options.files.destination(identity.studyInstanceUid, identity.seriesInstanceUid, identity.sopInstanceUid);
    } catch (error) {
      return refuse(logger, { status: StoreStatus.OutOfResources, reason: 'instance could not be stored' }, error);
    }
    // The line names the spool file and the place: it is durable with the bytes already fsynced
    // (a restart finishes the move, StudyIndex.dropUnplaced), so the move itself is not awaited.
    // Asked in the same tick as recordInstance, which queues lines in call order: moves to one place keep the order of their lines.
    const recorded = this.options.completion.recordInstance(identity.studyInstanceUid, {
      sopInstanceUid: identity.sopInstanceUid,
      seriesInstanceUid: identity.seriesInstanceUid,
      sopClassUid: identity.sopClassUid,
      transferSyntaxUid: received.transferSyntaxUid,
      storagePath,
      spoolPath: this.options.files.relativeToRoot(received.incomingPath),
      sizeBytes: received.sizeBytes,
      receivedAt,
      study: header.study,
      series: header.series,
      instance: header.instance,
      ...(header.content ? { content: header.content } : {}),
      callingAeTitle: received.callingAeTitle,
      calledAeTitle: received.calledAeTitle,
    });
    this.options.files.placeWhenRecorded(received.incomingPath, storagePath, recorded).catch((error: unknown) => {
      logger.error({ studyInstanceUid: identity.studyInstanceUid, err: errorMessage(error) }, 'could not move a stored instance to its place; retried before the study is published');
    });
    try {
      await recorded;
    } catch (error) {
      // Its line may be durable all the same: the file is moved to its place, not removed. The
      // sender retries, and a retry replaces it.
      return { ...refuse(logger, { status: StoreStatus.OutOfResources, reason: 'instance could not be stored' }, error), keepFile: true };
    }
    logger.debug({ studyInstanceUid: identity.studyInstanceUid }, 'instance stored');
    return { status: StoreStatus.Success };
  }
}

function refuse(logger: Logger, result: StoreResult, cause?: unknown): StoreResult {
  const err = cause === undefined ? undefined : errorMessage(cause);
  logger.warn({ status: statusLabel(result.status), reason: result.reason, err }, 'C-STORE refused');
  return result;
}
