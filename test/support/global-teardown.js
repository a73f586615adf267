const path = require('node:path');
const { pathToFileURL } = require('node:url');

module.exports = async function globalTeardown() {
  const started = globalThis.__facadeStartedInfra;
  if (!started || started.length === 0) {
    return;
  }
  const harness = await import(pathToFileURL(path.join(__dirname, '../../deploy/local/lib/harness.mjs')).href);
  await harness.stopInfra(started);
};
