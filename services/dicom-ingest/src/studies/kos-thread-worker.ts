import { silenceDcmjs } from '@imaging-facade/dicom';
import { answerWithBytes } from '@imaging-facade/service-kit';
import { ManifestBuildError, writeKos, type ManifestContent } from './kos-writer';

// The manifest thread's code (kos-thread.ts): each message is one manifest to write, answered with
// its bytes or with why it could not be written. dcmjs logs values it cannot encode: never here.
silenceDcmjs();
answerWithBytes(
  ({ content }: { content: ManifestContent }) => writeKos(content),
  (error) => (error instanceof ManifestBuildError ? error.reason : undefined),
);
