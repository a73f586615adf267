import { execFile } from 'node:child_process';

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a DCMTK tool (the DICOM peer our users have) and returns its exit code and output. */
export function runDcmtk(tool: string, args: string[]): Promise<ToolResult> {
  return new Promise((resolve) => {
    execFile(
      tool,
      args,
      // DCMTK on Debian waits on Nagle's algorithm unless told otherwise.
      { env: { ...process.env, TCP_NODELAY: '1' }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout: stdout.toString(), stderr: stderr.toString() });
      },
    );
  });
}

/** `storescu -aec <AE> localhost <port> files…`, the command the README tells users to run. */
export function storescu(port: number, files: string[], options: { calledAe?: string; args?: string[] } = {}): Promise<ToolResult> {
  const args = ['-aec', options.calledAe ?? 'FACADE', '-aet', 'E2E_SCU', ...(options.args ?? [])];
  return runDcmtk('storescu', [...args, 'localhost', String(port), ...files]);
}
