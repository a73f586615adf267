import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFile } from 'node:fs/promises';
import path from 'node:path';

export interface Run {
  code: number;
  output: string;
}

/** Runs a DCMTK tool; resolves with its exit code and its whole output (DCMTK logs on stderr). */
export function runTool(tool: string, args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    // TCP_NODELAY: DCMTK on Debian otherwise waits on Nagle's algorithm for every small PDU.
    execFile(tool, args, { timeout: 60_000, env: { ...process.env, TCP_NODELAY: '1' } }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

/** A fresh UUID-derived UID (PS3.5 B.2). */
export function newUid(): string {
  return `2.25.${BigInt(`0x${randomUUID().replace(/-/g, '')}`).toString()}`;
}

/**
 * Copies a sample and gives it new UIDs with dcmodify. DCMTK rewrites the file in its own encoding,
 * which is also what storescu puts on the wire, so the copy's dataset is byte for byte what we receive.
 */
export async function relabel(
  source: string,
  targetDir: string,
  uids: { study: string; series: string; sop: string },
): Promise<string> {
  const target = path.join(targetDir, `${uids.sop}.dcm`);
  await copyFile(source, target);
  const run = await runTool('dcmodify', [
    '-nb',
    '-m',
    `(0020,000D)=${uids.study}`,
    '-m',
    `(0020,000E)=${uids.series}`,
    '-m',
    `(0008,0018)=${uids.sop}`,
    target,
  ]);
  if (run.code !== 0) {
    throw new Error(`dcmodify failed: ${run.output}`);
  }
  return target;
}

/** storescu's verdict per file, from its verbose log: "Received Store Response (Success)" or "(Error: ...)". */
export function storeResponses(output: string): string[] {
  return [...output.matchAll(/Received Store Response \(([^)]*)\)/g)].map((match) => match[1] ?? '');
}
