import type { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import { type association, constants, Dataset, type requests, responses, Scp } from 'dcmjs-dimse';
import { errorMessage, type Logger } from '@imaging-facade/service-kit';
import type { AssociationLimits, ConnectionRegistry, DicomConnection } from './connections';
import type { InstanceFiles } from '../storage/instance-files';
import type { ReceivedInstance } from '../storage/instance-store';
import type { IngestMetrics } from '../metrics';
import { decideContext, isOurAeTitle, isStorageSopClass, isValidAeTitle } from './negotiation';
import type { CallingAeAllowList } from './calling-ae-allow-list';
import { ConnectionTimers, type Expiry, type TimeoutSettings } from './connection-timers';
import { abortPdu, PduGuard, type PduViolation, type UpperLayerPhase } from './pdu-guard';
import { writeFileMetaHeader } from '@imaging-facade/dicom';
import { SpoolFile } from '../storage/spool-file';
import { StoreStatus, statusLabel, type StoreResult } from './store-status';

const { AbortReason, AbortSource, PresentationContextResult, RejectReason, RejectResult, RejectSource, Status } = constants;
type Association = association.Association;
type PresentationContext = association.PresentationContext;
type CStoreRequest = requests.CStoreRequest;
type CEchoRequest = requests.CEchoRequest;
type CStoreResponse = responses.CStoreResponse;
type CEchoResponse = responses.CEchoResponse;

export interface ScpDependencies {
  aeTitle: string;
  /** The largest P-DATA-TF PDU we take from a peer: what we announce. */
  maxPduLength: number;
  /** The largest A-ASSOCIATE-RQ we take. */
  maxAssociateRqLength: number;
  /** Past these many open associations (in all, from one host), new ones are rejected (transient). */
  associationLimits: AssociationLimits;
  timeouts: TimeoutSettings;
  /** Who may call us; undefined: any calling AE title from any host. */
  allowedCallers: CallingAeAllowList | undefined;
  files: InstanceFiles;
  store: (received: ReceivedInstance) => Promise<StoreResult>;
  connections: ConnectionRegistry;
  logger: Logger;
  metrics: Pick<IngestMetrics, 'associations' | 'activeAssociations' | 'storeDuration' | 'storeFailures' | 'protocolViolations'>;
}

/** A C-STORE from its first dataset byte to its response: its spool file and its presentation context. */
interface Reception {
  spool: SpoolFile;
  transferSyntaxUid: string;
  /** The context's abstract syntax: the SOP class the command must name. */
  abstractSyntaxUid: string;
  startedAt: bigint;
}

/** dcmjs-dimse instantiates the SCP class per connection: the dependencies reach it through this closure. */
export function createScpClass(deps: ScpDependencies): typeof Scp {
  return class IngestScp extends Scp implements DicomConnection {
    readonly closed: Promise<void>;
    /** Kept from the start: a closed socket forgets it. */
    readonly remoteAddress: string | undefined;
    private readonly socket: Socket;
    private logger: Logger;
    private callingAeTitle = '';
    private calledAeTitle = '';
    private readonly receptions = new Map<CStoreRequest, Reception>();
    /** The spool the dataset under way is written to; dcmjs-dimse does not pass back-pressure on. */
    private receiving: SpoolFile | undefined;
    /** C-STOREs received whole, until answered: the peer waits for us, and a shutdown lets them finish. */
    private readonly inFlight = new Set<Promise<void>>();
    private aborting = false;
    private abortSent = false;
    private isClosed = false;
    private phase: UpperLayerPhase = 'awaiting-association';
    private readonly timers: ConnectionTimers;

    constructor(socket: Socket, opts?: ConstructorParameters<typeof Scp>[1]) {
      super(socket, opts);
      this.socket = socket;
      this.remoteAddress = socket.remoteAddress;
      this.logger = deps.logger.child({ remote: `${socket.remoteAddress}:${socket.remotePort}` });
      // dcmjs-dimse's own socket timeout (its connectTimeout) gives way to ARTIM and the idle timer.
      socket.setTimeout(0);
      this.timers = new ConnectionTimers(deps.timeouts, (which) => this.timedOut(which));
      // Before any other 'data' listener of ours: the guard decides what dcmjs-dimse gets to see.
      this.guardPdus(socket);
      // Unreadable PDUs (dcmjs-dimse's parse errors) end in an A-ABORT too, not in a silent close.
      this.on('networkError', () => this.abortAndClose(AbortReason.NotSpecified, 'unreadable PDU or connection error'));
      // One small response per instance: do not let Nagle hold it back.
      socket.setNoDelay(true);
      // Runs after dcmjs-dimse's own 'data' listener, which writes the PDVs synchronously.
      socket.on('data', () => this.applyBackPressure());
      this.closed = new Promise<void>((resolve) => {
        socket.once('close', () => void this.onClose().finally(resolve));
      });
      deps.metrics.activeAssociations.inc();
      deps.connections.add(this);
    }

    override associationRequested(requested: Association): void {
      this.callingAeTitle = requested.getCallingAeTitle();
      this.calledAeTitle = requested.getCalledAeTitle();
      this.logger = this.logger.child({ callingAeTitle: this.callingAeTitle, calledAeTitle: this.calledAeTitle });
      if (!isOurAeTitle(this.calledAeTitle, deps.aeTitle)) {
        const reason = RejectReason.CalledAeNotRecognized;
        this.reject(RejectResult.Permanent, RejectSource.ServiceUser, reason, 'called AE title not recognized');
        return;
      }
      if (!isValidAeTitle(this.callingAeTitle)) {
        const reason = RejectReason.CallingAeNotRecognized;
        this.reject(RejectResult.Permanent, RejectSource.ServiceUser, reason, 'calling AE title not valid (PS3.5 AE)');
        return;
      }
      if (deps.allowedCallers !== undefined && !deps.allowedCallers.permits(this.callingAeTitle, this.socket.remoteAddress)) {
        const reason = RejectReason.CallingAeNotRecognized;
        this.reject(RejectResult.Permanent, RejectSource.ServiceUser, reason, 'calling AE title not recognized');
        return;
      }
      if (deps.connections.isDraining) {
        const reason = RejectReason.TemporaryCongestion;
        this.reject(RejectResult.Transient, RejectSource.ServiceProviderPresentation, reason, 'shutting down');
        return;
      }
      if (!deps.connections.tryAssociate(this, deps.associationLimits)) {
        const reason = RejectReason.LocalLimitExceeded;
        this.reject(RejectResult.Transient, RejectSource.ServiceProviderPresentation, reason, 'too many associations');
        return;
      }
      let accepted = 0;
      for (const { id } of requested.getPresentationContexts()) {
        const context = requested.getPresentationContext(id);
        const decision = decideContext(context.getAbstractSyntaxUid(), context.getTransferSyntaxUids());
        if (decision.accept) {
          context.setResult(PresentationContextResult.Accept, decision.transferSyntaxUid);
          accepted++;
        } else if (decision.reason === 'abstract-syntax-not-supported') {
          context.setResult(PresentationContextResult.RejectAbstractSyntaxNotSupported);
        } else {
          context.setResult(PresentationContextResult.RejectTransferSyntaxesNotSupported);
        }
      }
      // dcmjs-dimse announces min(peer's maximum, ours) as our receive limit, so a peer announcing 16 KB
      // would also send us 16 KB PDUs. We announce ours instead; dcmjs-dimse also uses this value as its
      // send limit, which is harmless: we only send C-STORE/C-ECHO responses of a few hundred bytes.
      requested.setMaxPduLength(deps.maxPduLength);
      deps.metrics.associations.inc({ result: 'accepted' });
      this.logger.info({ acceptedContexts: accepted }, 'association accepted');
      this.phase = 'associated';
      this.timers.associated();
      this.sendAssociationAccept();
    }

    override associationReleaseRequested(): void {
      this.phase = 'closing';
      this.timers.closing();
      this.sendAssociationReleaseResponse();
    }

    override cEchoRequest(request: CEchoRequest, callback: (response: CEchoResponse) => void): void {
      const response = responses.CEchoResponse.fromRequest(request);
      response.setStatus(Status.Success);
      callback(response);
    }

    // Services we do not offer. Their contexts are never accepted, so these requests come on a
    // storage or Verification context: "unrecognized operation" (PS3.7 C.4), where dcmjs-dimse
    // answered "processing failure" and logged an error of its own.
    override cFindRequest(request: requests.CFindRequest, callback: (answers: responses.CFindResponse[]) => void): void {
      callback([this.unrecognized('C-FIND', responses.CFindResponse.fromRequest(request))]);
    }

    override cMoveRequest(request: requests.CMoveRequest, callback: (answers: responses.CMoveResponse[]) => void): void {
      callback([this.unrecognized('C-MOVE', responses.CMoveResponse.fromRequest(request))]);
    }

    override cGetRequest(request: requests.CGetRequest, callback: (answers: responses.CGetResponse[]) => void): void {
      callback([this.unrecognized('C-GET', responses.CGetResponse.fromRequest(request))]);
    }

    override nCreateRequest(request: requests.NCreateRequest, callback: (answer: responses.NCreateResponse) => void): void {
      callback(this.unrecognized('N-CREATE', responses.NCreateResponse.fromRequest(request)));
    }

    override nActionRequest(request: requests.NActionRequest, callback: (answer: responses.NActionResponse) => void): void {
      callback(this.unrecognized('N-ACTION', responses.NActionResponse.fromRequest(request)));
    }

    override nDeleteRequest(request: requests.NDeleteRequest, callback: (answer: responses.NDeleteResponse) => void): void {
      callback(this.unrecognized('N-DELETE', responses.NDeleteResponse.fromRequest(request)));
    }

    override nEventReportRequest(request: requests.NEventReportRequest, callback: (answer: responses.NEventReportResponse) => void): void {
      callback(this.unrecognized('N-EVENT-REPORT', responses.NEventReportResponse.fromRequest(request)));
    }

    override nGetRequest(request: requests.NGetRequest, callback: (answer: responses.NGetResponse) => void): void {
      callback(this.unrecognized('N-GET', responses.NGetResponse.fromRequest(request)));
    }

    override nSetRequest(request: requests.NSetRequest, callback: (answer: responses.NSetResponse) => void): void {
      callback(this.unrecognized('N-SET', responses.NSetResponse.fromRequest(request)));
    }

    private unrecognized<Answer extends { setStatus(status: number): void }>(operation: string, answer: Answer): Answer {
      this.logger.warn({ operation }, 'refused an operation this node does not offer');
      answer.setStatus(Status.UnrecognizedOperation);
      return answer;
    }

    override createStoreWritableStream(context: PresentationContext, request: CStoreRequest): Writable {
      const transferSyntaxUid = context.getAcceptedTransferSyntaxUid() ?? '';
      // A file made ahead: its directory entry is already durable, its fdatasync is all the answer waits for.
      const claimed = deps.files.claimSpoolFile();
      const spool = new SpoolFile(
        claimed.path,
        writeFileMetaHeader({
          sopClassUid: request.getAffectedSopClassUid(),
          sopInstanceUid: request.getAffectedSopInstanceUid(),
          transferSyntaxUid,
          sourceAeTitle: this.callingAeTitle,
        }),
        claimed.opened,
      );
      this.receptions.set(request, { spool, transferSyntaxUid, abstractSyntaxUid: context.getAbstractSyntaxUid(), startedAt: process.hrtime.bigint() });
      this.receiving = spool;
      return spool;
    }

    override createDatasetFromStoreWritableStream(
      _writable: Writable,
      context: PresentationContext,
      callback: (dataset: Dataset) => void,
    ): void {
      // The dataset stays on disk; the request only needs a placeholder to be dispatched.
      this.receiving = undefined;
      callback(new Dataset({}, context.getAcceptedTransferSyntaxUid()));
    }

    override cStoreRequest(request: CStoreRequest, callback: (response: CStoreResponse) => void): void {
      const reception = this.receptions.get(request);
      this.receptions.delete(request);
      const answered = this.finishStore(request, reception)
        .then((result) => {
          const response = responses.CStoreResponse.fromRequest(request);
          response.setStatus(result.status);
          if (result.reason !== undefined) {
            response.setErrorComment(result.reason.slice(0, 64));
          }
          if (!this.isClosed) {
            callback(response);
          }
        })
        .catch((error: unknown) => {
          this.logger.error({ err: errorMessage(error) }, 'could not answer a C-STORE');
        });
      this.inFlight.add(answered);
      void answered.finally(() => this.inFlight.delete(answered));
    }

    override abort(): void {
      // After an A-ABORT the transport is closed at once (PS3.8 7.3.2); the peer waits for it.
      this.logger.info('association aborted by the peer');
      this.phase = 'closing';
      this.socket.destroy();
    }

    async abortWhenIdle(): Promise<void> {
      if (this.isClosed) {
        return;
      }
      this.aborting = true;
      // The response of the last one goes out before the abort: the next command cannot have arrived yet.
      while (this.inFlight.size > 0) {
        await Promise.all(this.inFlight);
      }
      if (this.isClosed) {
        return;
      }
      this.abortAndClose(AbortReason.NotSpecified, 'shutting down');
    }

    /**
     * Sends an A-ABORT (service-provider source) and closes the connection (PS3.8 9.2, AA-1 / AA-8).
     * Nothing the peer sends after this is taken: it would be stored without ever being answered.
     */
    private abortAndClose(reason: number, why: string): void {
      if (this.abortSent) {
        return;
      }
      this.abortSent = true;
      this.phase = 'closing';
      this.timers.stop();
      this.logger.warn({ reason: why }, 'aborting the association');
      this.socket.pause();
      if (this.socket.writable) {
        this.socket.end(abortPdu(AbortSource.ServiceProvider, reason), () => this.socket.destroy());
      }
      setTimeout(() => this.socket.destroy(), 1_000).unref();
    }

    /** Puts a PduGuard in front of dcmjs-dimse's reader, which buffers whole PDUs of any declared length. */
    private guardPdus(socket: Socket): void {
      const readers = socket.listeners('data');
      const dcmjsReader = readers[0];
      if (readers.length !== 1 || dcmjsReader === undefined) {
        // Another dcmjs-dimse version: refuse the connection rather than run unguarded.
        this.logger.error({ listeners: readers.length }, 'cannot guard the DICOM connection: dcmjs-dimse reads its socket differently');
        socket.destroy();
        return;
      }
      socket.removeListener('data', dcmjsReader as (chunk: Buffer) => void);
      const guard = new PduGuard(
        { maxAssociateRqLength: deps.maxAssociateRqLength, maxPduLength: deps.maxPduLength },
        () => this.phase,
        (bytes) => this.handOver(dcmjsReader, socket, bytes),
        (violation) => this.protocolViolation(violation),
      );
      socket.on('data', (chunk: Buffer) => {
        this.timers.activity();
        guard.push(chunk);
      });
    }

    /**
     * dcmjs-dimse reads a PDU and calls our handlers synchronously: whatever throws in there (a PDU
     * it cannot answer, a bug of ours) ends this association with an A-ABORT, never the process.
     */
    private handOver(reader: Function, socket: Socket, bytes: Buffer): void {
      try {
        Reflect.apply(reader, socket, [bytes]);
      } catch (error) {
        deps.metrics.protocolViolations.inc();
        this.logger.error({ err: errorMessage(error) }, 'a PDU could not be handled');
        this.abortAndClose(AbortReason.NotSpecified, 'a PDU could not be handled');
      }
    }

    private protocolViolation(violation: PduViolation): void {
      deps.metrics.protocolViolations.inc();
      this.logger.warn({ pduType: violation.pduType, declaredLength: violation.declaredLength, problem: violation.message }, 'PDU refused');
      this.abortAndClose(violation.abortReason, violation.message);
    }

    private timedOut(which: Expiry): void {
      if (which === 'artim') {
        // Never associated (or already ended): there is nothing to abort, only a connection to close.
        this.logger.info({ phase: this.phase }, 'ARTIM expired: closing the connection');
        this.phase = 'closing';
        this.socket.destroy();
        return;
      }
      if (this.inFlight.size > 0 || (this.receiving !== undefined && this.socket.isPaused())) {
        // We are the ones keeping the peer waiting (a store being made durable, a spool we let drain):
        // that is not its silence. A peer silent in the middle of a dataset is.
        this.timers.restart();
        return;
      }
      this.abortAndClose(AbortReason.NotSpecified, 'idle timeout');
    }

    private async finishStore(request: CStoreRequest, reception: Reception | undefined): Promise<StoreResult> {
      if (reception === undefined) {
        // dcmjs-dimse dispatched a C-STORE whose dataset never reached our stream; cannot happen, never success.
        deps.metrics.storeFailures.inc({ status: statusLabel(StoreStatus.OutOfResources) });
        return { status: StoreStatus.OutOfResources, reason: 'dataset was not received' };
      }
      const { spool, transferSyntaxUid, startedAt } = reception;
      const sopClassUid = request.getAffectedSopClassUid();
      if (sopClassUid !== reception.abstractSyntaxUid || !isStorageSopClass(sopClassUid)) {
        // A C-STORE names the storage SOP class its context was negotiated for (PS3.7 9.1.1.1.2).
        await spool.done.catch(() => undefined);
        await deps.files.discard(spool.path).catch(() => undefined);
        deps.metrics.storeFailures.inc({ status: statusLabel(StoreStatus.SopClassNotSupported) });
        return { status: StoreStatus.SopClassNotSupported, reason: 'SOP class is not that of the presentation context' };
      }
      const result = await deps.store({
        incomingPath: spool.path,
        durable: spool.done,
        syncing: spool.syncing,
        datasetOffset: spool.datasetOffset,
        // Final: dcmjs-dimse handed over the last fragment before dispatching the request.
        sizeBytes: spool.size,
        crc32: spool.crc32,
        datasetHead: spool.datasetHead,
        sopClassUid: request.getAffectedSopClassUid(),
        sopInstanceUid: request.getAffectedSopInstanceUid(),
        transferSyntaxUid,
        callingAeTitle: this.callingAeTitle,
        calledAeTitle: this.calledAeTitle,
      });
      const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
      const outcome = result.status === StoreStatus.Success ? 'success' : 'failure';
      deps.metrics.storeDuration.observe({ outcome }, seconds);
      return result;
    }

    private applyBackPressure(): void {
      const spool = this.receiving;
      if (spool === undefined || !spool.writableNeedDrain || this.socket.isPaused()) {
        return;
      }
      this.socket.pause();
      const resume = (): void => {
        spool.off('drain', resume);
        spool.off('close', resume);
        this.socket.resume();
      };
      spool.once('drain', resume);
      spool.once('close', resume);
    }

    private reject(result: number, source: number, reason: number, why: string): void {
      deps.metrics.associations.inc({ result: 'rejected' });
      this.logger.warn({ reason: why }, 'association rejected');
      this.phase = 'closing';
      this.timers.closing();
      this.sendAssociationReject(result, source, reason);
    }

    /** `closed` resolves only after this: no incoming file is left behind, no store is still running. */
    private async onClose(): Promise<void> {
      this.isClosed = true;
      this.timers.stop();
      deps.metrics.activeAssociations.dec();
      const cutOff = [...this.receptions.values()];
      this.receptions.clear();
      this.receiving = undefined;
      await Promise.all(
        cutOff.map(async ({ spool }) => {
          // A dataset cut off mid-transfer: once its file is closed (its open may still be under way), remove it.
          spool.destroy();
          await spool.done.catch(() => undefined);
          await deps.files.discard(spool.path).catch(() => undefined);
        }),
      );
      await Promise.all(this.inFlight);
      if (this.aborting) {
        this.logger.info('association closed');
      }
    }
  };
}
