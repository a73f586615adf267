import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { LOG_PSEUDONYM_KEY_FILE } from './log-pseudonym-key';

const PATIENT = 'urn:oid:1.2.250.1.999.1|00734129';

/** Processes of the built package (`pnpm --filter @imaging-facade/node-settings build`), as the services run it. */
describe('the development key of the log pseudonyms, made by processes that start at once', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'facade-pseudonym-key-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  test('six services starting at once on a new data directory agree on one key', async () => {
    const script = [
      `const { resolveLogPseudonymKey } = require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'log-pseudonym-key.js'))});`,
      `const { pseudonym } = require('@imaging-facade/consent');`,
      // Each waits for the same moment, so that they race for the file.
      `setTimeout(() => process.stdout.write(pseudonym(${JSON.stringify(PATIENT)}, resolveLogPseudonymKey({ environment: 'development', dataDir: process.argv[1] }))), Number(process.argv[2]) - Date.now());`,
    ].join('\n');
    const startAt = String(Date.now() + 2_000);
    const run = () => promisify(execFile)(process.execPath, ['-e', script, dataDir, startAt], { cwd: path.join(__dirname, '..') });
    const outputs = await Promise.all(Array.from({ length: 6 }, run));
    expect(new Set(outputs.map((output) => output.stdout)).size).toBe(1);
    expect(outputs[0]!.stdout).toMatch(/^pt-[0-9a-f]{16}$/);
    expect(readdirSync(dataDir)).toEqual([LOG_PSEUDONYM_KEY_FILE]);
  });
});
