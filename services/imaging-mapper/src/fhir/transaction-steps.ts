import type { StudyCompletedV1Data } from '@imaging-facade/events';
import type { Basic, BundleEntry, DocumentReference, Endpoint, Identifier, ImagingStudy, Observation, Patient, Reference } from '@medplum/fhirtypes';
import { dicomUidIdentifier, identifierToken, searchEvery, weakEtag } from '@imaging-facade/fhir';
import { findDocumentReference, sameDerivedContent } from '../derived/derived-lookups';
import { DicomDataset } from '../mapping/mapped-attributes';
import { doseObservations } from '../derived/dose-mapping';
import { doseWrites } from '../derived/dose-writes';
import { endpointIdentifier, nodeEndpoint } from '../derived/endpoint-mapping';
import { findByIdentifier, subjectPatientId, type FhirPort } from './fhir-lookups';
import { imagingStudyFromSnapshot } from '../mapping/imaging-study-mapping';
import { manifestDocumentReference, manifestEntryIdentifier } from '../derived/manifest-mapping';
import { applyRows, type MappingContext } from '../mapping/mapping-table';
import { mergeImagingStudy, sameContent } from './merge';
import { pendingRecountTag, subjectAfterSnapshot, subjectAsOf, withSubjectAsOf } from './subject-correction';
import { rememberedRejections, withRejections } from './rejected-instances';
import { rejectedStudyRecordDeletions, rejectedStudyRecordEntries } from './rejected-study-record';
import { withdrawalEntries } from '../consent/withdrawal';
import { rejectedDoseDeletions } from '../derived/dose-removal';
import type { NodeSettings } from '../node-settings';
import { PATIENT_ROWS } from '../mapping/patient-mapping';
import { accessionIdentifier, imagingStudyReference } from '../derived/study-references';
import {
  conditionalUpdateEntry,
  imagingStudyEntry,
  patientCreateEntry,
  referenceTo,
  versionedEntry,
  type StoredVersion,
} from './transaction';

/** What became of the resources derived from the study besides its ImagingStudy. */
export interface DerivedOutcome {
  /** The manifest's DocumentReference; `stale`: the stored one describes a newer manifest. */
  documentReference: 'created' | 'updated' | 'unchanged' | 'stale' | 'none';
  /** Dose Observations written (created or updated). */
  observations: number;
  /** Dose Observations deleted: those of dose reports rejected at the source (IHE IOCM). */
  observationsDeleted?: number;
  /** Resources of the study that this snapshot does not write, moved with it to its new patient. */
  referrersMoved?: number;
  /** The record of a study that left the index with rejected instances (rejected-study-record.ts). */
  rejectedStudyRecord?: 'written' | 'deleted';
  /** What could not be mapped, by reason (never patient data). */
  notes: string[];
}

/** What the steps read and decide, shared along the pipeline. */
export interface TransactionState {
  readonly data: StudyCompletedV1Data;
  readonly context: MappingContext;
  readonly patientIdentifier: Identifier;
  readonly existingStudy: ImagingStudy | undefined;
  /** The records of the study having left the index with rejected instances (rejected-study-record.ts): normally none. */
  readonly rejectedRecords: readonly Basic[];
  readonly node: NodeSettings;
  subject?: ImagingStudy['subject'];
  patient?: 'existing' | 'created' | 'kept' | 'moved';
  /** The Patient a stored study was filed under, when its issuer has since named another (subject-correction.ts). */
  movedFrom?: string;
  /** Every instance the study listed is rejected (IHE IOCM): it leaves the index, with what derives from it. */
  removed?: boolean;
  /** The node's Endpoint, written with the study, and the reference the study gets to it. */
  endpoint?: { entry: BundleEntry<Endpoint>; reference: Reference<Endpoint> };
  study?: ImagingStudy;
  /** The study for the derived resources: `ImagingStudy/<id>` when stored, else its entry's fullUrl. */
  studyReference?: Reference<ImagingStudy>;
  /** Indexes of conditional creates whose response must be 201 (see pipeline.ts). */
  readonly mustCreate: number[];
  readonly derived: DerivedOutcome;
  readonly entries: BundleEntry[];
}

/** One step of the transaction (DICOMcast's pipeline): reads what exists, contributes entries. */
export interface TransactionStep {
  run(state: TransactionState, fhir: FhirPort): Promise<void>;
}

