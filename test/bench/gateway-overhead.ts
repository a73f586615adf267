/**
 * Benchmark (not a test): the FHIR gateway's overhead against the HAPI FHIR server asked directly,
 * for a typical ImagingStudy search (one patient's studies, as an EHR asks for them), at a fixed
 * concurrency, side by side in one run: p50 / p95 / p99 latency and throughput of each, and the
 * gateway's overhead. The gateway runs as in production (a real process, token verification,
 * consent filtering with a decision on record, AuditEvents written to HAPI, info-level logs).
 *
 * Needs the real Kafka broker and HAPI FHIR server: started like the tests do when not running
 * (FACADE_SKIP_INFRA=1 leaves them to the caller, with FHIR_BASE_URL / KAFKA_BROKERS).
 * BENCH_REQUESTS (default 3000 per target), BENCH_CONCURRENCY (8), BENCH_STUDIES (10).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { freePort } from '../support/ports';
import { REPO_ROOT, startService, type RunningService } from '../support/service-process';
import { newUid } from '../support/uids';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 3000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const STUDIES = Number(process.env.BENCH_STUDIES ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const WARMUP = 300;

interface Target {
  name: string;
  url: string;
  headers: Record<string, string>;
  latenciesMs: number[];
  seconds: number;
  /** CPU seconds used by the FHIR server and by the gateway while this target was measured. */
  cpu: { hapi: number; gateway: number };
}

/** CPU seconds (user + system) a process has used so far; NaN when it cannot be read. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) {
    return Number.NaN;
  }
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** The pid of the process listening on the FHIR server's port (the HAPI JVM), when `ss` can tell. */
function listenerPid(port: string): number | undefined {
  try {
    const out = execFileSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' });
    const pid = /pid=(\d+)/.exec(out)?.[1];
    return pid ? Number(pid) : undefined;
  } catch {
    return undefined;
  }
}

async function transaction(fhirBase: string, entries: unknown[]): Promise<string[]> {
  const response = await fetch(fhirBase, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' },
    body: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: entries }),
  });
  const bundle = (await response.json()) as { entry?: Array<{ response?: { location?: string } }> };
  if (!response.ok) {
    throw new Error(`seeding failed: HTTP ${response.status}`);
  }
  return (bundle.entry ?? []).map((entry) => (entry.response?.location ?? '').split('/_history')[0] as string);
}

