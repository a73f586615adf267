// The components of the local stack, in start order (stopped in reverse).
//
// One entry per component:
//   name        id used by --only, pid/log file names
//   listens     (env) => string printed once healthy
//   installs    installer ids from installers.mjs that must have run first
//   prepare     optional async (env, log) => void, run before every start (config, storage format…)
//   command     (env) => { cmd, args, env? } — env is merged over the stack environment
//   health      (env) => Promise<boolean>
//   ports       (env) => ports that must be free before we start it (conflict detection)
//   startTimeoutMs   how long to wait for health
//   marker      substring of the process command line, to recognise our own pid after a restart
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './env.mjs';
import { httpOk, kafkaApiVersions } from './health.mjs';
import { prepareKafka, kafkaJvmArgs, kafkaHome } from './kafka.mjs';
import { HAPI_JAR } from './installers.mjs';

/** A TypeScript service started as `node services/<dir>/dist/main.js` and probed on /readyz. */
function nodeService({ name, dir = name, portVar, listens, extraPorts = () => [], installs = [], env: ownEnv = () => ({}) }) {
  const main = path.join('services', dir, 'dist', 'main.js');
  return {
    name,
    listens,
    installs: ['node-modules', 'node-build', ...installs],
    prepare: async () => {
      if (!fs.existsSync(path.join(REPO_ROOT, main))) throw new Error(`${name}: ${main} not found after the build (is the service written yet?)`);
    },
    command: (env) => ({ cmd: process.execPath, args: [main], env: ownEnv(env) }),
    health: (env) => httpOk(`http://localhost:${env[portVar]}/readyz`),
    ports: (env) => [env[portVar], ...extraPorts(env)],
    startTimeoutMs: 60_000,
    marker: main,
  };
}

export const components = [
  {
    name: 'kafka',
    listens: (env) => `Kafka  localhost:${env.KAFKA_PORT}`,
    installs: ['kafka-jars'],
    prepare: prepareKafka,
    command: (env) => ({
      cmd: 'java',
      args: [...kafkaJvmArgs(), 'kafka.Kafka', path.join(kafkaHome(env), 'server.properties')],
    }),
    health: (env) => kafkaApiVersions('localhost', env.KAFKA_PORT),
    ports: (env) => [env.KAFKA_PORT, env.KAFKA_CONTROLLER_PORT],
    startTimeoutMs: 90_000,
    marker: 'kafka.Kafka',
  },
  {
    name: 'hapi',
    listens: (env) => `FHIR   http://localhost:${env.HAPI_PORT}/fhir`,
    installs: ['hapi-jar'],
    command: (env) => ({
      cmd: 'java',
      args: ['-Xmx1536m', '-jar', path.relative(REPO_ROOT, HAPI_JAR)],
      // The local stack's subscribers (tests, a developer's receiver) listen on this machine: in
      // development HAPI may deliver to loopback; otherwise only to public addresses unless set.
      env: {
        HAPI_SUBSCRIPTION_ALLOWED_ADDRESSES:
          env.HAPI_SUBSCRIPTION_ALLOWED_ADDRESSES ?? ((env.FACADE_ENV ?? 'development') === 'development' ? '127.0.0.1,::1' : ''),
      },
    }),
    health: (env) => httpOk(`http://localhost:${env.HAPI_PORT}/fhir/metadata`),
    ports: (env) => [env.HAPI_PORT],
    startTimeoutMs: 300_000, // 30–90 s on an idle 2-core machine; ~220 s seen with three HAPIs starting at once
    marker: 'facade-hapi.jar',
  },
  nodeService({
    name: 'dicom-ingest',
    portVar: 'INGEST_HTTP_PORT',
    extraPorts: (env) => [env.DICOM_PORT],
    listens: (env) => `DICOM  ${env.DICOM_AE_TITLE}@localhost:${env.DICOM_PORT}   (http://localhost:${env.INGEST_HTTP_PORT})`,
  }),
  nodeService({
    name: 'consent',
    portVar: 'CONSENT_HTTP_PORT',
    listens: (env) => `Consent desk http://localhost:${env.CONSENT_HTTP_PORT}/`,
  }),
  nodeService({
    name: 'fhir-gateway',
    portVar: 'GATEWAY_HTTP_PORT',
    listens: (env) => `Gateway http://localhost:${env.GATEWAY_HTTP_PORT}/fhir   (tokens: npm run token -- --scope "user/ImagingStudy.rs")`,
  }),
  // After the gateway: its tokens come from the gateway's issuer.
  nodeService({
    name: 'dicomweb',
    portVar: 'DICOMWEB_HTTP_PORT',
    installs: ['ohif-viewer'],
    // DICOMweb takes the gateway's tokens (SMART Imaging Access): the gateway's issuer and audience.
    env: (env) => ({
      OIDC_ISSUER: env.OIDC_ISSUER ?? `http://localhost:${env.GATEWAY_HTTP_PORT}/oidc`,
      OIDC_AUDIENCE: env.OIDC_AUDIENCE ?? env.GATEWAY_PUBLIC_BASE_URL,
      VIEWER_DIR: env.VIEWER_DIR ?? path.join(env.FACADE_DATA_DIR, 'ohif', 'dist'),
    }),
    listens: (env) => `DICOMweb ${env.FACADE_DICOMWEB_BASE_URL}   viewer http://localhost:${env.DICOMWEB_HTTP_PORT}/viewer   dose http://localhost:${env.DICOMWEB_HTTP_PORT}/dose`,
  }),
  nodeService({
    name: 'imaging-mapper',
    portVar: 'MAPPER_HTTP_PORT',
    listens: (env) => `Mapper http://localhost:${env.MAPPER_HTTP_PORT}`,
  }),
];

export const componentNames = components.map((c) => c.name);

/** The components named in `only` (all when empty), kept in table order. */
export function selectComponents(only) {
  if (!only || only.length === 0) return components;
  const unknown = only.filter((n) => !componentNames.includes(n));
  if (unknown.length) throw new Error(`unknown component(s): ${unknown.join(', ')} (known: ${componentNames.join(', ')})`);
  return components.filter((c) => only.includes(c.name));
}
