import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { eventually } from './wait';

/** The repository's root, found upwards from here (this file also runs compiled, from test/bench/dist). */
export const REPO_ROOT = findRepoRoot(__dirname);

function findRepoRoot(from: string): string {
  for (let dir = from; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'pnpm-workspace.yaml'))) {
      return dir;
    }
  }
  throw new Error(`no pnpm-workspace.yaml above ${from}`);
}
const LOG_DIR = path.join(REPO_ROOT, 'test/artifacts/logs');

export interface RunningService {
  name: string;
  pid: number;
  logFile: string;
  /** Everything the service has logged so far. */
  logs: () => string;
  /** SIGTERM, then waits for the process to exit; resolves with its exit code. */
  stop: () => Promise<number | null>;
}

/**
 * Runs one of our services as its own process, the way the stack does (`node dist/main.js`), with
 * the given environment, and waits until its `/readyz` says ready.
 */
export async function startService(
  name: string,
  env: Record<string, string>,
  opsPort: number,
): Promise<RunningService> {
  mkdirSync(LOG_DIR, { recursive: true });
  const logFile = path.join(LOG_DIR, `${name}-${process.pid}-${Date.now()}.log`);
  const log = createWriteStream(logFile);
  const child: ChildProcess = spawn(process.execPath, [path.join(REPO_ROOT, 'services', name, 'dist/main.js')], {
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const service: RunningService = {
    name,
    pid: child.pid ?? -1,
    logFile,
    logs: () => readFileSync(logFile, 'utf8'),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
      }
      const code = await exited;
      log.end();
      return code;
    },
  };

  try {
    await eventually(
      async () => {
        if (child.exitCode !== null) {
          throw new Error(`${name} exited with ${child.exitCode}`);
        }
        const response = await fetch(`http://127.0.0.1:${opsPort}/readyz`);
        return response.ok ? true : undefined;
      },
      { timeoutMs: 60_000, what: `${name} to be ready` },
    );
  } catch (error) {
    await service.stop();
    throw new Error(`${(error as Error).message}\n--- ${name} log ---\n${service.logs().slice(-4000)}`);
  }
  return service;
}
