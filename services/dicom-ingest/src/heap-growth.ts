import { setFlagsFromString } from 'node:v8';

/**
 * Lets V8's heap grow to three times what survives a full GC before the next one (V8 picks its
 * own factor from the GC's and the program's speeds: 1.3–1.6 here). The ingest keeps ~25 MB of
 * objects but passes ~1 MB of Buffers per 512 KB instance (socket reads, PDUs); dead Buffers count
 * against the heap's limit until a GC frees them, so with the tight limit it chose V8 ran a full
 * GC every 50–100 ms while a study of large instances came in, and the ingest used twice the CPU
 * per instance (measured: 4.4 against 2.1 ms; dicom-ingest README, Performance). Set here, first,
 * before the heap has grown; a `--heap-growing-percent` given on the command line is left as it is.
 */
const GROWING_PERCENT = 200;

const givenOnCommandLine = process.execArgv.some((argument) => /^--heap[-_]growing[-_]percent/.test(argument));
if (!givenOnCommandLine) {
  setFlagsFromString(`--heap-growing-percent=${GROWING_PERCENT}`);
}

export {};
