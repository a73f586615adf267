// Test-harness entry points for jest globalSetup / globalTeardown (load with `await import()`).
//
//   const started = await ensureInfra({ components: ['kafka', 'hapi'] });  // in globalSetup
//   await stopInfra(started);                                               // in globalTeardown
//
// ensureInfra starts only the components that are not already answering (same code path as
// `stack.mjs up`: Kafka and HAPI as local JVM processes; there is no container path, see the
// README's Tests section), sets KAFKA_BROKERS / FHIR_BASE_URL / … defaults into process.env so jest workers
// inherit them, and returns the names it started. stopInfra stops exactly those.
import { stackEnv, say } from './env.mjs';
import { upComponents, downComponents } from './commands.mjs';
import { selectComponents } from './components.mjs';
import { readPid } from './supervisor.mjs';

const log = (msg) => say(msg);

/** Puts the stack defaults (KAFKA_BROKERS, FHIR_BASE_URL, FACADE_DATA_DIR, …) into process.env. */
function exportDefaults() {
  const env = stackEnv(process.env);
  for (const [k, v] of Object.entries(env)) if (process.env[k] === undefined) process.env[k] = v;
  return env;
}

/**
 * @param {{ components?: string[] }} opts  component names from deploy/local/lib/components.mjs
 * @returns {Promise<string[]>} names of the components this call started (pass to stopInfra)
 */
export async function ensureInfra({ components = ['kafka', 'hapi'] } = {}) {
  const env = exportDefaults();
  const t0 = Date.now();
  try {
    const started = await upComponents(components, { env, mode: 'detached', log });
    const names = started.map((s) => s.comp.name);
    log(`infrastructure ready in ${((Date.now() - t0) / 1000).toFixed(1)} s (${names.length ? `started ${names.join(', ')}` : 'all already running'})`);
    return names;
  } catch (err) {
    // Don't leak what this call already started if a later component fails.
    const partial = (err.started ?? []).map((s) => s.comp.name);
    if (partial.length) await downComponents(partial, { env, log }).catch(() => {});
    throw err;
  }
}

/** Stops exactly the components returned by ensureInfra (in reverse start order). */
export async function stopInfra(started = []) {
  if (!started || started.length === 0) return;
  await downComponents(started, { env: stackEnv(process.env), log });
}

/**
 * The pid of a component the local stack runs (its pid file, checked against the process's command
 * line), or null: not started by the stack, or stopped. For benches that read a server's CPU.
 * @param {string} name  a component name from deploy/local/lib/components.mjs
 * @returns {number | null}
 */
export function stackPid(name) {
  const [comp] = selectComponents([name]);
  return comp ? readPid(stackEnv(process.env), comp) : null;
}
