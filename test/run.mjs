#!/usr/bin/env node
// `npm test`: installs what is missing (node modules, the Kafka and HAPI FHIR artifacts from Maven
// Central), builds and type-checks the TypeScript, lints it, runs every jest suite (unit, then integration
// and end-to-end against the real broker and FHIR server, which the global setup starts when they
// are not running and stops afterwards), and ends with one plain line: "N passed, N failed".
// Arguments after `--` go to jest (e.g. `npm test -- --selectProjects unit`).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stackEnv, say } from '../deploy/local/lib/env.mjs';
import { installMissing } from '../deploy/local/lib/installers.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const results = path.join(root, 'test/artifacts/jest-results.json');
mkdirSync(path.dirname(results), { recursive: true });

const bin = (name) => path.join(root, 'node_modules/.bin', name);
const step = (label, command, args) => {
  if (label) say(label);
  const { status } = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  return status ?? 1;
};

await installMissing(['node-modules', 'node-build', 'kafka-jars', 'hapi-jar', 'ohif-viewer'], stackEnv(process.env), say);
// tsc -b builds what runs; tsconfig.tests.json also type-checks every test, which ts-jest only transpiles.
if (step('type-checking services, libraries and tests…', bin('tsc'), ['-b']) !== 0
  || step('', bin('tsc'), ['-p', 'tsconfig.tests.json']) !== 0
  || step('linting (libs/eslint-config)…', bin('eslint'), ['--max-warnings', '0']) !== 0) {
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const jestStatus = step('running jest (unit, integration, end to end)…', bin('jest'), [
  '--json', `--outputFile=${results}`, ...process.argv.slice(2),
]);

let summary;
try {
  summary = JSON.parse(readFileSync(results, 'utf8'));
} catch {
  console.log('0 passed, 1 failed');
  process.exit(jestStatus || 1);
}
// Suites that failed to run at all (a broken import, a failing beforeAll) count as failures too.
const suiteErrors = summary.testResults.filter((suite) => suite.status === 'failed' && suite.assertionResults.length === 0).length;
const failed = summary.numFailedTests + suiteErrors;
const skipped = summary.numPendingTests + summary.numTodoTests;
console.log(`${summary.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || jestStatus !== 0 ? 1 : 0);