const patientStep: TransactionStep = {
  async run(state, fhir) {
    // A stored study keeps its subject (the merge never replaces what the server holds), unless the
    // same issuer now names another patient: a correction at the source, which moves it.
    const stored = state.existingStudy?.subject;
    // Every instance rejected: no Patient is looked up nor made for a study that leaves the index.
    if (state.data.series.length === 0) {
      state.subject = stored;
      state.patient = 'kept';
      return;
    }
    if (stored) {
      const storedId = subjectPatientId(state.existingStudy);
      const storedPatient = storedId ? (await fhir.search('Patient', { _id: storedId }))[0] : undefined;
      // An older snapshot (a replay, a dead letter sent again, another node that had the study before
      // the correction) never moves it back: only one received after the one that set the subject.
      const newer = !subjectAsOf(state.existingStudy) || Date.parse(state.data.lastReceivedAt) > Date.parse(subjectAsOf(state.existingStudy)!);
      if (!newer || subjectAfterSnapshot(storedPatient, state.patientIdentifier) === 'keep') {
        state.subject = stored;
        state.patient = 'kept';
        return;
      }
      state.movedFrom = storedId;
    }
    const existing = await findByIdentifier(fhir, 'Patient', state.patientIdentifier);
    if (existing?.id) {
      // Found: referenced, never overwritten (the hospital's master patient index owns it).
      state.subject = { reference: `Patient/${existing.id}` };
      state.patient = state.movedFrom ? 'moved' : 'existing';
      return;
    }
    const patient = applyRows(
      PATIENT_ROWS,
      new DicomDataset(state.data.study),
      { resourceType: 'Patient' },
      state.context,
    );
    const entry = patientCreateEntry(patient, state.patientIdentifier);
    state.entries.push(entry);
    state.subject = referenceTo(entry);
    state.patient = state.movedFrom ? 'moved' : 'created';
  },
};

/**
 * The node's Endpoint: a conditional update on the node's identifier, so that it is created once
 * and follows the configuration (the server writes nothing when it is unchanged).
 */
const endpointStep: TransactionStep = {
  async run(state) {
    const identifier = endpointIdentifier(state.node);
    const entry = conditionalUpdateEntry(nodeEndpoint(state.node), { identifier: identifierToken(identifier) });
    state.endpoint = { entry, reference: { reference: entry.fullUrl } };
  },
};

const imagingStudyStep: TransactionStep = {
  async run(state, fhir) {
    const snapshot = imagingStudyFromSnapshot(state.data, state.subject ?? {}, state.context);
    if (state.endpoint) {
      // A stored study keeps the reference it has; a new study or series gets this one.
      snapshot.endpoint = [state.endpoint.reference];
      snapshot.series = snapshot.series?.map((series) => ({ ...series, endpoint: [state.endpoint!.reference] }));
    }
    // A moved study takes its new subject, and keeps, until the patient it left has had their dose
    // recomputed, a tag naming them (written with the move: a retry after a failure still knows);
    // everything else stored still wins.
    const moved = state.movedFrom && state.existingStudy && state.subject
      ? {
          ...state.existingStudy,
          subject: state.subject,
          extension: withSubjectAsOf(state.existingStudy.extension, state.data.lastReceivedAt),
          meta: { ...state.existingStudy.meta, tag: [...(state.existingStudy.meta?.tag ?? []), pendingRecountTag(state.movedFrom)] },
        }
      : state.existingStudy;
    // Rejected instances are remembered on the study (rejected-instances.ts), with those it knew.
    const stored = moved && state.data.rejected ? { ...moved, extension: withRejections(moved.extension, state.data.rejected) } : moved;
    if (!state.existingStudy) {
      snapshot.extension = withRejections(withSubjectAsOf(undefined, state.data.lastReceivedAt), state.data.rejected);
    }
    const merged = mergeImagingStudy(stored, snapshot, new Set(state.data.rejected?.map((item) => item.sopInstanceUid)));
    if ((merged.series ?? []).length === 0) {
      // Every instance it listed is rejected (IHE IOCM): the study leaves the index, with its manifest
      // and dose (state.study stays unset, so the later steps add nothing).
      if (state.existingStudy?.id) {
        state.entries.push(...(await withdrawalEntries(fhir, [state.existingStudy.id])));
      }
      // What it rejected is remembered apart, so that another node's snapshot does not publish it again.
      const rejections = rememberedRejections(merged);
      if (rejections.length > 0) {
        // The patient it was filed under is named on the record until their dose is computed again,
        // so that the event handled again after a failed recount still knows them (index-writer.ts).
        const filedUnder = state.existingStudy ? subjectPatientId(state.existingStudy) : undefined;
        const record = rejectedStudyRecordEntries(state.data.studyInstanceUid, rejections, state.rejectedRecords, filedUnder ? [filedUnder] : []);
        if (record.create !== undefined) state.mustCreate.push(state.entries.length + record.create);
        state.entries.push(...record.entries);
        if (record.entries.some((entry) => entry.resource)) state.derived.rejectedStudyRecord = 'written';
      }
      state.removed = true;
      return;
    }
    state.study = merged;
    const identifier = dicomUidIdentifier(state.data.studyInstanceUid);
    const unchanged = state.existingStudy?.id !== undefined && sameContent(merged, state.existingStudy);
    // The stored study now remembers what the records did (the snapshot's `rejected`): they go,
    // guarded by its version, which its If-Match'd write checks (or, unchanged, a guard: rejected-study-record.ts).
    // A new study's create may be answered 200: its records go after it (pipeline.ts).
    if (state.existingStudy && state.rejectedRecords.length > 0) {
      state.entries.push(...rejectedStudyRecordDeletions(state.rejectedRecords, unchanged ? state.existingStudy : undefined));
      state.derived.rejectedStudyRecord = 'deleted';
    }
    // Nothing new: no write at all, so the version stays as it is.
    if (unchanged) {
      state.studyReference = imagingStudyReference(`ImagingStudy/${state.existingStudy!.id}`, state.data.studyInstanceUid);
      return;
    }
    if (state.endpoint) {
      state.entries.push(state.endpoint.entry);
    }
    const entry = imagingStudyEntry(merged, identifier, storedVersion(state.existingStudy));
    if (!state.existingStudy) {
      state.mustCreate.push(state.entries.length);
    }
    state.entries.push(entry);
    const reference = state.existingStudy?.id ? `ImagingStudy/${state.existingStudy.id}` : entry.fullUrl!;
    state.studyReference = imagingStudyReference(reference, state.data.studyInstanceUid);
  },
};

