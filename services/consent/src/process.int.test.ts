import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { uniquePrefix } from '@imaging-facade/consent/src/test-support/kafka';
import { testUid } from '@imaging-facade/consent/src/test-support/snapshots';
import { freePort } from '../../../test/support/ports';
import { startService, type RunningService } from '../../../test/support/service-process';
import { DESK_AUTH } from './test-support/desk';

const MAIN = path.resolve(__dirname, '../dist/main.js');

async function call(port: number, method: string, pathAndQuery: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`http://127.0.0.1:${port}${pathAndQuery}`, {
    method,
    headers: { authorization: DESK_AUTH, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

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
    };
    const port = Number(env.CONSENT_HTTP_PORT);
    const patient = { system: 'urn:oid:1.2.250.1.71.4.2.7', value: `IPP-${testUid().slice(-10)}` };
    const key = encodeURIComponent(`${patient.system}|${patient.value}`);

    const first = await startService('consent', env, port);
    running.push(first);
    expect((await call(port, 'POST', '/api/decisions', { patient, decision: 'deny' })).status).toBe(201);
    running.pop();
    expect(await first.stop()).toBe(0);
    expect(first.logs()).toContain('"msg":"stopped"');

    const second = await startService('consent', env, port);
    running.push(second);
    const read = await call(port, 'GET', `/api/patients/${key}/decision`);
    expect(read.status).toBe(200);
    expect(read.body.patientDecision).toMatchObject({ provision: 'deny', recordedBy: 'desk' });
    // Nothing to heal: the topic already agreed with FHIR.
    expect(second.logs()).toMatch(/"announced":0,.*"msg":"consent states reconciled with FHIR"|"msg":"consent states reconciled with FHIR".*"announced":0/);
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
});
