// up / start / down / status, shared by the CLI (stack.mjs) and the test harness (harness.mjs).
import { stackEnv, say, logFile, REPO_ROOT } from './env.mjs';
import { selectComponents } from './components.mjs';
import { installMissing } from './installers.mjs';
import { waitFor, tcpOpen } from './health.mjs';
import { isAlive, readPid, removePid, spawnComponent, stopPid, tailLog } from './supervisor.mjs';
import path from 'node:path';

const secs = (t0) => ((Date.now() - t0) / 1000).toFixed(1);
const rel = (p) => path.relative(REPO_ROOT, p) || '.';

export class StackError extends Error {
  constructor(message, started = []) { super(message); this.started = started; }
}

/**
 * Brings one component up unless it already answers. Returns { started: boolean, pid }.
 * `shouldAbort()` lets the caller interrupt the health wait (Ctrl-C during `start`).
 */
async function bringUp(comp, env, { mode, quiet, log, shouldAbort = () => null }) {
  const ourPid = readPid(env, comp);
  if (await comp.health(env)) {
    log(`${comp.name}: already healthy${ourPid ? ` (pid ${ourPid})` : ' (not started by this tool)'} — not starting it again`);
    return { started: false, pid: ourPid };
  }
  if (ourPid) {
    // Started earlier by us and still starting (or stuck): wait for it instead of starting a second copy.
    log(`${comp.name}: pid ${ourPid} is running but not healthy yet; waiting…`);
    const res = await waitFor(() => comp.health(env), {
      timeoutMs: comp.startTimeoutMs,
      aborted: () => shouldAbort() || (!isAlive(ourPid) && 'exited before becoming healthy'),
    });
    if (!res.ok) throw new Error(`${comp.name} (pid ${ourPid}) ${res.reason}; run "down" first.\n--- ${rel(logFile(env, comp.name))} (tail) ---\n${tailLog(env, comp.name)}`);
    return { started: false, pid: ourPid };
  }
  for (const port of comp.ports(env)) {
    if (await tcpOpen('localhost', port)) {
      throw new Error(`${comp.name}: port ${port} is already in use by another process that is not a healthy ${comp.name}; stop it or choose another port (see deploy/local/README.md)`);
    }
  }

  if (comp.prepare) await comp.prepare(env, log);
  const t0 = Date.now();
  log(`starting ${comp.name}…`);
  const proc = spawnComponent(comp, env, { mode, quiet });
  const res = await waitFor(() => comp.health(env), {
    timeoutMs: comp.startTimeoutMs,
    aborted: () => shouldAbort() || (proc.exitReason() && `${proc.exitReason()} before becoming healthy`),
  });
  if (!res.ok) {
    if (proc.pid) await stopPid(proc.pid, { graceMs: 10_000 });
    removePid(env, comp.name);
    throw new Error(`${comp.name} ${res.reason}\n--- ${rel(logFile(env, comp.name))} (tail) ---\n${tailLog(env, comp.name)}`);
  }
  log(`${comp.name}: healthy after ${secs(t0)} s (pid ${proc.pid})`);
  return { started: true, pid: proc.pid, proc };
}

/**
 * Installs what the selected components need, then brings them up in order.
 * Returns the list of { comp, pid, proc } it started. On failure throws StackError whose
 * `.started` lists what this call had already started (still running).
 */
export async function upComponents(only, { mode = 'detached', quiet = false, log = say, shouldAbort, env = stackEnv() } = {}) {
  const selected = selectComponents(only);
  const pending = [];
  for (const comp of selected) if (!(await comp.health(env))) pending.push(comp);
  await installMissing(pending.flatMap((c) => c.installs ?? []), env, log);

  const started = [];
  for (const comp of selected) {
    try {
      const r = await bringUp(comp, env, { mode, quiet, log, shouldAbort });
      if (r.started) started.push({ comp, pid: r.pid, proc: r.proc });
    } catch (err) {
      throw new StackError(err.message, started);
    }
  }
  return started;
}

