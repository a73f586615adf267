// Local Kafka (KRaft, single node): render server.properties, keep one cluster id, format storage once.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { DEPLOY_LOCAL } from './env.mjs';
import { runOrThrow } from './exec.mjs';

export const KAFKA_VERSION = '3.9.1';
export const KAFKA_DIR = path.join(DEPLOY_LOCAL, 'kafka');
export const KAFKA_LIB = path.join(KAFKA_DIR, 'target', 'lib');
export const KAFKA_MARKER_JAR = path.join(KAFKA_LIB, `kafka_2.13-${KAFKA_VERSION}.jar`);
const TEMPLATE = path.join(KAFKA_DIR, 'server.properties.template');
const LOG4J = path.join(KAFKA_DIR, 'log4j.properties');

export const kafkaHome = (env) => path.join(env.FACADE_DATA_DIR, 'kafka');

/** JVM options shared by the broker and the storage tool. */
export function kafkaJvmArgs({ heap = '512m' } = {}) {
  return [
    `-Xms${heap}`, `-Xmx${heap}`,
    '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20',
    '-Djava.awt.headless=true',
    `-Dlog4j.configuration=${pathToFileUrl(LOG4J)}`,
    '-cp', path.join(KAFKA_LIB, '*'),
  ];
}

function pathToFileUrl(p) {
  return `file:${p.split(path.sep).join('/')}`;
}

/** Kafka Uuid: 16 random bytes, base64url without padding, not starting with '-'. */
function newClusterId() {
  for (;;) {
    const id = crypto.randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** Replaces ${NAME} on non-comment lines; an unknown name is an error. */
function render(template, vars) {
  return template.split('\n').map((line) => (line.trimStart().startsWith('#') ? line
    : line.replace(/\$\{([A-Z0-9_]+)\}/g, (m, name) => {
      if (!(name in vars)) throw new Error(`${TEMPLATE}: unknown placeholder ${m}`);
      return String(vars[name]).replace(/\\/g, '/');
    }))).join('\n');
}

/**
 * Prepares ${FACADE_DATA_DIR}/kafka: cluster.id (created once, kept), server.properties (rendered every
 * start so port changes apply), data/ (formatted once). Returns the server.properties path.
 */
export async function prepareKafka(env, log) {
  const home = kafkaHome(env);
  const dataDir = path.join(home, 'data');
  fs.mkdirSync(dataDir, { recursive: true });

  const idFile = path.join(home, 'cluster.id');
  if (!fs.existsSync(idFile)) fs.writeFileSync(idFile, `${newClusterId()}\n`);
  const clusterId = fs.readFileSync(idFile, 'utf8').trim();

  const props = path.join(home, 'server.properties');
  const text = render(fs.readFileSync(TEMPLATE, 'utf8'), {
    KAFKA_PORT: env.KAFKA_PORT,
    KAFKA_CONTROLLER_PORT: env.KAFKA_CONTROLLER_PORT,
    KAFKA_LISTEN_HOST: env.KAFKA_LISTEN_HOST || 'localhost',
    KAFKA_LOG_DIRS: dataDir,
    FACADE_DATA_DIR: env.FACADE_DATA_DIR,
  });
  fs.writeFileSync(props, text);

  if (!fs.existsSync(path.join(dataDir, 'meta.properties'))) {
    log(`formatting Kafka storage in ${dataDir} (cluster id ${clusterId}, first run only)…`);
    await runOrThrow('java', [...kafkaJvmArgs({ heap: '256m' }), 'kafka.tools.StorageTool', 'format',
      '-t', clusterId, '-c', props, '--ignore-formatted'], { env, capture: true });
  }
  return props;
}
