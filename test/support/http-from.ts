import { createServer, request, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PlainResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

/**
 * A GET sent from a given local address (any of 127.0.0.0/8 on this machine): as a client on
 * another host would be seen, for what a server decides per client address.
 */
export function getFrom(localAddress: string, url: string, headers: Record<string, string> = {}): Promise<PlainResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', localAddress, headers: { accept: 'application/fhir+json', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          // not JSON: the text as it is
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer from ${url} within 10 s`)));
    req.end();
  });
}

/** A loopback address of its own for one test run (127.x.y.z), so that what the server records per address is this run's only. */
export function loopbackAddress(): string {
  const byte = () => 1 + Math.floor(Math.random() * 254);
  return `127.${byte()}.${byte()}.${byte()}`;
}

export interface LoopbackServer {
  /** `http://127.0.0.1:<port><path>`. */
  url: (path: string) => string;
  close: () => Promise<void>;
}

/** A request listener (an Express app) on a free port, listening on every address, so that any 127.x client reaches it. */
export async function serveOnLoopback(app: RequestListener): Promise<LoopbackServer> {
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * What a client at `address` sees when it keeps sending bad tokens to a face whose limit is
 * `limit`: each of the first `limit` answers must be a 401; the answer after them (to a good
 * token, which a locked-out client does not get through with either) is returned for the caller
 * to check: a 429 with Retry-After.
 */
export async function sendBadTokensUntilLocked(address: string, url: string, limit: number, goodToken: string): Promise<PlainResponse> {
  for (let i = 0; i < limit; i++) {
    const refused = await getFrom(address, url, { authorization: 'Bearer forged' });
    if (refused.status !== 401) {
      throw new Error(`bad token ${i + 1} of ${limit} was answered ${refused.status}, not 401`);
    }
  }
  return getFrom(address, url, { authorization: `Bearer ${goodToken}` });
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body as it came over the wire (not decompressed). */
  bytes: Buffer;
}

/** A GET by a plain HTTP client (node:http, which decompresses nothing): the body's bytes as sent. */
export function getRaw(url: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error(`no answer from ${url} within 30 s`)));
    req.end();
  });
}
