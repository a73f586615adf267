import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import express, { type Request, type Response, type Router } from 'express';
import { EXPLICIT_VR_BIG_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN, hasEncapsulatedPixelData, nativePixelData, readBulkData, tagOf, type DicomJson } from '@imaging-facade/dicom';
import type { DicomwebDeps } from '../http/deps';
import { badRequest, DicomwebError, notAcceptable, notFound } from '../http/errors';
import { streamJsonArray } from '../http/backpressure';
import { audited, principalOf } from '../http/request-context';
import { checkUid } from '../http/uids';
import { type InstanceFileRow, type InstanceRow, type StudyRow } from '../index/study-index-db';
import { instanceMetadataText } from '../qido/search';
import { chooseSingle, multipartChoices, parseAccept } from './accept';
import { multipartContentType, newBoundary, READ_AHEAD_MAX_BYTES, streamParts, type Part } from './multipart';
import { noneMatchHolds } from './conditional';
import { pixelsPerFrame, RenderError, type RenderedType } from './render';
import { frameParts, indexedPixelData, openFrames } from './frame-parts';
import { InstanceFrames } from './instance-frames';
import { canTranscode, transcodePart10 } from './transcode';

/**
 * WADO-RS (PS3.18 10.4): studies, series and instances as stored (byte for byte, streamed) or
 * decompressed to Explicit VR Little Endian when asked (one instance at a time), their
 * metadata (from the index), frames, bulk data, and rendered images and thumbnails. Every resource
 * is looked up in the index first: files are reached only through it, never through a path a
 * client wrote; a study the token may not see is answered 404, as one that does not exist.
 */

const RENDERED: readonly RenderedType[] = ['image/jpeg', 'image/png'];
const JSON_TYPES = ['application/dicom+json', 'application/json'];
const THUMBNAIL_SIZE = 128;

interface Target<Row> {
  study: StudyRow;
  instances: Row[];
}

