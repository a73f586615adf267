import compression from 'compression';
import type { RequestHandler } from 'express';

/**
 * JSON answers (QIDO-RS, `…/metadata`, the viewer's summaries) compressed when the client accepts
 * it — Brotli or gzip, as `Accept-Encoding` prefers (expressjs/compression) — with
 * `Vary: Accept-Encoding`, streamed through zlib with backpressure. Only the resources that answer
 * JSON go through it (`jsonResource`), and only answers typed JSON are compressed: the multipart
 * retrievals (DICOM files, frames, bulk data, often compressed already) and the renderings go out as
 * they are, without passing through the compression's stream. Bodies under 1 KiB are sent as they are.
 */
const JSON_TYPE = /^application\/(?:[\w.-]+\+)?json\s*(?:;|$)/i;

/** DICOMweb's JSON resources: the QIDO-RS searches and the metadata. */
export const DICOMWEB_JSON_RESOURCE = /\/(?:studies|series|instances|metadata)$/;

export function jsonCompression(jsonResource: RegExp = /(?:)/): RequestHandler {
  const compress = compression({ filter: (_req, res) => JSON_TYPE.test(String(res.getHeader('content-type') ?? '')) });
  return (req, res, next) => (jsonResource.test(req.path) ? compress(req, res, next) : next());
}
