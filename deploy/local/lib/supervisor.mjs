// Process supervision: spawn a component (detached with a log file, or attached with its output
// streamed), pid files, graceful stop (SIGTERM to the process group, wait, then SIGKILL), log tails.
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { REPO_ROOT, runDir, logDir, pidFile, logFile } from './env.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const isWin = process.platform === 'win32';

/** Alive and not a zombie. */
export function isAlive(pid) {
  try { process.kill(pid, 0); } catch (err) { return err.code === 'EPERM'; }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch { return true; } // no /proc (macOS): trust kill(0)
}

/** Does `pid` still run the command we started (guards against pid reuse)? Unknown → yes. */
function runsMarker(pid, marker) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').includes(marker);
  } catch { return true; }
}

/** The live pid recorded for `comp`, or null (a stale pid file is removed). */
export function readPid(env, comp) {
  const file = pidFile(env, comp.name);
  let pid;
  try { pid = Number.parseInt(fs.readFileSync(file, 'utf8'), 10); } catch { return null; }
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid) && runsMarker(pid, comp.marker)) return pid;
  fs.rmSync(file, { force: true });
  return null;
}

export function removePid(env, name) {
  fs.rmSync(pidFile(env, name), { force: true });
}

/**
 * Starts a component. mode 'detached': output appended to logs/<name>.log, survives our exit.
 * mode 'attached': own process group too (so Ctrl-C reaches only us and we stop things in order),
 * output goes to the log file and, unless quiet, to our stdout prefixed with the name.
 * Returns { pid, exitReason(): string|null }.
 */
export function spawnComponent(comp, env, { mode = 'detached', quiet = false } = {}) {
  fs.mkdirSync(runDir(env), { recursive: true });
  fs.mkdirSync(logDir(env), { recursive: true });
  const { cmd, args, env: extraEnv = {} } = comp.command(env);
  const log = logFile(env, comp.name);
  const header = `\n===== ${new Date().toISOString()} starting ${comp.name}: ${cmd} ${args.join(' ')}\n`;
  fs.appendFileSync(log, header);

  const opts = { cwd: REPO_ROOT, env: { ...env, ...extraEnv }, detached: !isWin, windowsHide: true };
  let child;
  if (mode === 'detached') {
    const fd = fs.openSync(log, 'a');
    try { child = spawn(cmd, args, { ...opts, stdio: ['ignore', fd, fd] }); } finally { fs.closeSync(fd); }
  } else {
    child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = fs.createWriteStream(log, { flags: 'a' });
    const prefix = `${comp.name.padEnd(15)}| `;
    for (const stream of [child.stdout, child.stderr]) {
      let partial = '';
      stream.on('data', (chunk) => {
        out.write(chunk);
        if (quiet) return;
        const lines = (partial + chunk).split('\n');
        partial = lines.pop();
        for (const line of lines) process.stdout.write(prefix + line + '\n');
      });
    }
    child.once('close', () => out.end());
  }

  let exitReason = null;
  let spawnError = null;
  child.once('error', (err) => { spawnError = err; exitReason = `could not start "${cmd}": ${err.code === 'ENOENT' ? 'not found on PATH' : err.message}`; });
  child.once('exit', (code, signal) => { exitReason ??= `exited ${signal ? `on ${signal}` : `with code ${code}`}`; });
  if (mode === 'detached') child.unref();

  if (child.pid) fs.writeFileSync(pidFile(env, comp.name), `${child.pid}\n`);
  return { pid: child.pid, child, exitReason: () => exitReason, spawnError: () => spawnError };
}

function signal(pid, sig) {
  try { process.kill(isWin ? pid : -pid, sig); return; } catch { /* not a group leader */ }
  try { process.kill(pid, sig); } catch { /* already gone */ }
}

/** SIGTERM the component's process group, wait up to `graceMs`, then SIGKILL. Resolves when gone. */
export async function stopPid(pid, { graceMs = 20_000 } = {}) {
  if (!isAlive(pid)) return 'not running';
  signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return 'stopped';
    await sleep(200);
  }
  signal(pid, 'SIGKILL');
  for (let i = 0; i < 50 && isAlive(pid); i++) await sleep(100);
  return 'killed (did not stop within ' + Math.round(graceMs / 1000) + ' s)';
}

/** Last `lines` lines of the component's log file, from its latest start only. */
export function tailLog(env, name, lines = 40) {
  try {
    const fd = fs.openSync(logFile(env, name), 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const len = Math.min(size, 64 * 1024);
      const buf = Buffer.alloc(len);
      fs.readSync(fd, buf, 0, len, size - len);
      let text = buf.toString('utf8');
      const lastRun = text.lastIndexOf('\n===== '); // only the latest start, see spawnComponent
      if (lastRun >= 0) text = text.slice(lastRun + 1);
      return text.trimEnd().split('\n').slice(-lines).join('\n');
    } finally { fs.closeSync(fd); }
  } catch { return '(no log)'; }
}
