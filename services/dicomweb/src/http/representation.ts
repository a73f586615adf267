import type { RequestHandler } from 'express';
import { formatRefusal, formatValues, JSON_FORMAT_VALUES } from '@imaging-facade/service-kit';
import { notAcceptable } from './errors';

/** The JSON types DICOMweb's JSON answers (QIDO-RS, metadata) are: `_format` may name any of them. */
const DICOMWEB_JSON: ReadonlySet<string> = new Set([...JSON_FORMAT_VALUES, 'application/dicom+json']);

/** The resources that answer JSON; the others (instances, frames, bulk data, renderings) choose by `Accept`. */
const JSON_ANSWER = /\/(studies|series|instances|metadata)$/;

/**
 * `_format`, as at the gateway: JSON honoured where the answer is JSON, anything else a 406. On a
 * resource that answers images or bytes no `_format` can be honoured, so any is a 406 there too
 * (its representation is chosen by `Accept`).
 */
export const formatParameter: RequestHandler = (req, _res, next) => {
  const values = formatValues(req.originalUrl);
  if (values.length === 0) {
    next();
    return;
  }
  if (!JSON_ANSWER.test(req.path)) {
    next(notAcceptable('_format is not served here: this resource is chosen with the Accept header'));
    return;
  }
  const refusal = formatRefusal(values, DICOMWEB_JSON);
  next(refusal ? notAcceptable(refusal) : undefined);
};
