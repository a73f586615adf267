import { z } from 'zod';
import { dicomJsonSchema, dicomUidSchema } from '@imaging-facade/dicom';
import { envelopeSchema } from './envelope';
import { topicSpec } from './topics';

/**
 * A study went quiet: no new instance for the node's quiet period. The event is a snapshot of
 * everything the node holds of the study, not a delta, so that a late series produces a new,
 * complete snapshot and a consumer can apply snapshots again or out of order without harm.
 * Key: StudyInstanceUID. Carries patient data: consumers must not log `study`.
 */
export const STUDY_COMPLETED_V1 = topicSpec({
  topic: 'imaging.study-completed.v1',
  type: 'org.imagingfacade.imaging.study-completed.v1',
  partitions: 3,
  // The last snapshot per study is the node's durable catalogue of its studies, read whole at start
  // (the mapper's and the desk's StudyCatalog, the DICOMweb index).
  cleanupPolicy: 'compact',
} as const);

export const studyInstanceSchema = z.object({
  sopInstanceUid: dicomUidSchema,
  sopClassUid: dicomUidSchema,
  transferSyntaxUid: dicomUidSchema,
  /** INSTANCE_LEVEL_TAGS of the instance. */
  attributes: dicomJsonSchema,
  /**
   * Where the node keeps the instance: its Part 10 file, relative to the node's storage root, and the
   * file's size. Optional: snapshots published before they were added lack them.
   */
  storagePath: z.string().min(1).optional(),
  sizeBytes: z.number().int().nonnegative().optional(),
  /**
   * Optional, only for radiation dose reports (DOSE_SR_SOP_CLASSES): their SR_CONTENT_TAGS (title,
   * template, content tree) in DICOM JSON, so that consumers can read the dose without the file.
   * (A rejection note's references, REJECTION_NOTE_CONTENT_TAGS, are kept in the ingest's index,
   * but a note is never listed: see `rejected`.)
   */
  content: dicomJsonSchema.optional(),
});

/**
 * The node's own Key Object Selection document (PS3.3 A.35.4, title "Manifest") that references every
 * instance of `series`. It is stored with the study, in a series of its own, and is not listed in
 * `series`: it is derived by the node, and a newer manifest replaces the previous one.
 */
export const studyManifestSchema = z.object({
  seriesInstanceUid: dicomUidSchema,
  sopInstanceUid: dicomUidSchema,
  sopClassUid: dicomUidSchema,
  transferSyntaxUid: dicomUidSchema,
  /** Path of the Part 10 file, relative to the node's storage root. */
  storagePath: z.string().min(1),
  /** When this manifest was made; a newer manifest of the study has a later time. */
  createdAt: z.iso.datetime({ offset: true }),
  /** How many instances it references (all those of `series`). */
  referencedInstances: z.number().int().nonnegative(),
});

export const studySeriesSchema = z.object({
  seriesInstanceUid: dicomUidSchema,
  /** SERIES_LEVEL_TAGS, from the series' most recently received instance, what it leaves empty filled from those before it. */
  attributes: dicomJsonSchema,
  instances: z.array(studyInstanceSchema).min(1),
});

/** An instance of the study that an IHE IOCM rejection note held by the node rejects, or such a note itself (with its own reason). */
export const studyRejectionSchema = z.object({
  sopInstanceUid: dicomUidSchema,
  /** The code (DCM) of the note's title: 113001 quality, 113037 patient safety, 113038 worklist entry, 113039 retention. */
  reason: z.string().regex(/^\d+$/),
});

export const studyCompletedV1DataSchema = z
  .object({
    studyInstanceUid: dicomUidSchema,
    /** STUDY_LEVEL_TAGS (patient and study), from the study's most recently received acquired instance (objects made from the images count after them), what it leaves empty filled from the others (patient identifiers never). */
    study: dicomJsonSchema,
    /** What the node serves of the study: neither rejected instances nor the rejection notes. Empty only when every instance was rejected. */
    series: z.array(studySeriesSchema),
    firstReceivedAt: z.iso.datetime({ offset: true }),
    lastReceivedAt: z.iso.datetime({ offset: true }),
    /** Optional: the node's manifest of the study, when it could make one. */
    manifest: studyManifestSchema.optional(),
    /**
     * Optional: instances of the study rejected by a rejection note (IHE IOCM), which consumers hide
     * wherever an earlier snapshot made them known (a rejected instance never comes back; the note
     * decides). Absent when none is.
     */
    rejected: z.array(studyRejectionSchema).min(1).optional(),
  })
  .refine((data) => data.series.length > 0 || data.rejected !== undefined, {
    path: ['series'],
    message: 'a study without series: only when every instance of it was rejected',
  });

export type StudyInstance = z.infer<typeof studyInstanceSchema>;
export type StudySeries = z.infer<typeof studySeriesSchema>;
export type StudyManifest = z.infer<typeof studyManifestSchema>;
export type StudyRejection = z.infer<typeof studyRejectionSchema>;
export type StudyCompletedV1Data = z.infer<typeof studyCompletedV1DataSchema>;

export const studyCompletedV1Schema = envelopeSchema(STUDY_COMPLETED_V1.type, studyCompletedV1DataSchema);
export type StudyCompletedV1 = z.infer<typeof studyCompletedV1Schema>;
