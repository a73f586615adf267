import { z } from 'zod';
import { topicSpec } from './topics';
import { dicomUidSchema } from '@imaging-facade/dicom';
import { envelopeSchema } from './envelope';

/**
 * One instance was received over DICOM and stored durably, byte for byte as sent.
 * Key: StudyInstanceUID. Carries no patient data.
 */
export const INSTANCE_STORED_V1 = topicSpec({
  topic: 'imaging.instance-stored.v1',
  type: 'org.imagingfacade.imaging.instance-stored.v1',
  partitions: 3,
  cleanupPolicy: 'delete',
} as const);

export const instanceStoredV1DataSchema = z.object({
  studyInstanceUid: dicomUidSchema,
  seriesInstanceUid: dicomUidSchema,
  sopInstanceUid: dicomUidSchema,
  sopClassUid: dicomUidSchema,
  transferSyntaxUid: dicomUidSchema,
  /** Path of the stored Part 10 file, relative to the node's storage root. */
  storagePath: z.string().min(1),
  sizeBytes: z.number().int().nonnegative(),
  callingAeTitle: z.string(),
  calledAeTitle: z.string(),
  receivedAt: z.iso.datetime({ offset: true }),
});

export type InstanceStoredV1Data = z.infer<typeof instanceStoredV1DataSchema>;

export const instanceStoredV1Schema = envelopeSchema(INSTANCE_STORED_V1.type, instanceStoredV1DataSchema);
export type InstanceStoredV1 = z.infer<typeof instanceStoredV1Schema>;