/** Stops components in reverse table order using their pid files. Returns the names stopped. */
export async function downComponents(only, { log = say, env = stackEnv() } = {}) {
  const stopped = [];
  for (const comp of [...selectComponents(only)].reverse()) {
    const pid = readPid(env, comp);
    if (!pid) {
      if (await comp.health(env)) log(`${comp.name}: running but not started by this tool — leaving it alone`);
      continue;
    }
    const t0 = Date.now();
    log(`stopping ${comp.name} (pid ${pid})…`);
    const how = await stopPid(pid);
    removePid(env, comp.name);
    log(`${comp.name}: ${how} after ${secs(t0)} s`);
    stopped.push(comp.name);
  }
  return stopped;
}

export function printListening(components, env, log = say) {
  log('ready:');
  for (const comp of components) log(`  ${comp.name.padEnd(15)} ${comp.listens(env)}`);
}

// ------------------------------------------------------------------ CLI commands (return exit codes)

export async function cmdUp(only, opts) {
  const env = stackEnv();
  try {
    await upComponents(only, { env, ...opts });
  } catch (err) {
    say(`ERROR: ${err.message}`);
    if (err.started?.length) say(`still running from this call: ${err.started.map((s) => s.comp.name).join(', ')} (stop with "down")`);
    return 1;
  }
  printListening(selectComponents(only), env);
  say(`logs: ${rel(path.join(env.FACADE_DATA_DIR, 'logs'))}/<name>.log — stop with "down"`);
  return 0;
}

export async function cmdDown(only) {
  const stopped = await downComponents(only);
  if (stopped.length === 0) say('nothing to stop');
  return 0;
}

export async function cmdStatus(only) {
  const env = stackEnv();
  let allHealthy = true;
  for (const comp of selectComponents(only)) {
    const pid = readPid(env, comp);
    const healthy = await comp.health(env);
    allHealthy &&= healthy;
    const state = healthy ? 'healthy' : pid ? 'running, NOT healthy' : 'down';
    say(`${comp.name.padEnd(15)} ${state.padEnd(21)} ${(pid ? `pid ${pid}` : healthy ? 'external' : '').padEnd(10)} ${comp.listens(env)}`);
  }
  return allHealthy ? 0 : 1;
}

/** Foreground: start everything, stream output, stop all in reverse order on SIGINT/SIGTERM/SIGHUP. */
export async function cmdStart(only, { quiet = false } = {}) {
  const env = stackEnv();
  let stopRequested = null;
  let wake = () => {};
  const onSignal = (sig) => {
    if (stopRequested) { say(`${sig} again — still stopping, please wait`); return; }
    stopRequested = sig;
    say(`${sig} received, stopping…`);
    wake();
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, onSignal);

  let started = [];
  let code = 0;
  try {
    started = await upComponents(only, {
      env, mode: 'attached', quiet, shouldAbort: () => stopRequested && `interrupted by ${stopRequested}`,
    });
    if (!stopRequested) {
      printListening(selectComponents(only), env);
      say(started.length ? 'press Ctrl-C to stop' : 'nothing was started by this command (all already running); exiting');
      for (const s of started) {
        s.proc.child.once('exit', (c, sig) => { if (!stopRequested) say(`WARNING: ${s.comp.name} ${sig ? `was killed by ${sig}` : `exited with code ${c}`}; the rest keeps running`); });
      }
      if (started.length) await new Promise((resolve) => { wake = resolve; if (stopRequested) resolve(); });
    }
  } catch (err) {
    started = err.started ?? started;
    if (!stopRequested) { say(`ERROR: ${err.message}`); code = 1; }
  }

  for (const s of [...started].reverse()) {
    const t0 = Date.now();
    say(`stopping ${s.comp.name} (pid ${s.pid})…`);
    const how = await stopPid(s.pid);
    removePid(env, s.comp.name);
    say(`${s.comp.name}: ${how} after ${secs(t0)} s`);
  }
  if (stopRequested) say('all stopped');
  return code;
}

