import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import sharp from 'sharp';
import type { DocumentReference, ImagingStudy } from '@medplum/fhirtypes';
import { startGateway, type Gateway } from '../../services/fhir-gateway/src/test-support/harness';
import { startDicomweb, parseMultipart, type DicomwebNode } from '../support/dicomweb';
import { FHIR_BASE_URL, search, studiesByUid } from '../support/fhir';
import { metric, startPipeline, type Pipeline } from '../support/pipeline';
import { datasetDigests } from '../faults/ledger';
import { sample, SAMPLES, SYSTEM_PYTHON } from '../support/sample-files';
import { pydicomDifferences } from '../support/dataset-compare';
import { addSeries, makeStudy, type GeneratedStudy } from '../support/study-factory';
import { storescu, storeResponses } from '../support/dcmtk';
import { startOrthanc } from '../support/orthanc';
import { eventually } from '../support/wait';
import { rejectionNote } from '../support/rejection-notes';

/**
 * Issue 12: the node serves its images over DICOMweb to the people allowed to see them. Real DICOM
 * files (pydicom's samples, several transfer syntaxes) sent with storescu through the ingest; the
 * DICOMweb service as its own process, taking the gateway's development tokens; every byte served
 * checked against an independent read of the originals (pydicom).
 */

const view = (args: string[]): any => JSON.parse(execFileSync(SYSTEM_PYTHON, [`${__dirname}/../support/pydicom-view.py`, ...args], { maxBuffer: 64 * 1024 * 1024 }).toString());

let pipeline: Pipeline;
let gateway: Gateway;
let node: DicomwebNode;
let study: GeneratedStudy;
let other: GeneratedStudy;
let clinician: string;

beforeAll(async () => {
  gateway = await startGateway();
  pipeline = await startPipeline({}, { consent: true });
  node = await startDicomweb({ storageDir: pipeline.storageDir, topicPrefix: pipeline.topicPrefix, gatewayOrigin: gateway.origin });
  clinician = await gateway.token('user/ImagingStudy.rs user/Patient.rs');
  study = await makeStudy([
    { source: SAMPLES.ctExplicitLittle, instances: 3 },
    { source: SAMPLES.mrRle, instances: 1 },
    { source: SAMPLES.mrJpeg2000Lossless, instances: 1 },
    { source: SAMPLES.jpegBaseline, instances: 1 },
  ]);
  other = await makeStudy([{ source: SAMPLES.mrExplicitLittle, instances: 1 }]);
  // Each series proposed in its own transfer syntax (-R), as the modality that encoded it would send it.
  const options = ['-xe', '-xr', '-xv', '-xy'];
  for (const [index, series] of study.series.entries()) {
    const result = await storescu(pipeline.dicomPort, series.files, { args: ['-R', options[index] as string] });
    expect(result.code).toBe(0);
  }
  expect((await storescu(pipeline.dicomPort, other.files)).code).toBe(0);
  await eventually(async () => {
    const found = await node.get(`/studies?StudyInstanceUID=${study.studyInstanceUid},${other.studyInstanceUid}`, clinician);
    return found.status === 200 && JSON.parse(found.body.toString()).length === 2 ? true : undefined;
  }, { timeoutMs: 60_000, what: 'both studies in the DICOMweb index' });
});

afterAll(async () => {
  await node?.stop();
  await pipeline?.stop();
  await gateway?.stop();
});

const json = (body: Buffer): any => JSON.parse(body.toString('utf8'));
const value = (dataset: any, tag: string): unknown => dataset[tag]?.Value?.[0];

describe('security: the gateway\'s token and access rule', () => {
  test('without a token: 401 with WWW-Authenticate, and no data', async () => {
    const response = await node.get('/studies');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm=/);
    expect(response.body.toString()).not.toContain(study.patientId);
  });

  test('a forged token: 401 invalid_token', async () => {
    const response = await node.get('/studies', `${clinician.slice(0, -4)}AAAA`);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
  });

  test('a token without an ImagingStudy scope: 403', async () => {
    expect((await node.get('/studies', await gateway.token('user/Observation.rs'))).status).toBe(403);
  });

  test('a patient token sees its own patient\'s study and not another\'s (404 on retrieve)', async () => {
    const indexed = await eventually(async () => {
      const found = await studiesByUid(study.studyInstanceUid);
      return found[0]?.subject?.reference ? found[0] : undefined;
    }, { timeoutMs: 30_000, what: 'the ImagingStudy in the index' });
    const patientId = (indexed.subject?.reference as string).split('/')[1] as string;
    const patientToken = await gateway.token('patient/ImagingStudy.rs', { patient: patientId });
    const own = json((await node.get('/studies', patientToken)).body);
    expect(own.map((match: any) => value(match, '0020000D'))).toEqual([study.studyInstanceUid]);
    expect((await node.get(`/studies/${other.studyInstanceUid}/metadata`, patientToken)).status).toBe(404);
    expect((await node.get(`/studies/${study.studyInstanceUid}/metadata`, patientToken)).status).toBe(200);
  });

  test('the Endpoint in the index points at this DICOMweb base and requires the access token', async () => {
    const [indexed] = await studiesByUid(study.studyInstanceUid);
    const endpointId = (indexed as ImagingStudy).endpoint?.[0]?.reference;
    expect(endpointId).toMatch(/^Endpoint\//);
    const [endpoint] = await search<any>(`Endpoint?_id=${endpointId?.split('/')[1]}`);
    expect(endpoint.connectionType.code).toBe('dicom-wado-rs');
    expect(endpoint.extension).toContainEqual({ url: 'http://fhir.org/argonaut/smart-imaging/StructureDefinition/requires-access-token', valueBoolean: true });
  });
});

