// Health probes. Each returns a Promise<boolean> and never throws.
import net from 'node:net';
import http from 'node:http';

/** Plain TCP connect: is anything listening? */
export function tcpOpen(host, port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port: Number(port) });
    const done = (ok) => { sock.destroy(); resolve(ok); };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/** GET url, healthy when the status is `expect` (default 200). */
export function httpOk(url, { expect = 200, timeoutMs = 10_000 } = {}) {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: timeoutMs, headers: { accept: 'application/json' } }, (res) => {
      res.resume();
      resolve(res.statusCode === expect);
    });
    req.on('timeout', () => { req.destroy(); resolve(false); });
    req.on('error', () => resolve(false));
  });
}

/**
 * Kafka probe: sends an ApiVersions v0 request and expects a well-formed answer with error_code 0.
 * A bare TCP connect is not enough: KRaft binds its listener before it serves requests.
 */
export function kafkaApiVersions(host, port, timeoutMs = 3000) {
  return new Promise((resolve) => {
    const clientId = Buffer.from('facade-stack-probe');
    const correlationId = 0x5eed;
    const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length);
    let o = 0;
    o = body.writeInt16BE(18, o); // api_key ApiVersions
    o = body.writeInt16BE(0, o); // api_version 0
    o = body.writeInt32BE(correlationId, o);
    o = body.writeInt16BE(clientId.length, o);
    clientId.copy(body, o);
    const frame = Buffer.concat([Buffer.alloc(4), body]);
    frame.writeInt32BE(body.length, 0);

    let buf = Buffer.alloc(0);
    const sock = net.connect({ host, port: Number(port) });
    const done = (ok) => { sock.destroy(); resolve(ok); };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('error', () => done(false));
    sock.once('connect', () => sock.write(frame));
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < 10) return; // size(4) + correlation id(4) + error_code(2)
      done(buf.readInt32BE(4) === correlationId && buf.readInt16BE(8) === 0);
    });
    sock.once('end', () => done(false));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Poll `check` until it returns true or `timeoutMs` passes. `aborted()` lets the caller stop early
 * (e.g. the process died); it returns a reason string or a falsy value.
 */
export async function waitFor(check, { timeoutMs, intervalMs = 500, aborted = () => null }) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const why = aborted();
    if (why) return { ok: false, reason: why };
    if (await check()) return { ok: true };
    if (Date.now() >= deadline) return { ok: false, reason: `not healthy after ${Math.round(timeoutMs / 1000)} s` };
    await sleep(intervalMs);
  }
}
