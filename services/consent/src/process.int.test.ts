import { spawnSync } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { uniquePrefix } from '@imaging-facade/consent/src/test-support/kafka';
import { testUid } from '@imaging-facade/consent/src/test-support/snapshots';
import { freePort } from '../../../test/support/ports';
import { startService, type RunningService } from '../../../test/support/service-process';
import { eventually } from '../../../test/support/wait';
import { DESK_AUTH } from './test-support/desk';
import { hashPassword } from './auth/accounts';

const MAIN = path.resolve(__dirname, '../dist/main.js');

async function call(port: number, method: string, pathAndQuery: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`http://127.0.0.1:${port}${pathAndQuery}`, {
    method,
    headers: { authorization: DESK_AUTH, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/** A proxy to the FHIR server that holds every write for `delayMs` before passing it on. */
async function slowFhirWrites(upstream: string, delayMs: number): Promise<{ baseUrl: string; close: () => Promise<void> }> {
  const target = new URL(upstream);
  const server = createServer((req, res) => {
    const body: Buffer[] = [];
    req.on('data', (chunk: Buffer) => body.push(chunk));
    req.on('end', async () => {
      if (req.method !== 'GET') await new Promise((resolve) => setTimeout(resolve, delayMs));
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => !['host', 'connection', 'content-length'].includes(name))) as Record<string, string>;
      const answer = await fetch(`${target.origin}${req.url}`, { method: req.method!, headers, ...(body.length > 0 ? { body: Buffer.concat(body) } : {}) });
      const kept: Record<string, string> = {};
      answer.headers.forEach((value, name) => {
        if (!['content-encoding', 'content-length', 'transfer-encoding', 'connection'].includes(name)) kept[name] = value;
      });
      res.writeHead(answer.status, kept);
      res.end(Buffer.from(await answer.arrayBuffer()));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { baseUrl: `http://127.0.0.1:${port}${target.pathname}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Waits until the desk has compared the decisions topic with FHIR's Consents, which it logs after /readyz. */
const reconciled = (desk: RunningService) =>
  eventually(async () => (desk.logs().includes('consent states reconciled with FHIR') ? true : undefined), { what: 'the reconciliation with FHIR' });

describe('the consent desk as a process (node services/consent/dist/main.js)', () => {
  const running: RunningService[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((service) => service.stop()));
  });

  test('a restart loses no decision, and SIGTERM stops it cleanly', async () => {
    const env = {
      KAFKA_BROKERS: process.env.KAFKA_BROKERS!,
      FHIR_BASE_URL: process.env.FHIR_BASE_URL!,
      KAFKA_TOPIC_PREFIX: uniquePrefix(),
      CONSENT_HTTP_PORT: String(await freePort()),
      FACADE_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'consent-desk-')),
    };
    const port = Number(env.CONSENT_HTTP_PORT);
    const patient = { system: 'urn:oid:1.2.250.1.71.4.2.7', value: `IPP-${testUid().slice(-10)}` };
    const key = encodeURIComponent(`${patient.system}|${patient.value}`);

    const first = await startService('consent', env, port);
    running.push(first);
    expect((await call(port, 'POST', '/api/decisions', { patient, decision: 'deny' })).status).toBe(201);
    // On a new topic the desk first announces every Consent of the FHIR server (after /readyz): let it finish.
    await reconciled(first);
    running.pop();
    expect(await first.stop()).toBe(0);
    expect(first.logs()).toContain('"msg":"stopped"');

    const second = await startService('consent', env, port);
    running.push(second);
    const read = await call(port, 'GET', `/api/patients/${key}/decision`);
    expect(read.status).toBe(200);
    expect(read.body.patientDecision).toMatchObject({ provision: 'deny', recordedBy: 'desk' });
    // Nothing to heal: the topic already agreed with FHIR.
    await reconciled(second);
    expect(second.logs()).toMatch(/"announced":0,.*"msg":"consent states reconciled with FHIR"|"msg":"consent states reconciled with FHIR".*"announced":0/);

    // No key was set: the desk made one in its data directory (0600), and named the patient alike before and after the restart.
    expect(statSync(path.join(env.FACADE_DATA_DIR, 'log-pseudonym.key')).mode & 0o777).toBe(0o600);
    const auditedPatients = (service: RunningService) =>
      service
        .logs()
        .split('\n')
        .filter((line) => line.includes('"audit":true') && line.includes('"patient"'))
        .map((line) => JSON.parse(line).patient as string);
    const before = auditedPatients(first);
    expect(before).toEqual([expect.stringMatching(/^pt-[0-9a-f]{16}$/)]);
    // The second desk's audit line of the read reaches its log file a moment after the answer.
    const after = await eventually(async () => (auditedPatients(second).length > 0 ? auditedPatients(second) : undefined), { what: "the second desk's audit line" });
    expect(after).toContain(before[0]);
    expect(`${first.logs()}${second.logs()}`).not.toContain(patient.value);
  });

  test('a stop lets the decisions under way finish: each desk gets 201, then 503 once stopping, never a 500; every 201 is there after a restart', async () => {
    // FHIR takes 3 s per write: decisions are under way for far longer than the rest of the stop takes (under a second).
    const fhir = await slowFhirWrites(process.env.FHIR_BASE_URL!, 3_000);
    try {
      const env = {
        KAFKA_BROKERS: process.env.KAFKA_BROKERS!,
        FHIR_BASE_URL: fhir.baseUrl,
        KAFKA_TOPIC_PREFIX: uniquePrefix(),
        CONSENT_HTTP_PORT: String(await freePort()),
        FACADE_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'consent-desk-')),
      };
      const port = Number(env.CONSENT_HTTP_PORT);
      const first = await startService('consent', env, port);
      running.push(first);
      await reconciled(first);
      const statuses: number[] = [];
      const recorded: string[] = [];
      let sent = 0;
      // Four desks, each sending decisions one after another until told the desk is stopping.
      const desk = async () => {
        for (;;) {
          const value = `IPP-STOP-${testUid().slice(-10)}-${sent++}`;
          const answer = await call(port, 'POST', '/api/decisions', { patient: { system: 'urn:oid:1.2.250.1.71.4.2.7', value }, decision: 'deny' });
          statuses.push(answer.status);
          if (answer.status !== 201) return;
          recorded.push(value);
        }
      };
      const desks = Array.from({ length: 4 }, desk);
      await eventually(async () => (recorded.length >= 4 || statuses.some((status) => status !== 201) ? true : undefined), { intervalMs: 10, what: 'four decisions recorded' });
      expect(statuses.filter((status) => status !== 201)).toEqual([]);
      running.pop();
      const stopped = first.stop();
      await Promise.all(desks);
      expect(await stopped).toBe(0);

      expect(statuses.filter((status) => status !== 201)).toEqual([503, 503, 503, 503]);
      const second = await startService('consent', { ...env, FHIR_BASE_URL: process.env.FHIR_BASE_URL! }, port);
      running.push(second);
      for (const value of recorded) {
        const read = await call(port, 'GET', `/api/patients/${encodeURIComponent(`urn:oid:1.2.250.1.71.4.2.7|${value}`)}/decision`);
        expect({ value, provision: read.body.patientDecision?.provision }).toEqual({ value, provision: 'deny' });
      }
    } finally {
      await fhir.close();
    }
  });

  test('a production configuration with the default desk/desk account refuses to start, saying why', () => {
    const result = spawnSync(process.execPath, [MAIN], {
      env: { ...process.env, FACADE_ENV: 'production', CONSENT_DESK_ACCOUNTS: 'desk:desk' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).not.toBe(0);
    expect(`${result.stdout}${result.stderr}`).toContain('the default desk/desk account is refused in production');
  });

  test('a production configuration without the log pseudonym key refuses to start (exit 78), naming it', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'consent-desk-'));
    const hash = await hashPassword('a long desk password');
    const result = spawnSync(process.execPath, [MAIN], {
      env: { ...process.env, FACADE_ENV: 'production', FACADE_DATA_DIR: dataDir, FACADE_LOG_PSEUDONYM_KEY: '', CONSENT_DESK_ACCOUNTS: `alice:${hash}` },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(78);
    expect(result.stderr).toContain('FACADE_LOG_PSEUDONYM_KEY: required when FACADE_ENV=production: at least 32 random bytes, hex or base64');
  });
});
