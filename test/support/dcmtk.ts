import { execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { copyFile } from 'node:fs/promises';
import path from 'node:path';

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout then stderr: DCMTK logs on stderr. */
  output: string;
}

/** Runs a DCMTK tool (the DICOM peer our users have) and returns its exit code and output. */
export function runDcmtk(tool: string, args: readonly string[], options: { timeoutMs?: number } = {}): Promise<ToolResult> {
  return new Promise((resolve) => {
    execFile(
      tool,
      args,
      // DCMTK on Debian waits on Nagle's algorithm for every small PDU unless told otherwise.
      { env: { ...process.env, TCP_NODELAY: '1' }, maxBuffer: 64 * 1024 * 1024, timeout: options.timeoutMs ?? 120_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout: stdout.toString(), stderr: stderr.toString(), output: `${stdout}${stderr}` });
      },
    );
  });
}

/** `storescu -aec <AE> localhost <port> files…`, the command the README tells users to run. */
export function storescu(port: number, files: string[], options: { calledAe?: string; args?: string[] } = {}): Promise<ToolResult> {
  const args = ['-aec', options.calledAe ?? 'FACADE', '-aet', 'E2E_SCU', ...(options.args ?? [])];
  return runDcmtk('storescu', [...args, 'localhost', String(port), ...files]);
}

/** storescu's verdict per file, from its verbose log: "Received Store Response (Success)" or "(Error: ...)". */
export function storeResponses(output: string): string[] {
  return [...output.matchAll(/Received Store Response \(([^)]*)\)/g)].map((match) => match[1] ?? '');
}

/** One C-STORE as storescu saw it: the file it sent and the status it got back ("Success", "Error: …"). */
export interface StoreAnswer {
  file: string;
  status: string;
}

/**
 * `storescu -v` watched while it runs: `onAnswer` is called at each store response, as it arrives
 * (a test can cause a fault in the middle of a send); resolves with every answer once storescu exits.
 */
export function storescuWatched(
  port: number,
  files: string[],
  onAnswer: (answer: StoreAnswer, answered: number) => void,
  calledAe = 'FACADE',
): Promise<{ code: number; answers: StoreAnswer[] }> {
  const child = spawn('storescu', ['-v', '-aec', calledAe, '-aet', 'E2E_SCU', 'localhost', String(port), ...files], {
    env: { ...process.env, TCP_NODELAY: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const answers: StoreAnswer[] = [];
  let sending = '';
  const read = (line: string): void => {
    const file = /Sending file: (.+)$/.exec(line)?.[1];
    if (file !== undefined) {
      sending = file;
      return;
    }
    const status = /Received Store Response \(([^)]*)\)/.exec(line)?.[1];
    if (status !== undefined) {
      answers.push({ file: sending, status });
      onAnswer({ file: sending, status }, answers.length);
    }
  };
  // DCMTK logs on stderr; both are read, in case a build logs elsewhere.
  createInterface({ input: child.stdout }).on('line', read);
  createInterface({ input: child.stderr }).on('line', read);
  return new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? 1, answers })));
}

/**
 * Copies a sample and gives it new UIDs with dcmodify. DCMTK rewrites the file in its own encoding,
 * which is also what storescu puts on the wire, so the copy's dataset is byte for byte what we receive.
 */
export async function relabel(source: string, targetDir: string, uids: { study: string; series: string; sop: string }): Promise<string> {
  const target = path.join(targetDir, `${uids.sop}.dcm`);
  await copyFile(source, target);
  const run = await runDcmtk('dcmodify', ['-nb', '-m', `(0020,000D)=${uids.study}`, '-m', `(0020,000E)=${uids.series}`, '-m', `(0008,0018)=${uids.sop}`, target]);
  if (run.code !== 0) {
    throw new Error(`dcmodify failed: ${run.output}`);
  }
  return target;
}
