import { parentPort } from 'node:worker_threads';
import { silenceDcmjs } from '@imaging-facade/dicom';
import { ManifestBuildError, writeKos, type ManifestContent } from './kos-writer';

// The manifest thread's code (kos-thread.ts): each message is one manifest to write, answered with
// its bytes or with why it could not be written. dcmjs logs values it cannot encode: never here.
silenceDcmjs();
parentPort?.on('message', ({ id, content }: { id: number; content: ManifestContent }) => {
  try {
    parentPort?.postMessage({ id, bytes: writeKos(content) });
  } catch (error) {
    const buildError = error instanceof ManifestBuildError;
    const message = buildError ? error.reason : error instanceof Error ? error.message : String(error);
    parentPort?.postMessage({ id, error: { message, buildError } });
  }
});
