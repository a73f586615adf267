/**
 * Microbenchmark (not a test): the ingest's `readInstanceHeader` per instance, as the C-STORE
 * handler calls it (the first 64 KB of the dataset in memory, the file written), on pydicom's
 * CT_small.dcm (39 KB: the whole dataset in memory) and on a 512 KB CT slice (only its head in
 * memory). Best of BENCH_ROUNDS rounds (5) of BENCH_ITERATIONS calls (2000) after a warm-up, in µs
 * per instance; also the element walk and the decoding alone. Reads the built services (`tsc -b`)
 * of this checkout, or of BENCH_ROOT (another build, to compare). The machine is shared: run it under
 * `flock /work/bench.lock`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { part10Layout, sample, SYSTEM_PYTHON } from '../support/sample-files';
import { REPO_ROOT } from '../support/service-process';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 2000);
const HEAD_CAPTURE = 64 * 1024;

/** The parts of the built header reader measured here (the bench compiles apart from the services). */
interface HeaderReader {
  readInstanceHeader(
    location: { path: string; datasetOffset: number; fileSize: number; head?: Buffer },
    transferSyntaxUid: string,
  ): Promise<unknown>;
  decode(elements: Buffer, syntax: string, littleEndian: boolean): unknown;
}

/** The element walk of the built DICOM library. */
interface ElementWalker {
  FileByteSource: new (path: string, position: number, end: number, prefix: Buffer) => { close(): Promise<void> };
  datasetEncoding(transferSyntaxUid: string): { datasetSyntax: string; littleEndian: boolean };
  collectElements(
    source: unknown,
    encoding: unknown,
    wanted: ReadonlySet<number>,
    extra: undefined,
    options: { toEnd: boolean },
  ): Promise<Buffer>;
}

const load = createRequire(__filename);
const ROOT = process.env.BENCH_ROOT ?? REPO_ROOT;
const reader = load(path.join(ROOT, 'services/dicom-ingest/dist/storage/header-reader.js')) as HeaderReader;
const dicom = load(path.join(ROOT, 'libs/dicom/dist/index.js')) as ElementWalker;
/** Tags kept by the walk-only measure: about as many as the ingest keeps. */
const SOME_TAGS: ReadonlySet<number> = new Set([
  0x00080005, 0x00080016, 0x00080018, 0x00080020, 0x00080030, 0x00080050, 0x00080060, 0x00080090, 0x00081030,
  0x0008103e, 0x00100010, 0x00100020, 0x00100030, 0x00100040, 0x00180050, 0x0020000d, 0x0020000e, 0x00200011,
  0x00200013, 0x00280010, 0x00280011,
]);

/** One slice of 512 × 512 16-bit pixels from CT_small's header, written by pydicom. */
function largeCt(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'header-read-bench-'));
  execFileSync(SYSTEM_PYTHON, [path.join(REPO_ROOT, 'test/bench/generate-ct-study.py'), dir, '1', '2.25.1']);
  return path.join(dir, 'ct-00001.dcm');
}

async function microsPerCall(call: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < ITERATIONS; i += 1) {
    await call();
  }
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < ROUNDS; round += 1) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < ITERATIONS; i += 1) {
      await call();
    }
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1000 / ITERATIONS);
  }
  return best;
}

async function main(): Promise<void> {
  for (const [name, file] of [['CT_small.dcm (39 KB)', sample('CT_small.dcm')], ['CT 512 KB', largeCt()]] as const) {
    const bytes = readFileSync(file);
    const layout = part10Layout(file);
    const location = {
      path: file,
      datasetOffset: layout.datasetOffset,
      fileSize: bytes.length,
      head: bytes.subarray(layout.datasetOffset, layout.datasetOffset + HEAD_CAPTURE),
    };
    const micros = await microsPerCall(() => reader.readInstanceHeader(location, layout.transferSyntaxUid));
    const encoding = dicom.datasetEncoding(layout.transferSyntaxUid);
    let elements: Buffer = Buffer.alloc(0);
    const walk = await microsPerCall(async () => {
      const source = new dicom.FileByteSource(file, location.datasetOffset, location.fileSize, location.head);
      elements = await dicom.collectElements(source, encoding, SOME_TAGS, undefined, { toEnd: true });
      await source.close();
    });
    const decoding = await microsPerCall(async () => reader.decode(elements, encoding.datasetSyntax, encoding.littleEndian));
    console.log(
      `${name}: readInstanceHeader ${micros.toFixed(1)} µs per instance; walk alone (${SOME_TAGS.size} tags kept) ` +
        `${walk.toFixed(1)} µs; decode alone ${decoding.toFixed(1)} µs (best of ${ROUNDS} × ${ITERATIONS})`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
