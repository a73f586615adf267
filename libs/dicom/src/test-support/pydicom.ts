import { execFileSync } from 'node:child_process';
import path from 'node:path';

/**
 * pydicom as the independent reader our decoding is checked against, and the real files Debian's
 * python3-pydicom ships. (The services' test helpers have the same; this library may not import them.)
 */
const PYDICOM_DATA = '/usr/lib/python3/dist-packages/pydicom/data';

export function pydicomFile(name: string): string {
  return path.join(PYDICOM_DATA, name.startsWith('chr') ? 'charset_files' : 'test_files', name);
}

/** Runs a Python snippet with Debian's interpreter (which has pydicom); `files` arrive as sys.argv[1:]; prints JSON. */
export function pydicom<T>(script: string, files: readonly string[]): T {
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, ...files], { encoding: 'utf8' })) as T;
}
