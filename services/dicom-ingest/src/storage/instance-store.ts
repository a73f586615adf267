import { rejectionNoteOf } from '@imaging-facade/dicom';
import { errorMessage, type Logger } from '@imaging-facade/service-kit';
import { readInstanceHeader, type InstanceHeader } from './header-reader';
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
  /** CRC-32 (zlib's) of the whole Part 10 file, as received. */
  crc32: number;
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
 * once the file's bytes are durable (its spool file's one O_DSYNC write or fdatasync; the spool
 * file's name was durable before it was written) and its line in the study index, naming the spool
 * file, its place, size and checksum, is durable. The line is written as soon as the header is
 * parsed, while the file is still being written: the answer waits for both at once, not one after
 * the other. A line whose file then fails is void (LineSettlement), and a restart keeps a line only
 * if its file matches it. The file is moved to its place once both are durable, off the answer's
 * path. Kafka is not on this path: the index is also the outbox its instance-stored event is
 * published from (see InstanceOutbox). Never throws: every failure is a DIMSE status. Logs carry
 * UIDs, AE titles and reasons, never patient attributes.
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
    // Settles once the file's write did, without a rejection left unhandled meanwhile.
    const fileWritten = received.durable.then(
      () => ({ ok: true as const }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    const notWritten = async (): Promise<StoreResult | undefined> => {
      const written = await fileWritten;
      return written.ok ? undefined : refuse(logger, { status: StoreStatus.OutOfResources, reason: 'dataset could not be written' }, written.error);
    };
    let header: InstanceHeader;
    try {
      header = await this.parse(received);
    } catch (error) {
      // A header read from a file whose write failed fails too: say what went wrong first.
      return (await notWritten()) ?? refuse(logger, { status: StoreStatus.CannotUnderstand, reason: 'dataset cannot be parsed' }, error);
    }
    const checked = checkIdentity(header, received);
    if (!checked.ok) {
      return (await notWritten()) ?? refuse(logger, checked.failure);
    }
    const { identity } = checked;
    if (header.decodeWarning !== undefined) {
      const { studyInstanceUid } = identity;
      logger.warn({ studyInstanceUid, reason: header.decodeWarning }, 'text decoded leniently');
    }
    if (header.contentOmitted) {
      logger.warn({ studyInstanceUid: identity.studyInstanceUid }, 'dose report or rejection note content too large to be carried; left out');
    }
    const note = rejectionNoteOf(identity.studyInstanceUid, identity.sopClassUid, header.instance, header.content);
    if (note?.rejected.length === 0) {
      // Said, never silent: such a note hides nothing (study-snapshot.ts).
      const { studyInstanceUid, sopInstanceUid } = identity;
      logger.warn({ studyInstanceUid, sopInstanceUid, reason: note.reason }, 'a rejection note that rejects nothing of its own study (references to another study, or too many to carry): stored and listed as a document');
    }

    const receivedAt = new Date().toISOString();
    let storagePath: string;
    try {
      storagePath = await this.options.files.destination(identity.studyInstanceUid, identity.seriesInstanceUid, identity.sopInstanceUid);
    } catch (error) {
      return (await notWritten()) ?? refuse(logger, { status: StoreStatus.OutOfResources, reason: 'instance could not be stored' }, error);
    }
    // Asked in the same tick as recordInstance, which queues lines in call order: moves to one place keep the order of their lines.
    const recorded = this.options.completion.recordInstance(
      identity.studyInstanceUid,
      {
        sopInstanceUid: identity.sopInstanceUid,
        seriesInstanceUid: identity.seriesInstanceUid,
        sopClassUid: identity.sopClassUid,
        transferSyntaxUid: received.transferSyntaxUid,
        storagePath,
        spoolPath: this.options.files.relativeToRoot(received.incomingPath),
        sizeBytes: received.sizeBytes,
        crc32: received.crc32,
        receivedAt,
        study: header.study,
        series: header.series,
        instance: header.instance,
        ...(header.content ? { content: header.content } : {}),
        callingAeTitle: received.callingAeTitle,
        calledAeTitle: received.calledAeTitle,
      },
      received.durable,
    );
    const lineWritten = recorded.then(
      () => ({ ok: true as const }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    // Moved once both writes settled, if the file is complete: its line may be durable even when
    // writing it failed. A file whose write failed is never moved (it is removed; its line is void).
    const placeable = Promise.all([fileWritten, lineWritten]).then(([file]) => file.ok);
    this.options.files.placeWhenRecorded(received.incomingPath, storagePath, placeable).catch((error: unknown) => {
      logger.error({ studyInstanceUid: identity.studyInstanceUid, err: errorMessage(error) }, 'could not move a stored instance to its place; retried before the study is published');
    });
    const refused = await notWritten();
    if (refused !== undefined) {
      await lineWritten;
      return refused;
    }
    const line = await lineWritten;
    if (!line.ok) {
      // Its line may be durable all the same: the file is moved to its place, not removed. The
      // sender retries, and a retry replaces it.
      return { ...refuse(logger, { status: StoreStatus.OutOfResources, reason: 'instance could not be stored' }, line.error), keepFile: true };
    }
    logger.debug({ studyInstanceUid: identity.studyInstanceUid }, 'instance stored');
    return { status: StoreStatus.Success };
  }

  /**
   * Parsing (mostly from the head in memory) overlaps the write of the file. It starts once the
   * write's sync was issued: it keeps the main thread busy, and would hold back the write's turn.
   */
  private async parse(received: ReceivedInstance): Promise<InstanceHeader> {
    await received.syncing;
    return this.readHeader(
      {
        path: received.incomingPath,
        datasetOffset: received.datasetOffset,
        fileSize: received.sizeBytes,
        head: received.datasetHead,
        written: received.durable,
      },
      received.transferSyntaxUid,
    );
  }
}

function refuse(logger: Logger, result: StoreResult, cause?: unknown): StoreResult {
  const err = cause === undefined ? undefined : errorMessage(cause);
  logger.warn({ status: statusLabel(result.status), reason: result.reason, err }, 'C-STORE refused');
  return result;
}
