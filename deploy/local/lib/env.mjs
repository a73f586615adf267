// Paths and the environment handed to every component of the local stack.
// Users override any default from their own environment (e.g. KAFKA_PORT=19092 pnpm up).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const DEPLOY_LOCAL = path.join(REPO_ROOT, 'deploy', 'local');

/** The stack environment: process env plus our defaults (defaults derived from ports given by the user). */
export function stackEnv(base = process.env) {
  const env = { ...base };
  const def = (name, value) => {
    if (env[name] === undefined || env[name] === '') env[name] = String(value);
  };
  def('FACADE_DATA_DIR', path.join(REPO_ROOT, '.data'));
  env.FACADE_DATA_DIR = path.resolve(REPO_ROOT, env.FACADE_DATA_DIR);
  def('KAFKA_PORT', 9092);
  def('KAFKA_CONTROLLER_PORT', 9093);
  def('HAPI_PORT', 8080);
  def('DICOM_PORT', 11112);
  def('DICOM_AE_TITLE', 'FACADE');
  def('INGEST_HTTP_PORT', 8010);
  def('MAPPER_HTTP_PORT', 8011);
  def('CONSENT_HTTP_PORT', 8001);
  def('GATEWAY_HTTP_PORT', 8000);
  def('DICOMWEB_HTTP_PORT', 8002);
  def('GATEWAY_PUBLIC_BASE_URL', `http://localhost:${env.GATEWAY_HTTP_PORT}/fhir`);
  // The local stack issues its own development tokens; a production deployment names a real issuer.
  def('DEV_ISSUER_ENABLED', 'true');
  // Browser sign-ins come back to the viewer and to the dose dashboard, on the DICOMweb port chosen here.
  def('DEV_ISSUER_REDIRECT_URIS', `http://localhost:${env.DICOMWEB_HTTP_PORT}/viewer/callback,http://localhost:${env.DICOMWEB_HTTP_PORT}/dose/callback`);
  def('KAFKA_BROKERS', `localhost:${env.KAFKA_PORT}`);
  def('FHIR_BASE_URL', `http://localhost:${env.HAPI_PORT}/fhir`);
  def('INGEST_STORAGE_DIR', path.join(env.FACADE_DATA_DIR, 'dicom'));
  // The node-wide settings (FACADE_*, libs/node-settings) are read by every service from the same
  // variables; only the DICOMweb base depends on a port chosen here.
  def('FACADE_DICOMWEB_BASE_URL', `http://localhost:${env.DICOMWEB_HTTP_PORT}/dicomweb`);

  return env;
}

export const runDir = (env) => path.join(env.FACADE_DATA_DIR, 'run');
export const logDir = (env) => path.join(env.FACADE_DATA_DIR, 'logs');
export const pidFile = (env, name) => path.join(runDir(env), `${name}.pid`);
export const logFile = (env, name) => path.join(logDir(env), `${name}.log`);

/** One progress line, prefixed so it stands out from component output. */
export function say(msg) {
  process.stdout.write(`[stack] ${msg}\n`);
}
