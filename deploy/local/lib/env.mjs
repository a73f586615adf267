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
  // One policy and one patient ID system for the whole node: the consent desk records decisions
  // about patients named as the mapper names them, and both apply the same policy.
  def('CONSENT_POLICY', 'opt-out');
  def('FACADE_DEFAULT_PATIENT_ID_SYSTEM', 'https://imagingfacade.org/fhir/sid/patient-id');
  def('MAPPER_DEFAULT_PATIENT_ID_SYSTEM', env.FACADE_DEFAULT_PATIENT_ID_SYSTEM);
  def('CONSENT_DEFAULT_PATIENT_ID_SYSTEM', env.FACADE_DEFAULT_PATIENT_ID_SYSTEM);
  def('KAFKA_BROKERS', `localhost:${env.KAFKA_PORT}`);
  def('FHIR_BASE_URL', `http://localhost:${env.HAPI_PORT}/fhir`);
  def('INGEST_STORAGE_DIR', path.join(env.FACADE_DATA_DIR, 'dicom'));
  // The node's public DICOMweb base: served by dicomweb, written by the ingest into its manifests and
  // by the mapper into the Endpoint, so one value for all three.
  def('FACADE_DICOMWEB_BASE_URL', `http://localhost:${env.DICOMWEB_HTTP_PORT}/dicomweb`);
  def('INGEST_DICOMWEB_BASE_URL', env.FACADE_DICOMWEB_BASE_URL);
  def('MAPPER_DICOMWEB_BASE_URL', env.FACADE_DICOMWEB_BASE_URL);

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
