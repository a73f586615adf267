import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../support/ports';
import { REPO_ROOT } from '../support/service-process';

/**
 * A Kafka broker and a HAPI FHIR server of the fault suite's own, started with the same stack
 * scripts as `npm start` on free ports and a data directory of their own, so that stopping them
 * for minutes disturbs no other suite.
 */
export interface PrivateStack {
  kafkaBrokers: string;
  fhirBaseUrl: string;
  dataDir: string;
  /** `stack.mjs down --only <names>`: stops the components, their data kept. */
  stop: (names: Component[]) => Promise<void>;
  /** `stack.mjs up --only <names>`: starts them again and waits until they are healthy. */
  start: (names: Component[]) => Promise<void>;
}

export type Component = 'kafka' | 'hapi';

function stackCommand(command: 'up' | 'down', names: Component[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'deploy/local/stack.mjs'), command, '--only', names.join(',')], {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`stack ${command} ${names.join(',')} exited with ${code}:\n${output.slice(-3000)}`))));
  });
}

export async function startPrivateStack(): Promise<PrivateStack> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'facade-faults-'));
  const [kafkaPort, controllerPort, hapiPort] = [await freePort(), await freePort(), await freePort()];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    FACADE_DATA_DIR: dataDir,
    KAFKA_PORT: String(kafkaPort),
    KAFKA_CONTROLLER_PORT: String(controllerPort),
    HAPI_PORT: String(hapiPort),
    KAFKA_BROKERS: `localhost:${kafkaPort}`,
    FHIR_BASE_URL: `http://localhost:${hapiPort}/fhir`,
  };
  await stackCommand('up', ['kafka', 'hapi'], env);
  return {
    kafkaBrokers: `localhost:${kafkaPort}`,
    fhirBaseUrl: `http://localhost:${hapiPort}/fhir`,
    dataDir,
    stop: (names) => stackCommand('down', names, env),
    start: (names) => stackCommand('up', names, env),
  };
}
