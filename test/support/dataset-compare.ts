import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { runPydicom, SYSTEM_PYTHON } from './sample-files';

/**
 * Copies of `files` that pydicom writes in Implicit VR Little Endian (what `storescu -xi` sends), for
 * samples Debian ships only in explicit VR; each as `implicit-<name>` in `dir`, whose paths are returned.
 */
export function implicitVrCopies(dir: string, files: readonly string[]): string[] {
  return runPydicom<string[]>(
    `
import json, os, sys, pydicom
from pydicom.uid import ImplicitVRLittleEndian
written = []
for f in sys.argv[2:]:
    ds = pydicom.dcmread(f)
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    ds.is_implicit_VR, ds.is_little_endian = True, True
    written.append(os.path.join(sys.argv[1], "implicit-" + os.path.basename(f)))
    ds.save_as(written[-1], write_like_original=False)
print(json.dumps(written))
`,
    [dir, ...files],
  );
}

/** A stored file and the same instance as served, for pydicom to compare (see dataset-compare.py). */
export interface ComparedFiles {
  stored: string;
  served: string;
  /** Whose pixels the served ones must equal, when pydicom cannot decode the stored ones. */
  reference?: string;
  /** How far a served pixel may be from the expected one (a lossy JPEG decoded by two decoders). */
  tolerance?: number;
  /** Attributes the decoding may change, by keyword, and the value they must have when served. */
  changed?: Record<string, string>;
}

/**
 * What pydicom finds different, case by case: ["transfer syntax: <served syntax>", ...differences].
 * All cases in one Python process: pydicom's import costs a second.
 */
export function pydicomDifferences(cases: readonly ComparedFiles[]): string[][] {
  const script = path.join(__dirname, 'dataset-compare.py');
  const output = execFileSync(SYSTEM_PYTHON, [script, JSON.stringify(cases)], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(output) as string[][];
}
