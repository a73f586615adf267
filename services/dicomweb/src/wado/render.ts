import { DicomImage, NativePixelDecoder, WindowLevel, log as imagingLog } from 'dcmjs-imaging';
import sharp from 'sharp';
import type { DicomJson } from '@imaging-facade/dicom';

/**
 * WADO-RS rendered and thumbnail resources (PS3.18 8.3.5, 9.5): one frame as a consumer image
 * (JPEG or PNG), windowed with the dataset's VOI (Window Center/Width, or its VOI LUT; else its
 * value range), for every transfer syntax the node accepts — dcmjs-imaging decodes JPEG baseline,
 * extended and lossless, JPEG-LS, JPEG 2000 and RLE with its WebAssembly codecs; sharp encodes.
 */

export type RenderedType = 'image/jpeg' | 'image/png';

export interface RenderOptions {
  /** 0-based. */
  frame: number;
  mediaType: RenderedType;
  /** PS3.18 `window=center,width` (linear function): overrides the dataset's VOI. */
  window?: { center: number; width: number } | undefined;
  /** PS3.18 `viewport=width,height`: the image is scaled to fit, keeping its aspect. */
  viewport?: { width: number; height: number } | undefined;
  /** JPEG quality, 1–100 (PS3.18 `quality`). */
  quality?: number | undefined;
}

/** Rows × Columns × Samples per Pixel of an instance's DICOM JSON: what decoding one frame holds. */
export function pixelsPerFrame(metadata: DicomJson): number {
  const first = (tag: string): number => {
    const value = metadata[tag]?.Value?.[0];
    return typeof value === 'number' ? value : 1;
  };
  return first('00280010') * first('00280011') * first('00280002');
}

export class RenderError extends Error {
  override readonly name = 'RenderError';
}

let decoderReady: Promise<void> | undefined;

/** The WebAssembly codecs are loaded once, on first use. */
function ensureDecoder(): Promise<void> {
  if (!decoderReady) {
    imagingLog.setLevel('silent');
    decoderReady = NativePixelDecoder.initializeAsync();
  }
  return decoderReady;
}

export async function renderFrame(file: Uint8Array, options: RenderOptions): Promise<Buffer> {
  await ensureDecoder();
  const image = new DicomImage(file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength) as ArrayBuffer);
  if (options.frame < 0 || options.frame >= Math.max(1, image.getNumberOfFrames())) {
    throw new RenderError(`the instance has no frame ${options.frame + 1}`);
  }
  let rendered;
  try {
    rendered = image.render({
      frame: options.frame,
      ...(options.window ? { windowLevel: new WindowLevel(options.window.width, options.window.center) } : {}),
    });
  } catch (error) {
    throw new RenderError(`the frame cannot be rendered: ${(error as Error).message}`);
  }
  let pipeline = sharp(Buffer.from(rendered.pixels), { raw: { width: rendered.width, height: rendered.height, channels: 4 } }).removeAlpha();
  if (options.viewport) {
    pipeline = pipeline.resize(options.viewport.width, options.viewport.height, { fit: 'inside' });
  }
  return options.mediaType === 'image/png' ? pipeline.png().toBuffer() : pipeline.jpeg({ quality: options.quality ?? 90 }).toBuffer();
}
