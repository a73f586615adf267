// Run a command to completion (installers, Kafka storage format). Output is inherited unless captured.
import { spawn } from 'node:child_process';

const isWin = process.platform === 'win32';

/**
 * @returns {Promise<{code:number, output:string}>} rejects only if the command cannot be started
 * (ENOENT etc.), with a message naming the missing tool.
 */
export function run(cmd, args, { cwd, env = process.env, capture = false } = {}) {
  return new Promise((resolve, reject) => {
    let output = '';
    const child = spawn(cmd, args, {
      cwd,
      env,
      stdio: capture ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'inherit', 'inherit'],
      shell: isWin, // mvn.cmd / npx.cmd on Windows
    });
    if (capture) {
      child.stdout.on('data', (d) => { output += d; });
      child.stderr.on('data', (d) => { output += d; });
    }
    child.once('error', (err) => reject(new Error(`cannot run "${cmd}": ${err.code === 'ENOENT' ? 'not found on PATH' : err.message}`)));
    child.once('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), output }));
  });
}

/** Like run() but throws with the captured output when the exit code is not 0. */
export async function runOrThrow(cmd, args, opts = {}) {
  const res = await run(cmd, args, opts);
  if (res.code !== 0) {
    const tail = res.output ? `\n${res.output.trim().split('\n').slice(-30).join('\n')}` : '';
    throw new Error(`"${cmd} ${args.join(' ')}" exited with ${res.code}${tail}`);
  }
  return res;
}