export function wadoRoutes(deps: DicomwebDeps): Router {
  const router = express.Router();
  const fileOf = (row: Pick<InstanceRow, 'storagePath'>): string => path.join(deps.storageDir, row.storagePath);
  const instanceFrames = new InstanceFrames(deps.frameCacheBytes);

  /**
   * The instances a path names, once the token may see the study; 404 otherwise. With their
   * metadata, or (`files`) without it, for a retrieve of their files.
   */
  async function target(req: Request, res: Response): Promise<Target<InstanceRow>>;
  async function target(req: Request, res: Response, files: 'files'): Promise<Target<InstanceFileRow>>;
  async function target(req: Request, res: Response, files?: 'files'): Promise<Target<InstanceRow | InstanceFileRow>> {
    const { study, studyUid, seriesUid, sopUid } = await visibleStudy(req, res);
    const instances = files ? deps.db.instanceFilesOf(studyUid, seriesUid, sopUid) : deps.db.instancesOf(studyUid, seriesUid, sopUid);
    if (instances.length === 0) {
      throw notFound(sopUid ? `Instance ${sopUid}` : `Series ${seriesUid ?? ''}`);
    }
    return { study, instances };
  }

  /** The study a path names, once the token may see it (404 otherwise), and the UIDs the path gives. */
  async function visibleStudy(req: Request, res: Response) {
    const studyUid = checkUid(req.params.study as string, 'StudyInstanceUID');
    const seriesUid = req.params.series === undefined ? undefined : checkUid(req.params.series as string, 'SeriesInstanceUID');
    const sopUid = req.params.instance === undefined ? undefined : checkUid(req.params.instance as string, 'SOPInstanceUID');
    const study = deps.db.study(studyUid);
    if (!study || !(await deps.access.canSee(principalOf(res), deps.db.accessFactsOf(study), 'read'))) {
      throw notFound(`Study ${studyUid}`);
    }
    audited(res).studies = [study];
    return { study, studyUid, seriesUid, sopUid };
  }

  /** One instance's weak validator, from its file: an instance sent again replaces its file. */
  const etagOf = async (row: Pick<InstanceRow, 'storagePath'>, representation: string): Promise<string> => {
    const info = await stat(fileOf(row));
    return `W/"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}${representation}"`;
  };
  /** `representation` tells apart what is not the stored bytes (a transcoded instance). */
  const notModified = async (req: Request, res: Response, rows: ReadonlyArray<Pick<InstanceRow, 'storagePath'>>, representation = ''): Promise<boolean> => {
    if (rows.length !== 1) return false;
    const etag = await etagOf(rows[0] as Pick<InstanceRow, 'storagePath'>, representation);
    res.set('etag', etag);
    if (noneMatchHolds(req.headers['if-none-match'], etag)) {
      res.status(304).end();
      return true;
    }
    return false;
  };

  const retrieve = async (req: Request, res: Response): Promise<void> => {
    const { instances } = await target(req, res, 'files');
    const choices = multipartChoices(parseAccept(req.headers.accept), ['application/dicom']);
    if (choices.length === 0) {
      throw notAcceptable('instances are served as multipart/related; type="application/dicom"');
    }
    // Each instance in the client's best choice it can be given in: as stored, or decompressed. With
    // no Accept (or `*/*`), explicit VR little endian, and as stored only the instances that cannot
    // be decoded (until 2026-12-07 one such instance sent the whole study as stored, big endian too).
    const syntaxOf = (row: InstanceFileRow): string | undefined =>
      choices.find((item) => item.transferSyntax === '*' || canTranscode(row.transferSyntaxUid, item.transferSyntax, row.bitsAllocated))?.transferSyntax;
    const unservable = instances.find((row) => syntaxOf(row) === undefined);
    if (unservable) {
      const asked = (choices[0] as { transferSyntax: string }).transferSyntax;
      throw notAcceptable(`instances stored in ${unservable.transferSyntaxUid} can be served in that syntax or decompressed to 1.2.840.10008.1.2.1, not in ${asked}; ask for transfer-syntax=* to get them as stored`);
    }
    const single = instances.length === 1 ? syntaxOf(instances[0] as InstanceFileRow) : undefined;
    const transcoded = single !== undefined && single !== '*' && single !== (instances[0] as InstanceFileRow).transferSyntaxUid;
    if (await notModified(req, res, instances, transcoded ? `-${single}` : '')) return;
    const boundary = newBoundary();
    res.status(200).type(multipartContentType('application/dicom', boundary));
    // A HEAD is answered what a GET would be, without reading a file (it read and decoded them all).
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    // Each file's length is read as its turn comes: a study of any size starts at once. An instance
    // to transcode is read and decompressed only then, so one at a time is in memory.
    async function* parts(): AsyncGenerator<Part> {
      for (const row of instances) {
        const file = fileOf(row);
        const wanted = syntaxOf(row) as string;
        if (wanted === '*' || wanted === row.transferSyntaxUid) {
          // A file the index says is small is read whole, its length taken from what is read: no stat.
          const small = row.sizeBytes !== null && row.sizeBytes <= READ_AHEAD_MAX_BYTES;
          yield { contentType: `application/dicom; transfer-syntax=${row.transferSyntaxUid}`, file, ...(small ? {} : { length: (await stat(file)).size }) };
        } else {
          yield { contentType: `application/dicom; transfer-syntax=${wanted}`, bytes: await transcodePart10(await readFile(file), wanted) };
        }
      }
    }
    await streamParts(res, boundary, parts());
  };

  const metadata = async (req: Request, res: Response): Promise<void> => {
    const { instances } = await target(req, res);
    const mediaType = chooseSingle(parseAccept(req.headers.accept), JSON_TYPES);
    if (!mediaType) throw notAcceptable('metadata is served as application/dicom+json');
    if (await notModified(req, res, instances)) return;
    // The index keeps each instance's DICOM JSON as text: streamed as it is, not parsed and written
    // again, nor joined into one string (a 600-instance series is ~7 MB, which OHIF waits for before
    // its first image; compressed on the way when the client accepts it).
    res.status(200).type(mediaType);
    await streamJsonArray(res, (function* () {
      for (const row of instances) yield instanceMetadataText(row, deps.publicBaseUrl);
    })());
  };

  const frameNumbers = (text: string): number[] => {
    const numbers = text.split(',').map((item) => item.trim());
    if (numbers.length === 0 || numbers.length > 1000 || numbers.some((item) => !/^[1-9]\d{0,6}$/.test(item))) {
      throw badRequest('frames: a comma-separated list of frame numbers, from 1');
    }
    return numbers.map(Number);
  };

  const frames = async (req: Request, res: Response): Promise<void> => {
    const { instances } = await target(req, res);
    const row = instances[0] as InstanceRow;
    const wanted = frameNumbers(req.params.frames as string);
    const choices = multipartChoices(parseAccept(req.headers.accept), ['application/octet-stream']);
    if (choices.length === 0) throw notAcceptable('frames are served as multipart/related; type="application/octet-stream"');
    const parts = await frameParts(instanceFrames, fileOf(row), row.sopUid, choices, wanted);
    const boundary = newBoundary();
    res.status(200).type(multipartContentType('application/octet-stream', boundary));
    await streamParts(res, boundary, parts);
  };

  const bulkdata = async (req: Request, res: Response): Promise<void> => {
    const { instances } = await target(req, res);
    const row = instances[0] as InstanceRow;
    const raw = (req.params.path as string[] | string | undefined) ?? [];
    const segments = Array.isArray(raw) ? raw : raw.split('/');
    if (segments.length === 0 || segments.some((segment) => !/^([0-9A-Fa-f]{8}|\d{1,6})$/.test(segment))) {
      throw badRequest('bulkdata: a path of tags (8 hex digits) and item numbers');
    }
    const choices = multipartChoices(parseAccept(req.headers.accept), ['application/octet-stream']);
    if (choices.length === 0) throw notAcceptable('bulk data is served as multipart/related; type="application/octet-stream"');
    let parts: Part[] | AsyncIterable<Part>;
    const pixelData = segments.length === 1 && segments[0]?.toUpperCase() === tagOf('PixelData');
    // Native Pixel Data is read from the file piece after piece, never the file whole (but deflated: undefined).
    const index = pixelData && !hasEncapsulatedPixelData(row.transferSyntaxUid) ? await indexedPixelData(instanceFrames, fileOf(row), row.sopUid) : undefined;
    if (pixelData && hasEncapsulatedPixelData(row.transferSyntaxUid)) {
      // Compressed Pixel Data: its frames, one a part labelled with its syntax, as `frames` serves them (PS3.18 8.7.3.3.2).
      parts = await frameParts(instanceFrames, fileOf(row), row.sopUid, choices);
    } else if (index?.layout.kind === 'native') {
      // Little endian, as below.
      parts = [{ contentType: 'application/octet-stream', length: index.layout.valueLength, pieces: nativePixelData(index, { littleEndian: true }) }];
    } else {
      // Binary values are little endian (PS3.18 8.7.3.3.1): a big endian instance's are read once swapped.
      const source = row.transferSyntaxUid === EXPLICIT_VR_BIG_ENDIAN ? await transcodePart10(await readFile(fileOf(row)), EXPLICIT_VR_LITTLE_ENDIAN) : fileOf(row);
      const bytes = await readBulkData(source, segments.map((segment) => (/^\d{1,6}$/.test(segment) && segment.length < 8 ? Number(segment) : segment)));
      if (!bytes) throw notFound('That bulk data');
      parts = [{ contentType: 'application/octet-stream', bytes }];
    }
    const boundary = newBoundary();
    res.status(200).type(multipartContentType('application/octet-stream', boundary));
    await streamParts(res, boundary, parts);
  };

  const renderOptions = (req: Request, thumbnail: boolean) => {
    const mediaType = chooseSingle(parseAccept(req.headers.accept), RENDERED) as RenderedType | undefined;
    if (!mediaType) throw notAcceptable('rendered images are served as image/jpeg or image/png');
    const numbers = (name: string, count: number): number[] | undefined => {
      const value = req.query[name];
      if (value === undefined) return undefined;
      const parts = String(value).split(',').slice(0, count).map(Number);
      if (parts.length < count || parts.some((part) => !Number.isFinite(part))) throw badRequest(`${name}: ${count} numbers separated by commas`);
      return parts;
    };
    const window = numbers('window', 2);
    const viewport = numbers('viewport', 2);
    const quality = numbers('quality', 1);
    if (viewport && viewport.some((size) => size < 1 || size > 4096)) throw badRequest('viewport: sizes from 1 to 4096');
    if (window && (window[1] as number) <= 0) throw badRequest('window: the width must be positive');
    return {
      mediaType,
      window: window ? { center: window[0] as number, width: window[1] as number } : undefined,
      viewport: viewport ? { width: viewport[0] as number, height: viewport[1] as number } : thumbnail ? { width: THUMBNAIL_SIZE, height: THUMBNAIL_SIZE } : undefined,
      quality: quality ? Math.min(100, Math.max(1, quality[0] as number)) : undefined,
    };
  };

  const rendered = (thumbnail: boolean) => async (req: Request, res: Response): Promise<void> => {
    const options = renderOptions(req, thumbnail);
    const frameText = req.params.frames as string | undefined;
    const frame = frameText ? frameNumbers(frameText)[0] as number : 1;
    // A series' or a study's thumbnail: the middle instance that has pixels.
    const row = req.params.instance ? (await target(req, res)).instances[0] : await visibleStudy(req, res).then(({ studyUid, seriesUid }) => deps.db.middleImageOf(studyUid, seriesUid));
    if (!row || !row.metadata.includes('"7FE00010"')) throw notFound('An image');
    const pixels = pixelsPerFrame(JSON.parse(row.metadata) as DicomJson);
    if (pixels > deps.rendering.maxPixels) {
      throw notAcceptable(`the frame has ${pixels} pixels, more than this node renders (${deps.rendering.maxPixels}); its frames are served as stored`);
    }
    try {
      // The frame alone (with the header) of an instance read by range; a smaller instance's whole file.
      const renderable = await (await openFrames(instanceFrames, fileOf(row), row.sopUid)).renderable(frame);
      const image = await deps.rendering.render(renderable.bytes, { ...options, frame: renderable.frame });
      res.status(200).type(options.mediaType).send(image);
    } catch (error) {
      if (error instanceof RenderError) throw new DicomwebError(404, error.message);
      throw error;
    }
  };

  const instancePath = '/studies/:study/series/:series/instances/:instance';
  router.get('/studies/:study', retrieve);
  router.get('/studies/:study/metadata', metadata);
  router.get('/studies/:study/thumbnail', rendered(true));
  router.get('/studies/:study/series/:series', retrieve);
  router.get('/studies/:study/series/:series/metadata', metadata);
  router.get('/studies/:study/series/:series/thumbnail', rendered(true));
  router.get(instancePath, retrieve);
  router.get(`${instancePath}/metadata`, metadata);
  router.get(`${instancePath}/rendered`, rendered(false));
  router.get(`${instancePath}/thumbnail`, rendered(true));
  router.get(`${instancePath}/frames/:frames`, frames);
  router.get(`${instancePath}/frames/:frames/rendered`, rendered(false));
  router.get(`${instancePath}/frames/:frames/thumbnail`, rendered(true));
  router.get(`${instancePath}/bulkdata/*path`, bulkdata);
  return router;
}