describe('QIDO-RS, answered from the index', () => {
  test('studies by PatientID: the required attributes, counts and modalities', async () => {
    const response = await node.get(`/studies?PatientID=${study.patientId}`, clinician, 'application/dicom+json');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/dicom\+json/);
    const [match, ...rest] = json(response.body);
    expect(rest).toEqual([]);
    expect(value(match, '0020000D')).toBe(study.studyInstanceUid);
    expect(value(match, '00100020')).toBe(study.patientId);
    // 6 instances sent in 4 series; the node's own manifest (a KOS) is neither counted nor listed.
    expect(value(match, '00201208')).toBe(6);
    expect(value(match, '00201206')).toBe(4);
    expect(match['00080061'].Value).toEqual(expect.arrayContaining(['CT', 'MR']));
    expect(match['00080061'].Value).not.toContain('KO');
    expect(value(match, '00081190')).toBe(`${node.base}/studies/${study.studyInstanceUid}`);
  });

  test.each([
    ['a wildcard on PatientID', (p: string) => `PatientID=${p.slice(0, -3)}*`],
    ['a date range', () => 'StudyDate=20240101-20240131'],
    ['ModalitiesInStudy', () => 'ModalitiesInStudy=MR'],
  ])('matching by %s finds the study', async (_what, query) => {
    const response = await node.get(`/studies?${query(study.patientId)}&StudyInstanceUID=${study.studyInstanceUid}`, clinician);
    expect(json(response.body).map((match: any) => value(match, '0020000D'))).toEqual([study.studyInstanceUid]);
  });

  test('series and instances of the study, with limit and offset', async () => {
    const series = json((await node.get(`/studies/${study.studyInstanceUid}/series`, clinician)).body);
    expect(series).toHaveLength(4);
    const ct = study.series[0];
    const instances = json((await node.get(`/studies/${study.studyInstanceUid}/series/${ct?.seriesInstanceUid}/instances?limit=2&offset=1`, clinician)).body);
    expect(instances).toHaveLength(2);
    expect(instances.map((match: any) => value(match, '00280010'))).toEqual([128, 128]);
  });

  test("the node's own manifest: retrieved by the URL its DocumentReference gives, never listed (a reader took it for key images)", async () => {
    const [indexed] = await studiesByUid(study.studyInstanceUid);
    const [reference] = await eventually(async () => {
      const found = await search<DocumentReference>(`DocumentReference?related=ImagingStudy/${indexed?.id}`);
      return found.length === 1 ? found : undefined;
    }, { timeoutMs: 30_000, what: 'the manifest DocumentReference' });
    const manifestPath = /\/studies\/.*$/.exec(reference?.content[0]?.attachment.url ?? '')?.[0] as string;
    const manifestSeries = manifestPath.split('/')[4];

    const retrieved = await node.get(manifestPath, clinician, 'multipart/related; type="application/dicom"');
    expect(retrieved.status).toBe(200);
    expect(parseMultipart(retrieved.headers.get('content-type') as string, retrieved.body)).toHaveLength(1);
    const listedSeries = json((await node.get(`/studies/${study.studyInstanceUid}/series`, clinician)).body).map((match: any) => value(match, '0020000E'));
    expect(listedSeries).not.toContain(manifestSeries);
    const listedInstances = json((await node.get(`/studies/${study.studyInstanceUid}/instances`, clinician)).body);
    expect(listedInstances).toHaveLength(6);
    expect(json((await node.get(`/studies/${study.studyInstanceUid}/metadata`, clinician)).body)).toHaveLength(6);
  });

  test('includefield adds what is asked', async () => {
    const [match] = json((await node.get(`/studies/${study.studyInstanceUid}/instances?SOPInstanceUID=${study.series[0]?.sopInstanceUids[0]}&includefield=00280030`, clinician)).body);
    expect(match['00280030']?.Value).toHaveLength(2);
  });

  test.each([
    ['a malformed date', '/studies?StudyDate=2024'],
    ['an unknown attribute', '/studies?NotAKeyword=1'],
    ['a study UID that is not a UID', '/studies/1.2.abc/series'],
    ['a negative limit', '/studies?limit=-1'],
  ])('%s: 400 saying why', async (_what, path) => {
    const response = await node.get(path, clinician);
    expect(response.status).toBe(400);
    expect(json(response.body).message).toBeTruthy();
  });

  test('a huge limit is lowered, with a Warning', async () => {
    const response = await node.get('/studies?limit=999999999', clinician);
    expect(response.status).toBe(200);
    expect(response.headers.get('warning')).toMatch(/limit lowered/);
  });
});

