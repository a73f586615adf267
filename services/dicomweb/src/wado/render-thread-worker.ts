import { answerWithBytes } from '@imaging-facade/service-kit';
import { renderFrame, RenderError, type RenderOptions } from './render';

// The render thread's code (render-thread.ts): each message is one frame to render, answered with
// the image's bytes or with why it could not be rendered.
answerWithBytes(
  ({ file, options }: { file: Uint8Array; options: RenderOptions }) => renderFrame(file, options),
  (error) => (error instanceof RenderError ? error.message : undefined),
);
