// Fetches OHIF's build when missing. Starts the real Kafka broker and HAPI FHIR server through the project's own stack scripts, only
// when they are not already answering, and remembers what it started so that teardown stops
// exactly that. FACADE_SKIP_INFRA=1 leaves infrastructure entirely to the caller.
const path = require('node:path');
const { pathToFileURL } = require('node:url');

module.exports = async function globalSetup() {
  process.env.KAFKA_BROKERS ??= 'localhost:9092';
  process.env.FHIR_BASE_URL ??= 'http://localhost:8080/fhir';
  // The viewer's tests serve OHIF's pinned build: fetched once, as `npm test` and `npm start` do,
  // so that a bare `jest` in a new checkout runs them too.
  const { installMissing } = await import(pathToFileURL(path.join(__dirname, '../../deploy/local/lib/installers.mjs')).href);
  const { stackEnv, say } = await import(pathToFileURL(path.join(__dirname, '../../deploy/local/lib/env.mjs')).href);
  await installMissing(['ohif-viewer'], stackEnv(process.env), say);
  if (process.env.FACADE_SKIP_INFRA === '1') {
    return;
  }
  const harness = await import(pathToFileURL(path.join(__dirname, '../../deploy/local/lib/harness.mjs')).href);
  globalThis.__facadeStartedInfra = await harness.ensureInfra({ components: ['kafka', 'hapi'] });
};