describe('WADO-RS: what was stored, byte for byte', () => {
  test('the study retrieved as multipart/related: every instance, as the node keeps it, and holding the data elements sent', async () => {
    const response = await node.get(`/studies/${study.studyInstanceUid}`, clinician, 'multipart/related; type="application/dicom"; transfer-syntax=*');
    expect(response.status).toBe(200);
    const parts = parseMultipart(response.headers.get('content-type') as string, response.body);
    // The 6 sent; the node's own manifest is retrieved by its URL only.
    expect(parts).toHaveLength(6);
    const sent = datasetDigests(study.files[0]?.replace(/\/[^/]+$/, '') as string);
    const dir = mkdtempSync('/tmp/facade-wado-');
    parts.forEach((part, index) => writeFileSync(`${dir}/${index}.dcm`, part.body));
    const served = datasetDigests(dir);
    for (const [sop, digests] of sent) {
      expect(served.get(sop)).toEqual(digests);
    }
    // Byte for byte: each part is the node's file.
    const stored = datasetDigests(pipeline.storageDir);
    for (const [sop, digests] of served) {
      expect(stored.get(sop)).toEqual(digests);
    }
  });

  test('asking for a syntax the node cannot produce (JPEG-LS of the CT): 406 saying so, never other bytes', async () => {
    const ct = study.series[0];
    const response = await node.get(`/studies/${study.studyInstanceUid}/series/${ct?.seriesInstanceUid}`, clinician, 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.80');
    expect(response.status).toBe(406);
    expect(json(response.body).message).toMatch(/1\.2\.840\.10008\.1\.2\.1\b/);
  });

  test('metadata: the values pydicom reads, and bulk data as BulkDataURIs that answer', async () => {
    const response = await node.get(`/studies/${study.studyInstanceUid}/metadata`, clinician);
    expect(response.status).toBe(200);
    const metadata = json(response.body) as any[];
    const expected = view(['attributes', ...study.files]) as Record<string, Record<string, unknown>>;
    for (const [sop, attributes] of Object.entries(expected)) {
      const instance = metadata.find((item) => value(item, '00080018') === sop);
      expect(instance).toBeDefined();
      expect(value(instance, '00100020')).toBe(attributes.PatientID);
      expect(value(instance, '00280010')).toBe(attributes.Rows);
      expect(value(instance, '00280011')).toBe(attributes.Columns);
      expect(value(instance, '00080060')).toBe(attributes.Modality);
      expect(instance['7FE00010'].BulkDataURI).toMatch(new RegExp(`^${node.base}/studies/`));
    }
    const ct = metadata.find((item) => value(item, '00080060') === 'CT');
    const bulk = await node.get(ct['7FE00010'].BulkDataURI, clinician, 'multipart/related; type="application/octet-stream"');
    expect(bulk.status).toBe(200);
    const [pixels] = parseMultipart(bulk.headers.get('content-type') as string, bulk.body);
    expect(pixels?.body.length).toBe(128 * 128 * 2);
  });

  test('an instance has an ETag, and answers 304 to it', async () => {
    const ct = study.series[0];
    const path = `/studies/${study.studyInstanceUid}/series/${ct?.seriesInstanceUid}/instances/${ct?.sopInstanceUids[0]}/metadata`;
    const first = await node.get(path, clinician);
    const etag = first.headers.get('etag') as string;
    expect(etag).toBeTruthy();
    const again = await fetch(`${node.base}${path}`, { headers: { authorization: `Bearer ${clinician}`, 'if-none-match': etag } });
    expect(again.status).toBe(304);
  });

  test('frames: raw for the CT, the compressed bitstream as stored for the JPEG 2000', async () => {
    const ct = study.series[0];
    const raw = await node.get(`/studies/${study.studyInstanceUid}/series/${ct?.seriesInstanceUid}/instances/${ct?.sopInstanceUids[0]}/frames/1`, clinician, 'multipart/related; type="application/octet-stream"; transfer-syntax=*');
    expect(raw.status).toBe(200);
    expect(parseMultipart(raw.headers.get('content-type') as string, raw.body)[0]?.body.length).toBe(128 * 128 * 2);
    const j2k = study.series[2];
    const compressed = await node.get(`/studies/${study.studyInstanceUid}/series/${j2k?.seriesInstanceUid}/instances/${j2k?.sopInstanceUids[0]}/frames/1`, clinician, 'multipart/related; type="application/octet-stream"; transfer-syntax=*');
    const [part] = parseMultipart(compressed.headers.get('content-type') as string, compressed.body);
    expect(part?.headers['content-type']).toContain('transfer-syntax=1.2.840.10008.1.2.4.90');
    // A JPEG 2000 codestream starts with SOC, FF4F.
    expect(part?.body.subarray(0, 2).toString('hex')).toBe('ff4f');
    // A syntax the node cannot give first, then anything: the fallback is taken, not a 406.
    const fallback = await node.get(
      `/studies/${study.studyInstanceUid}/series/${j2k?.seriesInstanceUid}/instances/${j2k?.sopInstanceUids[0]}/frames/1`,
      clinician,
      'multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2.4.80, multipart/related; type="application/octet-stream"; transfer-syntax=*;q=0.5',
    );
    expect(fallback.status).toBe(200);
    expect(parseMultipart(fallback.headers.get('content-type') as string, fallback.body)[0]?.headers['content-type']).toContain('transfer-syntax=1.2.840.10008.1.2.4.90');
  });

  test('rendered: the CT frame under a given window is the picture pydicom computes', async () => {
    const ct = study.series[0];
    const response = await node.get(`/studies/${study.studyInstanceUid}/series/${ct?.seriesInstanceUid}/instances/${ct?.sopInstanceUids[0]}/rendered?window=40,400`, clinician, 'image/png');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/png');
    const { data, info } = await sharp(response.body).greyscale().raw().toBuffer({ resolveWithObject: true });
    const expected = view(['render', study.series[0]?.files[0] as string, '40', '400']);
    expect([info.width, info.height]).toEqual([expected.width, expected.height]);
    let difference = 0;
    for (let i = 0; i < data.length; i++) difference += Math.abs((data[i] as number) - expected.pixels[i]);
    expect(difference / data.length).toBeLessThan(1.5);
  });

  test.each([
    ['RLE', 1],
    ['JPEG 2000', 2],
    ['JPEG baseline (colour)', 3],
  ])('rendered and thumbnail of the %s instance, as JPEG', async (_what, index) => {
    const series = study.series[index];
    const base = `/studies/${study.studyInstanceUid}/series/${series?.seriesInstanceUid}/instances/${series?.sopInstanceUids[0]}`;
    for (const path of [`${base}/rendered`, `${base}/thumbnail`, `/studies/${study.studyInstanceUid}/series/${series?.seriesInstanceUid}/thumbnail`]) {
      const response = await node.get(path, clinician, 'image/jpeg');
      expect(response.status).toBe(200);
      const { info } = await sharp(response.body).toBuffer({ resolveWithObject: true });
      expect(info.format).toBe('jpeg');
    }
  });

  test.each([
    ['an image type the node does not make', '/rendered', 'image/gif', 406],
    ['a frame the instance does not have', '/frames/9', 'multipart/related; type="application/octet-stream"', 404],
    ['a frame list that is not numbers', '/frames/1,x', 'multipart/related; type="application/octet-stream"', 400],
  ])('%s: %s', async (_what, suffix, accept, status) => {
    const ct = study.series[0];
    const response = await node.get(`/studies/${study.studyInstanceUid}/series/${ct?.seriesInstanceUid}/instances/${ct?.sopInstanceUids[0]}${suffix}`, clinician, accept);
    expect(response.status).toBe(status);
  });

  test.each([
    ['an unknown study', '/studies/1.2.3.4.5.6.7/metadata', 404],
    ['a path trick', '/studies/..%2F..%2Fetc/metadata', 400],
    ['an encoded slash in a UID', `/studies/1.2%2F3/metadata`, 400],
  ])('%s: %s, and no file outside the index is reached', async (_what, path, status) => {
    const response = await node.get(path, clinician);
    expect(response.status).toBe(status);
  });
});

describe('rendering: within a pixel budget', () => {
  // Deflated 8-bit frames of zeros: a few tens of KB on the wire, tens of MB once decoded.
  const bigFrame = (file: string, side: number, studyUid: string, patientId: string): void => {
    execFileSync(SYSTEM_PYTHON, ['-c', `
import sys, pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import generate_uid, DeflatedExplicitVRLittleEndian
side = int(sys.argv[2])
meta = FileMetaDataset()
meta.MediaStorageSOPClassUID = '1.2.840.10008.5.1.4.1.1.7'
meta.MediaStorageSOPInstanceUID = generate_uid()
meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
ds = Dataset()
ds.file_meta = meta
ds.SOPClassUID = meta.MediaStorageSOPClassUID
ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
ds.StudyInstanceUID = sys.argv[3]
ds.SeriesInstanceUID = generate_uid()
ds.PatientID = sys.argv[4]
ds.Modality = 'OT'
ds.SamplesPerPixel = 1
ds.PhotometricInterpretation = 'MONOCHROME2'
ds.Rows = side
ds.Columns = side
ds.BitsAllocated = 8
ds.BitsStored = 8
ds.HighBit = 7
ds.PixelRepresentation = 0
ds.PixelData = bytes(side * side)
ds.is_little_endian = True
ds.is_implicit_VR = False
ds.save_as(sys.argv[1], write_like_original=False)
`, file, String(side), studyUid, patientId]);
  };
  let bigStudy: string;
  const paths: Record<'within' | 'tooLarge', string> = { within: '', tooLarge: '' };

  beforeAll(async () => {
    const directory = mkdtempSync('/tmp/facade-big-frames-');
    bigStudy = `2.25.${BigInt(`0x${randomBytes(15).toString('hex')}`)}`;
    const patientId = `BIG-${randomBytes(4).toString('hex')}`;
    bigFrame(`${directory}/within.dcm`, 6000, bigStudy, patientId); // 36 M pixels: within the default budget of 40 M
    bigFrame(`${directory}/too-large.dcm`, 6400, bigStudy, patientId); // 41 M pixels
    const result = await storescu(pipeline.dicomPort, [`${directory}/within.dcm`, `${directory}/too-large.dcm`], { args: ['-v', '-R', '-xd'] });
    expect(storeResponses(result.output)).toEqual(['Success', 'Success']);
    const instances = await eventually(async () => {
      const found = await node.get(`/studies/${bigStudy}/instances?includefield=00280010`, clinician);
      const rows = found.status === 200 ? (json(found.body) as any[]) : [];
      return rows.length === 2 ? rows : undefined;
    }, { timeoutMs: 60_000, what: 'the large frames in the DICOMweb index' });
    for (const instance of instances) {
      const key = value(instance, '00280010') === 6000 ? 'within' : 'tooLarge';
      paths[key] = `/studies/${bigStudy}/series/${value(instance, '0020000E')}/instances/${value(instance, '00080018')}`;
    }
  });

  test('a frame over DICOMWEB_MAX_RENDER_PIXELS is answered 406, and its frame is still served as stored; one within it is rendered', async () => {
    const rendered = await node.get(`${paths.tooLarge}/rendered`, clinician, 'image/jpeg');
    expect(rendered.status).toBe(406);
    const within = await node.get(`${paths.within}/thumbnail`, clinician, 'image/jpeg');
    expect(within.status).toBe(200);
    const { info } = await sharp(within.body).toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([128, 128]);
    expect(rendered.body.toString()).toContain('more than this node renders');
    const frame = await node.get(`${paths.tooLarge}/frames/1`, clinician, 'multipart/related; type="application/octet-stream"; transfer-syntax=*');
    expect(frame.status).toBe(200);
  });
});

describe('WADO-RS: decompressed to explicit VR little endian on request', () => {
  const EXPLICIT = '1.2.840.10008.1.2.1';
  let compressed: GeneratedStudy;
  // Each series in its own syntax (storescu -R), and what pydicom reads as its pixels: this pydicom
  // decodes RLE but has no JPEG-LS/JPEG 2000/JPEG decoder, so those are compared with the
  // uncompressed original they were made from (pydicom's MR_small, and the RLE colour bars).
  const plans = [
    { source: SAMPLES.mrJpegLs, option: '-xt', reference: SAMPLES.mrExplicitLittle, lossy: false },
    { source: SAMPLES.mrRle, option: '-xr', reference: SAMPLES.mrRle, lossy: false },
    { source: SAMPLES.mrJpeg2000Lossless, option: '-xv', reference: SAMPLES.mrExplicitLittle, lossy: false },
    { source: SAMPLES.jpegBaseline, option: '-xy', reference: SAMPLES.rgbRle, lossy: true },
    { source: SAMPLES.jpegExtended, option: '-xx', reference: undefined, lossy: true },
  ];

  beforeAll(async () => {
    compressed = await makeStudy(plans.map(({ source }) => ({ source, instances: 1 })));
    for (const [index, series] of compressed.series.entries()) {
      const sent = await storescu(pipeline.dicomPort, series.files, { args: ['-v', '-R', plans[index]?.option as string] });
      expect({ series: index, code: sent.code, responses: storeResponses(sent.output) }).toEqual({ series: index, code: 0, responses: ['Success'] });
    }
    await eventually(async () => {
      const found = await node.get(`/studies/${compressed.studyInstanceUid}/instances`, clinician);
      const indexed = found.status === 200 ? (json(found.body) as any[]).map((item) => `${value(item, '0020000E')}/${value(item, '00080018')}`) : [];
      const expected = compressed.series.flatMap((series) => series.sopInstanceUids.map((sop) => `${series.seriesInstanceUid}/${sop}`));
      // The ingest adds its manifest (a KOS) to the study: every instance sent must be there.
      const missing = expected.filter((instance) => !indexed.includes(instance));
      if (missing.length > 0) throw new Error(`${missing.length} of ${expected.length} sent instances not indexed yet`);
      return true;
    }, { timeoutMs: 60_000, what: 'the compressed study in the DICOMweb index' });
  });

  const retrieve = (seriesIndexes: number[], accept: string) =>
    Promise.all(seriesIndexes.map((index) => node.get(`/studies/${compressed.studyInstanceUid}/series/${compressed.series[index]?.seriesInstanceUid}`, clinician, accept)));

  test('JPEG-LS, RLE and JPEG 2000 lossless: explicit VR little endian datasets whose pixels are exactly the original\'s', async () => {
    const dir = mkdtempSync('/tmp/facade-transcoded-');
    const responses = await retrieve([0, 1, 2, 3], `multipart/related; type="application/dicom"; transfer-syntax=${EXPLICIT}`);
    const files = responses.map((response, index) => {
      expect(response.status).toBe(200);
      const [part, ...more] = parseMultipart(response.headers.get('content-type') as string, response.body);
      expect(more).toHaveLength(0);
      expect(part?.headers['content-type']).toBe(`application/dicom; transfer-syntax=${EXPLICIT}`);
      const file = `${dir}/${index}.dcm`;
      writeFileSync(file, part?.body as Buffer);
      return file;
    });
    const served = view(['pixels', ...files]) as Array<{ transferSyntax: string; photometric: string; shape: number[]; pixels: number[] }>;
    const expected = view(['pixels', ...plans.slice(0, 4).map(({ reference }) => reference as string)]) as typeof served;
    served.forEach((dataset, index) => {
      expect(dataset.transferSyntax).toBe(EXPLICIT);
      expect(dataset.shape).toEqual(expected[index]?.shape);
      if (!plans[index]?.lossy) {
        expect(dataset.pixels).toEqual(expected[index]?.pixels);
      } else {
        // Lossy JPEG: the decoded colour bars stay close to the lossless ones, in RGB.
        expect(dataset.photometric).toBe('RGB');
        const reference = expected[index]?.pixels as number[];
        const difference = dataset.pixels.reduce((sum, value, i) => sum + Math.abs(value - (reference[i] as number)), 0) / reference.length;
        expect(difference).toBeLessThan(3);
      }
    });
    // The other attributes are the instance's: pydicom reads the same identity from both.
    const attributes = view(['attributes', ...files]) as Record<string, Record<string, unknown>>;
    const original = view(['attributes', ...compressed.files.slice(0, 4)]) as typeof attributes;
    expect(attributes).toEqual(original);
  });

  test('frames of the JPEG-LS instance as explicit VR little endian: the original\'s pixel bytes', async () => {
    const series = compressed.series[0];
    const response = await node.get(`/studies/${compressed.studyInstanceUid}/series/${series?.seriesInstanceUid}/instances/${series?.sopInstanceUids[0]}/frames/1`, clinician, `multipart/related; type="application/octet-stream"; transfer-syntax=${EXPLICIT}`);
    expect(response.status).toBe(200);
    const [part] = parseMultipart(response.headers.get('content-type') as string, response.body);
    expect(part?.headers['content-type']).toBe(`application/octet-stream; transfer-syntax=${EXPLICIT}`);
    const [expected] = view(['pixels', SAMPLES.mrExplicitLittle]) as Array<{ pixels: number[] }>;
    const body = part?.body as Buffer;
    const values = Array.from({ length: body.length / 2 }, (_, i) => body.readInt16LE(i * 2));
    expect(values).toEqual(expected?.pixels);
  });

  test('as stored (transfer-syntax=*), the same series comes byte for byte in its own syntax', async () => {
    const [response] = await retrieve([0], 'multipart/related; type="application/dicom"; transfer-syntax=*');
    const [part] = parseMultipart(response?.headers.get('content-type') as string, response?.body as Buffer);
    expect(part?.headers['content-type']).toBe('application/dicom; transfer-syntax=1.2.840.10008.1.2.4.80');
  });

  test.each([
    ['no Accept', undefined],
    ['*/*', '*/*'],
  ])('the whole study with %s: each instance in explicit VR little endian, as stored only the JPEG extended one that cannot be decoded', async (_what, accept) => {
    const response = await node.get(`/studies/${compressed.studyInstanceUid}`, clinician, accept);
    expect(response.status).toBe(200);
    const parts = parseMultipart(response.headers.get('content-type') as string, response.body);
    const syntaxes = parts.map((part) => part.headers['content-type']?.replace('application/dicom; transfer-syntax=', ''));
    // Five images and the ingest's manifest (explicit VR little endian as stored).
    expect(syntaxes.filter((syntax) => syntax === '1.2.840.10008.1.2.4.51')).toHaveLength(1);
    expect(syntaxes.filter((syntax) => syntax !== '1.2.840.10008.1.2.4.51')).toEqual(Array(parts.length - 1).fill(EXPLICIT));
  });

  test('HEAD of the study: the status and type a GET gets, no body', async () => {
    const response = await fetch(`${node.base}/studies/${compressed.studyInstanceUid}`, { method: 'HEAD', headers: { authorization: `Bearer ${clinician}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^multipart\/related; type="application\/dicom"; boundary=/);
    expect((await response.arrayBuffer()).byteLength).toBe(0);
  });

  test('JPEG extended, which the codec library does not decode: 406 naming the stored syntax', async () => {
    const [response] = await retrieve([4], `multipart/related; type="application/dicom"; transfer-syntax=${EXPLICIT}`);
    expect(response?.status).toBe(406);
    expect(json(response?.body as Buffer).message).toContain('1.2.840.10008.1.2.4.51');
  });
});

describe('WADO-RS: the default retrieve changes nothing but the transfer syntax', () => {
  // Sent in Implicit VR Little Endian, as many modalities and planning systems send: Japanese names
  // in ISO 2022, GE's private elements and a signed Pixel Padding Value, and a 32-bit RT Dose.
  const sources = [sample('chrH31.dcm'), SAMPLES.ctExplicitLittle, sample('rtdose.dcm')];
  const EXPLICIT = '1.2.840.10008.1.2.1';
  let implicit: GeneratedStudy;

  beforeAll(async () => {
    implicit = await makeStudy(sources.map((source) => ({ source, instances: 1 })));
    const sent = await storescu(pipeline.dicomPort, implicit.files, { args: ['-v', '-xi'] });
    expect({ code: sent.code, responses: storeResponses(sent.output) }).toEqual({ code: 0, responses: ['Success', 'Success', 'Success'] });
    await eventually(async () => {
      const found = await node.get(`/studies/${implicit.studyInstanceUid}/instances?SOPInstanceUID=${implicit.series.map((series) => series.sopInstanceUids[0]).join(',')}`, clinician);
      return found.status === 200 && json(found.body).length === sources.length ? true : undefined;
    }, { timeoutMs: 60_000, what: 'the implicit VR study in the DICOMweb index' });
  });

  test('each instance asked as application/dicom (Explicit VR Little Endian) holds every element of the one sent, as pydicom reads them', async () => {
    const dir = mkdtempSync('/tmp/facade-default-retrieve-');
    const served = await Promise.all(
      implicit.series.map(async (series, index) => {
        const response = await node.get(`/studies/${implicit.studyInstanceUid}/series/${series.seriesInstanceUid}/instances/${series.sopInstanceUids[0]}`, clinician, 'multipart/related; type="application/dicom"');
        expect(response.status).toBe(200);
        const [part] = parseMultipart(response.headers.get('content-type') as string, response.body);
        expect(part?.headers['content-type']).toBe(`application/dicom; transfer-syntax=${EXPLICIT}`);
        const file = `${dir}/${index}.dcm`;
        writeFileSync(file, part?.body as Buffer);
        return file;
      }),
    );
    const differences = pydicomDifferences(implicit.files.map((stored, index) => ({ stored, served: served[index] as string })));
    expect(differences).toEqual(sources.map(() => [`transfer syntax: ${EXPLICIT}`]));
  });
});

describe('the index, derived data', () => {
  test('deleted, it rebuilds itself from the study topic, and says it is not ready until it holds what the topic held', async () => {
    const env = { FACADE_DATA_DIR: mkdtempSync('/tmp/facade-dicomweb-rebuild-'), DICOMWEB_GROUP_ID: `dicomweb-rebuild-${Date.now()}` };
    const listed = async (running: DicomwebNode): Promise<string[]> =>
      json((await running.get(`/studies?StudyInstanceUID=${study.studyInstanceUid},${other.studyInstanceUid}`, clinician)).body).map((match: any) => value(match, '0020000D'));
    const first = await startDicomweb({ storageDir: pipeline.storageDir, topicPrefix: pipeline.topicPrefix, gatewayOrigin: gateway.origin, env });
    try {
      // Ready (/readyz) only once the new index holds the topic's studies: no list missing them.
      expect((await listed(first)).sort()).toEqual([study.studyInstanceUid, other.studyInstanceUid].sort());
    } finally {
      await first.stop();
    }
    rmSync(`${env.FACADE_DATA_DIR}/dicomweb/index.sqlite`);
    // The same consumer group name: until 2026-12-07 its committed offsets left a new file empty.
    const second = await startDicomweb({ storageDir: pipeline.storageDir, topicPrefix: pipeline.topicPrefix, gatewayOrigin: gateway.origin, env });
    try {
      expect((await listed(second)).sort()).toEqual([study.studyInstanceUid, other.studyInstanceUid].sort());
    } finally {
      await second.stop();
    }
  });

  test('a file that cannot be read is left out of a rebuilt index and said; the rest of the study and the studies after it are served', async () => {
    // A copy of the node's storage with one CT instance cut short and another replaced by a directory.
    const storageDir = mkdtempSync('/tmp/facade-dicomweb-damaged-');
    cpSync(pipeline.storageDir, storageDir, { recursive: true });
    const ct = study.series[0] as GeneratedStudy['series'][number];
    const [kept, cut, gone] = ct.sopInstanceUids as [string, string, string];
    const fileOf = (sop: string): string => `${storageDir}/${study.studyInstanceUid}/${ct.seriesInstanceUid}/${sop}.dcm`;
    truncateSync(fileOf(cut), 20_000);
    rmSync(fileOf(gone));
    mkdirSync(fileOf(gone));
    const instance = (sop: string): string => `/studies/${study.studyInstanceUid}/series/${ct.seriesInstanceUid}/instances/${sop}`;
    // Ready only once it has read the whole topic: before 2026-12-07 the cut file dead-lettered the
    // whole study, and the directory was retried for ever (503 until then).
    const damaged = await startDicomweb({ storageDir, topicPrefix: pipeline.topicPrefix, gatewayOrigin: gateway.origin, env: { DICOMWEB_GROUP_ID: `dicomweb-damaged-${Date.now()}` } });
    try {
      const found = json((await damaged.get(`/studies?StudyInstanceUID=${study.studyInstanceUid},${other.studyInstanceUid}`, clinician)).body);
      expect(Object.fromEntries(found.map((match: any) => [value(match, '0020000D'), value(match, '00201208')]))).toEqual({ [study.studyInstanceUid]: 4, [other.studyInstanceUid]: 1 });
      expect((await damaged.get(instance(cut), clinician)).status).toBe(404);
      expect((await damaged.get(instance(gone), clinician)).status).toBe(404);
      expect((await damaged.get(instance(kept), clinician, 'multipart/related; type="application/dicom"')).status).toBe(200);
      const said = damaged.process.logs().split('\n').filter((line) => line.includes('cannot be read'));
      expect(said.join('\n')).toContain(cut);
      expect(said.join('\n')).toContain('EISDIR');
      expect(said.join('\n')).not.toContain(study.patientId);
      // What an operator's alert reads: the instances this index cannot serve now.
      expect(await metric(damaged.port, 'dicomweb_instances_left_out', { reason: 'unreadable' })).toBe(2);
      expect(await metric(damaged.port, 'dicomweb_instances_left_out', { reason: 'missing' })).toBe(0);
    } finally {
      await damaged.stop();
      rmSync(storageDir, { recursive: true, force: true });
    }
  });
});

describe('images taken back at the source (IHE IOCM rejection notes)', () => {
  const CT_IMAGE = '1.2.840.10008.5.1.4.1.1.2';

  const rejecting = (taken: GeneratedStudy, sops: string[]) =>
    sops.map((sopInstanceUid) => ({ seriesInstanceUid: taken.series[0]!.seriesInstanceUid, sopClassUid: CT_IMAGE, sopInstanceUid }));

  test('a note hides the instances it rejects, and itself, from DICOMweb and from the ImagingStudy; a note rejecting the rest removes the study', async () => {
    const taken = await makeStudy([{ source: SAMPLES.ctExplicitLittle, instances: 3 }]);
    const [kept, wrong, other] = taken.series[0]!.sopInstanceUids as [string, string, string];
    expect((await storescu(pipeline.dicomPort, taken.files)).code).toBe(0);
    await eventually(async () => ((await studiesByUid(taken.studyInstanceUid))[0]?.numberOfInstances === 3 ? true : undefined), { timeoutMs: 60_000, what: 'the study published' });

    // Rejected as taken for the wrong worklist entry: the modality takes one image back.
    const note = rejectionNote(taken, '113038', rejecting(taken, [wrong]));
    expect((await storescu(pipeline.dicomPort, [note.file])).code).toBe(0);
    const published = await eventually(async () => {
      const [found] = await studiesByUid(taken.studyInstanceUid);
      return found?.numberOfInstances === 2 ? found : undefined;
    }, { timeoutMs: 60_000, what: 'the ImagingStudy without the rejected instance' });
    expect(published.series?.flatMap((series) => series.instance?.map((instance) => instance.uid)).sort()).toEqual([kept, other].sort());
    const instances = await eventually(async () => {
      const found = json((await node.get(`/studies/${taken.studyInstanceUid}/instances`, clinician)).body).map((match: any) => value(match, '00080018'));
      return found.length === 2 ? found : undefined;
    }, { what: 'QIDO-RS without the rejected instance' });
    expect(instances.sort()).toEqual([kept, other].sort());
    const instanceUrl = (sop: string, series = taken.series[0]!.seriesInstanceUid) => `/studies/${taken.studyInstanceUid}/series/${series}/instances/${sop}`;
    expect((await node.get(instanceUrl(wrong), clinician)).status).toBe(404);
    expect((await node.get(`/studies/${taken.studyInstanceUid}/series`, clinician)).body.toString()).not.toContain('"KO"');
    expect((await node.get(instanceUrl(kept), clinician, 'multipart/related; type="application/dicom"')).status).toBe(200);
    // The manifest the DocumentReference points at references what is left, not the rejected image.
    const [doc] = await search<DocumentReference>(`DocumentReference?related=ImagingStudy/${published.id}`);
    const manifestUrl = doc?.content[0]?.attachment.url ?? '';
    const [manifest] = json((await node.get(`${manifestUrl.slice(manifestUrl.indexOf('/studies/'))}/metadata`, clinician)).body);
    const referenced = (manifest['0040A375'].Value as any[]).flatMap((study) => study['00081115'].Value.flatMap((series: any) => series['00081199'].Value.map((sop: any) => value(sop, '00081155'))));
    expect(referenced.sort()).toEqual([kept, other].sort());

    // The rest rejected for quality reasons: the study leaves the FHIR index and DICOMweb.
    const rest = rejectionNote(taken, '113001', rejecting(taken, [kept, other]));
    expect((await storescu(pipeline.dicomPort, [rest.file])).code).toBe(0);
    await eventually(async () => ((await studiesByUid(taken.studyInstanceUid)).length === 0 ? true : undefined), { timeoutMs: 60_000, what: 'the ImagingStudy deleted' });
    await eventually(async () => ((await node.get(`/studies/${taken.studyInstanceUid}/metadata`, clinician)).status === 404 ? true : undefined), { what: 'the study gone from DICOMweb' });
    expect(json((await node.get(`/studies?StudyInstanceUID=${taken.studyInstanceUid}`, clinician)).body)).toEqual([]);
    expect(await search(`DocumentReference?related=ImagingStudy/${published.id}`)).toEqual([]);
  });

  test('a study every instance of which one node rejected is not published again by another node that holds it without the note; a new image of it is, alone', async () => {
    const taken = await makeStudy([{ source: SAMPLES.ctExplicitLittle, instances: 2 }]);
    const sent = [...taken.files];
    expect((await storescu(pipeline.dicomPort, sent)).code).toBe(0);
    await eventually(async () => ((await studiesByUid(taken.studyInstanceUid))[0]?.numberOfInstances === 2 ? true : undefined), { timeoutMs: 60_000, what: 'the study published' });
    // Taken for the wrong worklist entry: every image rejected at this node.
    const note = rejectionNote(taken, '113038', rejecting(taken, taken.series[0]!.sopInstanceUids));
    expect((await storescu(pipeline.dicomPort, [note.file])).code).toBe(0);
    await eventually(async () => ((await studiesByUid(taken.studyInstanceUid)).length === 0 ? true : undefined), { timeoutMs: 60_000, what: 'the ImagingStudy deleted' });

    // Another node (its own ingest and mapper, the same index) received the same images, and no note.
    const otherNode = await startPipeline({ FACADE_NODE_UID: `2.25.${BigInt(`0x${randomBytes(15).toString('hex')}`)}`, FACADE_DICOMWEB_BASE_URL: 'http://other-node.example/dicomweb' });
    try {
      expect((await storescu(otherNode.dicomPort, sent)).code).toBe(0);
      await eventually(async () => ((await metric(otherNode.mapperPort, 'facade_mapper_studies_total')) >= 1 ? true : undefined), { timeoutMs: 60_000, what: 'the other node\'s snapshot handled' });
      // As an EHR asks (no Cache-Control): not in the index, under any patient.
      const plain = await fetch(`${FHIR_BASE_URL()}/ImagingStudy?identifier=${encodeURIComponent(`urn:oid:${taken.studyInstanceUid}`)}`, { headers: { accept: 'application/fhir+json' } });
      expect(((await plain.json()) as { entry?: unknown[] }).entry ?? []).toEqual([]);
      expect(await search(`Basic?identifier=${encodeURIComponent(`urn:oid:${taken.studyInstanceUid}`)}`)).toHaveLength(1);

      // Later the other node receives a new image of the study: published, alone.
      const added = await addSeries(taken, { source: SAMPLES.ctExplicitLittle, instances: 1 });
      expect((await storescu(otherNode.dicomPort, added.files)).code).toBe(0);
      // Asked with no-cache: the plain search above may be answered from HAPI's cache for a minute.
      const back = await eventually(async () => (await studiesByUid(taken.studyInstanceUid))[0], { timeoutMs: 60_000, what: 'the study published again' });
      expect(back.series?.flatMap((series) => series.instance?.map((instance) => instance.uid))).toEqual(added.sopInstanceUids);
      // The record goes in a transaction of its own, once the study's create is answered.
      await eventually(async () => ((await search(`Basic?identifier=${encodeURIComponent(`urn:oid:${taken.studyInstanceUid}`)}`)).length === 0 ? true : undefined), { what: 'the record of the rejected study deleted' });
    } finally {
      await otherNode.stop();
    }
  });
});

describe('a DICOMweb client that is not ours', () => {
  test('Orthanc pulls the study with the token, and holds the same data elements as were sent', async () => {
    const orthanc = await startOrthanc({ url: node.base, headers: { Authorization: `Bearer ${clinician}` } });
    try {
      const pulled = await orthanc.pull({ Study: study.studyInstanceUid });
      expect(pulled.status).toBe(200);
      const dir = mkdtempSync('/tmp/facade-orthanc-');
      (await orthanc.files()).forEach((file, index) => writeFileSync(`${dir}/${index}.dcm`, file));
      const copied = datasetDigests(dir);
      const sent = datasetDigests(study.files[0]?.replace(/\/[^/]+$/, '') as string);
      expect(copied.size).toBe(6);
      for (const [sop, digests] of sent) {
        expect(copied.get(sop)).toEqual(digests);
      }
    } finally {
      await orthanc.stop();
    }
  });
});

describe('consent and audit', () => {
  test('every search and retrieve is in the audit trail (BALP), with the study', async () => {
    await eventually(async () => {
      const events = await search<any>(`AuditEvent?entity-name=${study.studyInstanceUid}&_count=50`);
      const kinds = new Set(events.map((event) => event.subtype?.[0]?.code));
      return kinds.has('read') && kinds.has('search-type') ? true : undefined;
    }, { timeoutMs: 20_000, what: 'DICOMweb AuditEvents for the study' });
  });

  test('once the patient refuses at the desk, the study is 404 everywhere and gone from searches, at once', async () => {
    const decision = await fetch(`http://127.0.0.1:${pipeline.consentPort}/api/decisions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from('desk:desk').toString('base64')}` },
      body: JSON.stringify({ patient: { system: 'https://imagingfacade.org/fhir/sid/patient-id', value: other.patientId }, decision: 'deny' }),
    });
    expect(decision.status).toBe(201);
    await eventually(async () => ((await node.get(`/studies/${other.studyInstanceUid}/metadata`, clinician)).status === 404 ? true : undefined), { timeoutMs: 5000, what: 'the refusal to reach DICOMweb' });
    expect(json((await node.get(`/studies?StudyInstanceUID=${other.studyInstanceUid}`, clinician)).body)).toEqual([]);
    expect((await node.get(`/studies/${other.studyInstanceUid}`, clinician, 'multipart/related; type="application/dicom"; transfer-syntax=*')).status).toBe(404);
  });

  test('a refusal recorded under a regional identifier that the index links to the patient\'s record hides the study indexed under the hospital\'s', async () => {
    const regional = { system: 'urn:oid:1.2.250.1.213.1.4.10', value: `R${Date.now().toString(36)}` };
    const [record] = await search<any>(`Patient?identifier=${encodeURIComponent(`https://imagingfacade.org/fhir/sid/patient-id|${study.patientId}`)}`);
    expect(record).toBeDefined();
    // The master patient index links the regional identifier to the record.
    const linked = await fetch(`${FHIR_BASE_URL()}/Patient/${record.id}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ ...record, identifier: [...record.identifier, regional] }),
    });
    expect(linked.status).toBe(200);
    expect((await node.get(`/studies/${study.studyInstanceUid}/metadata`, clinician)).status).toBe(200);

    const decision = await fetch(`http://127.0.0.1:${pipeline.consentPort}/api/decisions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from('desk:desk').toString('base64')}` },
      body: JSON.stringify({ patient: regional, decision: 'deny' }),
    });
    expect(decision.status).toBe(201);

    await eventually(async () => ((await node.get(`/studies/${study.studyInstanceUid}/metadata`, clinician)).status === 404 ? true : undefined), { timeoutMs: 5000, what: 'the linked refusal to reach DICOMweb' });
    expect(json((await node.get(`/studies?StudyInstanceUID=${study.studyInstanceUid}`, clinician)).body)).toEqual([]);
  });
});

