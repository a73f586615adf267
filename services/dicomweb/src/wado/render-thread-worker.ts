import { parentPort } from 'node:worker_threads';
import { renderFrame, RenderError, type RenderOptions } from './render';

// The render thread's code (render-thread.ts): each message is one frame to render, answered with
// the image's bytes or with why it could not be rendered.
parentPort?.on('message', ({ id, file, options }: { id: number; file: Uint8Array; options: RenderOptions }) => {
  renderFrame(file, options).then(
    (image) => parentPort?.postMessage({ id, image }),
    (error: unknown) => {
      const renderError = error instanceof RenderError;
      parentPort?.postMessage({ id, error: { message: error instanceof Error ? error.message : String(error), renderError } });
    },
  );
});