/**
 * The manifest's DocumentReference: read by its stable identifier; a stored one describing a newer
 * manifest (a later `attachment.creation`, i.e. this snapshot is older) is left as it is; one with
 * the same content is not written; otherwise it is updated with If-Match, or conditionally created.
 */
const documentReferenceStep: TransactionStep = {
  async run(state, fhir) {
    const manifest = state.data.manifest;
    if (!manifest || !state.study || !state.studyReference) {
      return;
    }
    const { documentReference, notes } = manifestDocumentReference({
      data: state.data,
      manifest,
      subject: patientSubject(state),
      study: state.studyReference,
      started: state.study.started,
      modalities: state.study.modality ?? [],
      settings: state.node,
      accessionNumberSystem: state.context.defaultAccessionNumberSystem,
      sourcePatient: (study) => applyRows(PATIENT_ROWS, new DicomDataset(study), { resourceType: 'Patient' }, state.context),
    });
    state.derived.notes.push(...notes);
    const identifier = manifestEntryIdentifier(state.node, state.data.studyInstanceUid);
    const existing = await findDocumentReference(fhir, identifier);
    if (existing && isNewer(existing, manifest.createdAt)) {
      state.derived.documentReference = 'stale';
      return;
    }
    if (existing && sameDerivedContent(existing, documentReference)) {
      state.derived.documentReference = 'unchanged';
      return;
    }
    if (!existing) {
      state.mustCreate.push(state.entries.length);
    }
    state.entries.push(versionedEntry<DocumentReference>(documentReference, identifier, storedVersion(existing)));
    state.derived.documentReference = existing ? 'updated' : 'created';
  },
};

/**
 * The dose Observations: per group (a dose report, or the CT image headers), the summary is read;
 * when the stored summary says the same, the group is not written (its events come from the same
 * report); otherwise its events and summary are written, each guarded by the version read (an
 * update by id with If-Match, or a conditional create): derived/dose-writes.ts.
 */