/** One patient with STUDIES studies of 2 series × 5 instances: a realistic answer of ~10 studies. */
async function seed(fhirBase: string): Promise<string> {
  const patientUrl = 'urn:uuid:6a3c1a4e-0000-4000-8000-000000000001';
  const series = (n: number) => ({
    uid: newUid(),
    number: n,
    modality: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'CT' },
    numberOfInstances: 5,
    instance: Array.from({ length: 5 }, (_, i) => ({ uid: newUid(), number: i + 1, sopClass: { system: 'urn:ietf:rfc:3986', code: 'urn:oid:1.2.840.10008.5.1.4.1.1.2' } })),
  });
  const locations = await transaction(fhirBase, [
    {
      fullUrl: patientUrl,
      resource: { resourceType: 'Patient', identifier: [{ system: 'urn:oid:1.2.826.0.1.3680043.10.999', value: `BENCH-${newUid().slice(-8)}` }], name: [{ family: 'Bench' }] },
      request: { method: 'POST', url: 'Patient' },
    },
    ...Array.from({ length: STUDIES }, () => ({
      resource: {
        resourceType: 'ImagingStudy',
        status: 'available',
        identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:${newUid()}` }],
        subject: { reference: patientUrl },
        started: '2024-01-05T10:15:00+01:00',
        numberOfSeries: 2,
        numberOfInstances: 10,
        description: 'CT CHEST WITH CONTRAST',
        series: [series(1), series(2)],
      },
      request: { method: 'POST', url: 'ImagingStudy' },
    })),
  ]);
  return (locations[0] as string).split('/')[1] as string;
}

/** A refusal on record for somebody else, so that the gateway's consent path really runs. */
async function publishUnrelatedRefusal(brokers: string, topicPrefix: string): Promise<void> {
  const kafka = new Kafka({ clientId: 'bench', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const patient = { system: 'urn:oid:1.2.826.0.1.3680043.10.999', value: 'SOMEBODY-ELSE' };
  const now = new Date().toISOString();
  await producer.send({
    topic: `${topicPrefix}consent.patient-decisions.v1`,
    acks: -1,
    messages: [
      {
        key: `${patient.system}|${patient.value}`,
        value: JSON.stringify({
          specversion: '1.0',
          id: newUid(),
          source: 'urn:imaging-facade:bench',
          type: 'org.imagingfacade.consent.patient-decisions.v1',
          subject: 'patient-decisions',
          time: now,
          datacontenttype: 'application/json',
          data: { patient, decisions: [{ scope: 'patient', provision: 'deny', consentId: 'bench', recordedAt: now, recordedBy: 'bench' }], updatedAt: now },
        }),
      },
    ],
  });
  await producer.disconnect();
}

async function load(target: Target, requests: number, record: boolean, pids: { hapi?: number; gateway?: number } = {}): Promise<void> {
  let next = 0;
  const started = process.hrtime.bigint();
  const cpuBefore = { hapi: cpuSeconds(pids.hapi), gateway: cpuSeconds(pids.gateway) };
  const worker = async (): Promise<void> => {
    while (next < requests) {
      next++;
      const t0 = process.hrtime.bigint();
      const response = await fetch(target.url, { headers: target.headers });
      const body = await response.text();
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (response.status !== 200 || !body.includes('"ImagingStudy"')) {
        throw new Error(`${target.name}: HTTP ${response.status}`);
      }
      if (record) {
        target.latenciesMs.push(ms);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  if (record) {
    target.seconds += Number(process.hrtime.bigint() - started) / 1e9;
    target.cpu.hapi += cpuSeconds(pids.hapi) - cpuBefore.hapi;
    target.cpu.gateway += cpuSeconds(pids.gateway) - cpuBefore.gateway;
  }
}

function perRequest(cpuSecondsUsed: number, target: Target): string {
  return Number.isNaN(cpuSecondsUsed) ? 'n/a' : ((cpuSecondsUsed * 1000) / target.latenciesMs.length).toFixed(2);
}

function loadAverage(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return 'n/a';
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function summary(target: Target): { p50: number; p95: number; p99: number; rps: number } {
  const sorted = [...target.latenciesMs].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), rps: target.latenciesMs.length / target.seconds };
}

async function main(): Promise<void> {
  const harness = await import(pathToFileURL(path.join(REPO_ROOT, 'deploy/local/lib/harness.mjs')).href);
  const startedInfra: unknown = process.env.FACADE_SKIP_INFRA === '1' ? [] : await harness.ensureInfra({ components: ['kafka', 'hapi'] });
  const fhirBase = process.env.FHIR_BASE_URL ?? 'http://localhost:8080/fhir';
  const brokers = process.env.KAFKA_BROKERS ?? 'localhost:9092';
  let gateway: RunningService | undefined;
  try {
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    const topicPrefix = `bench-${newUid().slice(-10)}.`;
    gateway = await startService(
      'fhir-gateway',
      {
        GATEWAY_HTTP_PORT: String(port),
        GATEWAY_PUBLIC_BASE_URL: `${origin}/fhir`,
        FHIR_BASE_URL: fhirBase,
        KAFKA_BROKERS: brokers,
        KAFKA_TOPIC_PREFIX: topicPrefix,
        DEV_ISSUER_ENABLED: 'true',
        FACADE_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'facade-bench-gateway-')),
        LOG_LEVEL: 'info',
        ...(process.env.BENCH_GATEWAY_ENV ? (JSON.parse(process.env.BENCH_GATEWAY_ENV) as Record<string, string>) : {}),
      },
      port,
    );
    await publishUnrelatedRefusal(brokers, topicPrefix);
    const patientId = await seed(fhirBase);
    const tokenResponse = await fetch(`${origin}/oidc/token`, { method: 'POST', body: new URLSearchParams({ scope: 'user/ImagingStudy.rs', client_id: 'bench' }) });
    const { access_token: token } = (await tokenResponse.json()) as { access_token: string };

    const query = `ImagingStudy?patient=Patient/${patientId}&status=available`;
    // The same client and headers for both; no compression on either side (HAPI would otherwise
    // gzip for the direct client only, which costs it more than the gateway's whole overhead).
    const headers = { accept: 'application/fhir+json', 'accept-encoding': 'identity' };
    const direct: Target = { name: 'HAPI direct', url: `${fhirBase}/${query}`, headers, latenciesMs: [], seconds: 0, cpu: { hapi: 0, gateway: 0 } };
    const viaGateway: Target = {
      name: 'via gateway',
      url: `${origin}/fhir/${query}`,
      headers: { ...headers, authorization: `Bearer ${token}` },
      latenciesMs: [],
      seconds: 0,
      cpu: { hapi: 0, gateway: 0 },
    };
    const pids = { hapi: listenerPid(new URL(fhirBase).port || '80'), gateway: gateway.pid };

    console.log(`warming up (${WARMUP} requests each)…`);
    await load(direct, WARMUP, false);
    await load(viaGateway, WARMUP, false);
    const perRound = Math.ceil(REQUESTS / ROUNDS);
    for (let round = 1; round <= ROUNDS; round++) {
      console.log(`round ${round}/${ROUNDS}: ${perRound} requests each, concurrency ${CONCURRENCY}…`);
      await load(direct, perRound, true, pids);
      await load(viaGateway, perRound, true, pids);
    }

    const a = summary(direct);
    const b = summary(viaGateway);
    const pct = (gw: number, hapi: number) => `${gw >= hapi ? '+' : ''}${(((gw - hapi) / hapi) * 100).toFixed(1)} %`;
    const row = (name: string, s: ReturnType<typeof summary>) =>
      `${name.padEnd(14)} ${s.p50.toFixed(2).padStart(8)} ${s.p95.toFixed(2).padStart(8)} ${s.p99.toFixed(2).padStart(8)} ${s.rps.toFixed(0).padStart(8)}`;
    const lines = [
      `query: GET ${query} (${STUDIES} studies of 2 series × 5 instances), ${perRound * ROUNDS} requests per target, concurrency ${CONCURRENCY}, ${ROUNDS} interleaved rounds, ${cpus().length} CPUs`,
      `${'target'.padEnd(14)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'req/s'.padStart(8)}`,
      row(direct.name, a),
      row(viaGateway.name, b),
      `gateway overhead: p50 ${pct(b.p50, a.p50)} (${(b.p50 - a.p50).toFixed(2)} ms), p95 ${pct(b.p95, a.p95)}, throughput ${pct(b.rps, a.rps)} (target: < 15 % at p50)`,
      `CPU per request: HAPI direct ${perRequest(direct.cpu.hapi, direct)} ms; via gateway HAPI ${perRequest(viaGateway.cpu.hapi, viaGateway)} ms ` +
        `(search + AuditEvent write) + gateway ${perRequest(viaGateway.cpu.gateway, viaGateway)} ms; load average ${loadAverage()}`,
    ];
    console.log(`\n${lines.join('\n')}`);
    mkdirSync(path.join(REPO_ROOT, 'test/artifacts'), { recursive: true });
    writeFileSync(path.join(REPO_ROOT, 'test/artifacts/bench-gateway.txt'), `${lines.join('\n')}\n`);
  } finally {
    await gateway?.stop();
    await harness.stopInfra(startedInfra);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
