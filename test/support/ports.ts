import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * Listening ports are picked below the kernel's ephemeral range: a port the kernel handed out (port
 * 0) could be taken, between this check and the service's listen, as the source port of one of the
 * many outgoing connections a test run makes (storescu, Kafka and HTTP clients): EADDRINUSE.
 */
const LOWEST = 20_000;

function ephemeralStart(): number {
  try {
    const [start] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    return start !== undefined && Number.isInteger(start) && start > LOWEST + 1000 ? start : 32_768;
  } catch {
    return 32_768;
  }
}

const HIGHEST = ephemeralStart() - 1;

/**
 * Jest workers run suites side by side: each picks in a slice of its own (JEST_WORKER_ID counts from
 * 1), so that two workers never pick the same port between one's check and its listen.
 */
const SLICES = 8;

function slice(): { lowest: number; highest: number } {
  const worker = Number(process.env.JEST_WORKER_ID ?? '1');
  const index = Number.isInteger(worker) && worker > 0 ? (worker - 1) % SLICES : 0;
  const size = Math.floor((HIGHEST - LOWEST + 1) / SLICES);
  return { lowest: LOWEST + index * size, highest: LOWEST + (index + 1) * size - 1 };
}

/** Ports this process handed out: a port checked free but not yet listened on is not handed out again. */
const handedOut = new Set<number>();

/** Whether `port` can be listened on now, on every address (as our services listen). */
function canListen(port: number, host = '::'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', (error: NodeJS.ErrnoException) => {
      // A machine without IPv6: the IPv4 wildcard is the strictest check there.
      resolve(host === '::' && error.code !== 'EADDRINUSE' && error.code !== 'EACCES' ? canListen(port, '0.0.0.0') : false);
    });
    // '::' also covers 0.0.0.0 and 127.0.0.1 where IPv6 is dual-stack, the strictest check.
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A TCP port that was free a moment ago, so that suites running side by side never collide. */
export async function freePort(): Promise<number> {
  const { lowest, highest } = slice();
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = lowest + Math.floor(Math.random() * (highest - lowest + 1));
    if (!handedOut.has(port) && (await canListen(port))) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port found between ${lowest} and ${highest}`);
}