const doseStep: TransactionStep = {
  async run(state, fhir) {
    if (!state.study || !state.studyReference) {
      return;
    }
    const accession = accessionIdentifier(state.data.study, state.context.defaultAccessionNumberSystem);
    const { groups, notes } = doseObservations({
      data: state.data,
      subject: patientSubject(state),
      study: state.studyReference,
      ...(state.study.started ? { started: state.study.started } : {}),
      ...(state.context.timeZone ? { timeZone: state.context.timeZone } : {}),
      ...(accession ? { accession } : {}),
    });
    state.derived.notes.push(...notes);
    // Only when something was rejected: the common snapshot asks nothing more of the server.
    const storedStudy = state.existingStudy?.id ? `ImagingStudy/${state.existingStudy.id}` : undefined;
    if (state.data.rejected && storedStudy) {
      const rejected = new Set(state.data.rejected.map((item) => item.sopInstanceUid));
      // The series the stored study lists whose every instance is now rejected: their Mean CTDIvol goes.
      const rejectedSeries = new Set((state.existingStudy?.series ?? []).filter((series) => (series.instance ?? []).length > 0 && series.instance!.every((instance) => rejected.has(instance.uid))).map((series) => series.uid));
      const entries = await rejectedDoseDeletions(fhir, storedStudy, groups, rejected, rejectedSeries);
      state.entries.push(...entries);
      const deleted = entries.filter((entry) => entry.request?.method === 'DELETE').length;
      if (deleted > 0) state.derived.observationsDeleted = deleted;
    }
    const writes = await doseWrites(fhir, groups);
    state.mustCreate.push(...writes.creates.map((index) => state.entries.length + index));
    state.entries.push(...writes.entries);
    state.derived.observations += writes.entries.length;
  },
};

/**
 * A moved study's other referrers follow it: what references the study under the patient it left,
 * and that this transaction does not write (another node's manifest DocumentReference, each node
 * writing its own; the dose Observations of a report that another node holds). Each is updated with
 * the new subject and `If-Match`, in the study's transaction, so that no record of the study stays
 * under the patient it was wrongly filed under.
 */
const movedReferrersStep: TransactionStep = {
  async run(state, fhir) {
    if (!state.movedFrom || !state.existingStudy?.id || !state.study) {
      return;
    }
    const study = `ImagingStudy/${state.existingStudy.id}`;
    const written = new Set(state.entries.flatMap(writtenKeys));
    const referrers: Array<DocumentReference | Observation> = [
      ...(await searchEvery(fhir, 'DocumentReference', { related: study, _count: '200' })),
      ...(await searchEvery(fhir, 'Observation', { 'part-of': study, _count: '200' })),
    ];
    for (const resource of referrers) {
      const url = `${resource.resourceType}/${resource.id}`;
      const keys = [url, ...(resource.identifier ?? []).map((identifier) => identityKey(resource.resourceType, identifier))];
      if (resource.subject?.reference !== `Patient/${state.movedFrom}` || keys.some((key) => written.has(key))) {
        continue;
      }
      const versionId = resource.meta?.versionId;
      state.entries.push({ resource: { ...resource, subject: patientSubject(state) }, request: { method: 'PUT', url, ...(versionId ? { ifMatch: weakEtag(versionId) } : {}) } });
      state.derived.referrersMoved = (state.derived.referrersMoved ?? 0) + 1;
    }
  },
};

/** What an entry writes: the resource its URL names, and each of its resource's identifiers. */
function writtenKeys(entry: BundleEntry): string[] {
  const url = entry.request?.url ?? '';
  const resource = entry.resource as { resourceType: string; identifier?: Identifier[] } | undefined;
  return [
    ...(/^[A-Za-z]+\/[^/?]+$/.test(url) ? [url] : []),
    ...(resource?.identifier ?? []).map((identifier) => identityKey(resource!.resourceType, identifier)),
  ];
}

function identityKey(resourceType: string, identifier: Identifier): string {
  return `${resourceType}|${identifier.system ?? ''}|${identifier.value ?? ''}`;
}

/** In order: each step references what the previous ones decided. */
export const STEPS: readonly TransactionStep[] = [patientStep, endpointStep, imagingStudyStep, documentReferenceStep, doseStep, movedReferrersStep];

/** The study's subject, which the mapper always makes a Patient. */
function patientSubject(state: TransactionState): Reference<Patient> {
  return (state.subject ?? {}) as Reference<Patient>;
}

function storedVersion(resource: { id?: string; meta?: { versionId?: string } } | undefined): StoredVersion | undefined {
  return resource?.id ? { id: resource.id, versionId: resource.meta?.versionId } : undefined;
}

/** The stored DocumentReference describes a manifest made after `createdAt`. */
function isNewer(stored: DocumentReference, createdAt: string): boolean {
  const creation = stored.content?.[0]?.attachment?.creation;
  const storedTime = creation ? Date.parse(creation) : NaN;
  return Number.isFinite(storedTime) && storedTime > Date.parse(createdAt);
}
