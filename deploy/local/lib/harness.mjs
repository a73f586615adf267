// Test-harness entry points for jest globalSetup / globalTeardown (load with `await import()`).
//
//   const started = await ensureInfra({ components: ['kafka', 'hapi'] });  // in globalSetup
//   await stopInfra(started);                                               // in globalTeardown
//
// ensureInfra starts only the components that are not already answering (same code path as
// `stack.mjs up`), sets KAFKA_BROKERS / FHIR_BASE_URL / … defaults into process.env so jest workers
// inherit them, and returns the names it started. stopInfra stops exactly those.
import { execFileSync } from 'node:child_process';
import { stackEnv, say } from './env.mjs';
import { upComponents, downComponents } from './commands.mjs';

const log = (msg) => say(msg);

/**
 * Which way infrastructure is provided.
 *  - 'local'      : JVM processes from deploy/local (the default; needs java + mvn).
 *  - 'containers' : testcontainers, when TESTCONTAINERS=1. Not implemented yet (see startWithContainers).
 * Once startWithContainers exists, also select it when a Docker engine answers (dockerAvailable()).
 */
export function infraBackend(env = process.env) {
  if (env.TESTCONTAINERS === '1') return 'containers';
  return 'local';
}

/** `docker info` exits 0 (a Docker engine answers). */
export function dockerAvailable() {
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

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
  if (infraBackend(env) === 'containers') return startWithContainers(components);
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
  if (infraBackend() === 'containers') return stopContainers(started);
  await downComponents(started, { env: stackEnv(process.env), log });
}

// ------------------------------------------------------------------ container path (to do)
// Intended shape, once the lead adds the `testcontainers` devDependency:
//   kafka: new GenericContainer('apache/kafka:3.9.1') with the KRaft env from deploy/compose/compose.yaml,
//          a host-mapped port, and KAFKA_ADVERTISED_LISTENERS pointing at that mapped port;
//   hapi:  new GenericContainer('hapiproject/hapi:v8.8.0-1') with the env from compose.yaml,
//          Wait.forHttp('/fhir/metadata', 8080) and a 240 s startup timeout;
//   then set process.env.KAFKA_BROKERS / FHIR_BASE_URL to the mapped addresses and return handles.
async function startWithContainers(components) {
  throw new Error(`TESTCONTAINERS=1 is set, but the container path of deploy/local/lib/harness.mjs is not implemented yet `
    + `(wanted: ${components.join(', ')}). Unset TESTCONTAINERS to use the local JVM processes.`);
}

async function stopContainers() {
  throw new Error('container path of deploy/local/lib/harness.mjs is not implemented yet');
}
