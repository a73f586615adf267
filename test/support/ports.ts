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
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = LOWEST + Math.floor(Math.random() * (HIGHEST - LOWEST + 1));
    if (await canListen(port)) {
      return port;
    }
  }
  throw new Error(`no free port found between ${LOWEST} and ${HIGHEST}`);
}
