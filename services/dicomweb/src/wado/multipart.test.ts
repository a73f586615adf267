import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import express from 'express';
import { getRaw, serveOnLoopback, type LoopbackServer } from '../../../../test/support/http-from';
import { request } from 'node:http';
import { ClientGoneError } from '../http/backpressure';
import { FileChangedError } from './file-reads';
import { streamParts, type Part } from './multipart';

/**
 * multipart/related answers on a real server, read by a plain HTTP client: small files (read ahead
 * while the part before goes out), a file too large to read ahead (streamed), bytes in memory, in
 * order and byte for byte; a file that changed since its length was taken aborts the answer, and a
 * client that leaves stops the stream.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'multipart-test-'));
const file = (name: string, size: number, fill: number): { path: string; bytes: Buffer } => {
  const bytes = Buffer.alloc(size, fill);
  const where = path.join(dir, name);
  writeFileSync(where, bytes);
  return { path: where, bytes };
};
const small = [file('a.dcm', 39 * 1024, 1), file('b.dcm', 512 * 1024, 2), file('c.dcm', 7, 3)];
const large = file('large.dcm', 5 * 1024 * 1024, 4);
const inMemory = Buffer.from('a rendered part');
let served: Part[] = [];
let server: LoopbackServer;
/** How the server's last stream ended: undefined when it went to its end, the error otherwise. */
let lastStream: Promise<unknown> = Promise.resolve();

beforeAll(async () => {
  const app = express();
  app.get('/study', async (_req, res) => {
    res.status(200).type('multipart/related; type="application/dicom"; boundary=b0');
    async function* parts(): AsyncGenerator<Part> {
      for (const part of served) yield part;
    }
    lastStream = streamParts(res, 'b0', parts()).then(
      () => undefined,
      (error: unknown) => {
        res.destroy();
        return error;
      },
    );
    await lastStream;
  });
  server = await serveOnLoopback(app);
});

afterAll(() => server.close());

/** The bodies of the parts, split on the boundary as a client would. */
function bodiesOf(bytes: Buffer): Buffer[] {
  const bodies: Buffer[] = [];
  let at = bytes.indexOf('--b0\r\n');
  while (at !== -1) {
    const start = bytes.indexOf('\r\n\r\n', at) + 4;
    const next = bytes.indexOf('\r\n--b0', start);
    bodies.push(bytes.subarray(start, next));
    at = bytes.indexOf('--b0\r\n', next);
  }
  return bodies;
}

test('files small and large and bytes in memory go out in order, byte for byte, with their lengths', async () => {
  served = [
    ...small.map((each) => ({ contentType: 'application/dicom', file: each.path, length: each.bytes.length })),
    { contentType: 'application/dicom', file: large.path, length: large.bytes.length },
    { contentType: 'image/jpeg', bytes: inMemory },
  ];
  // Without a length (what the index said was small): the length is taken from the disk, a large file still streamed.
  served.push(...served.slice(0, 4).map(({ contentType, file: where }) => ({ contentType, ...(where ? { file: where } : {}) })));
  const answer = await getRaw(server.url('/study'));

  expect(answer.status).toBe(200);
  const files = [...small.map((each) => each.bytes), large.bytes];
  const expected = [...files, inMemory, ...files];
  const bodies = bodiesOf(answer.bytes);
  // Buffer.equals: jest's deep equality compares megabytes one byte at a time.
  expect(bodies.map((body, index) => body.equals(expected[index] as Buffer))).toEqual(expected.map(() => true));
  expect(answer.bytes.toString('latin1').match(/Content-Length: \d+/g)).toEqual(expected.map((bytes) => `Content-Length: ${bytes.length}`));
  expect(answer.bytes.subarray(-8).toString()).toBe('--b0--\r\n');
});

test('a file whose length changed since it was listed aborts the answer instead of sending a wrong part', async () => {
  const replaced = file('replaced.dcm', 1000, 5);
  served = [{ contentType: 'application/dicom', file: replaced.path, length: 999 }];

  await expect(getRaw(server.url('/study'))).rejects.toThrow();
});

test('a file too large to read ahead whose length changed since it was listed aborts the answer', async () => {
  served = [
    { contentType: 'application/dicom', file: small[0]?.path as string },
    { contentType: 'application/dicom', file: large.path, length: large.bytes.length - 1 },
  ];

  await expect(getRaw(server.url('/study'))).rejects.toThrow();
  expect(await lastStream).toBeInstanceOf(FileChangedError);
});

test('a client that leaves in the middle of a study stops the stream there', async () => {
  served = Array.from({ length: 50 }, () => ({ contentType: 'application/dicom', file: large.path }));
  await new Promise<void>((resolve, reject) => {
    const req = request(server.url('/study'), (res) => res.once('data', () => (req.destroy(), resolve())));
    req.on('error', () => undefined);
    req.on('close', resolve);
    setTimeout(() => reject(new Error('no answer')), 10_000).unref();
    req.end();
  });

  expect(await lastStream).toBeInstanceOf(ClientGoneError);
});

describe('a part read piece after piece as it goes out (native Pixel Data from its file)', () => {
  const pieces = [Buffer.alloc(300_000, 6), Buffer.alloc(5, 7), Buffer.alloc(1, 8)];
  async function* read(): AsyncGenerator<Uint8Array> {
    yield* pieces;
  }

  test('goes out byte for byte between other parts, with its Content-Length', async () => {
    served = [{ contentType: 'image/jpeg', bytes: inMemory }, { contentType: 'application/octet-stream', length: 300_006, pieces: read() }, { contentType: 'image/jpeg', bytes: inMemory }];
    const answer = await getRaw(server.url('/study'));

    const expected = [inMemory, Buffer.concat(pieces), inMemory];
    expect(bodiesOf(answer.bytes).map((body, index) => body.equals(expected[index] as Buffer))).toEqual([true, true, true]);
    expect(answer.bytes.toString('latin1').match(/Content-Length: \d+/g)).toEqual(expected.map((bytes) => `Content-Length: ${bytes.length}`));
  });

  test.each([
    ['more', 300_005],
    ['fewer', 300_007],
  ])('pieces of %s bytes than its length abort the answer instead of sending a wrong part', async (_what, length) => {
    served = [{ contentType: 'application/octet-stream', length, pieces: read() }];

    await expect(getRaw(server.url('/study'))).rejects.toThrow();
    expect(await lastStream).toBeInstanceOf(FileChangedError);
  });
});
