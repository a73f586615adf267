import ipaddr from 'ipaddr.js';

/**
 * Where a rest-hook may point (server-side request forgery). Pure: the addresses a host name
 * resolves to are given by the caller (endpoint-check.ts).
 *
 * Outside development an endpoint must be `https`, match an allowed origin, carry no user
 * information, and every address its host has must be public unicast: loopback, link-local (the
 * cloud metadata address 169.254.169.254 among them), private (RFC 1918, ULA fc00::/7), CGNAT
 * (100.64/10), unspecified, multicast, reserved, and the IPv6 forms that embed an IPv4 address
 * (mapped, NAT64, 6to4, Teredo) are refused unless a configured CIDR allows them.
 */
export interface EndpointRules {
  /** false in development: any http(s) endpoint, any address (the local stack's receivers are on loopback). */
  enforce: boolean;
  allowedOrigins: OriginPattern[];
  allowedAddresses: Cidr[];
}

/** `https://hooks.example.org`, `https://*.example.org:8443`: a scheme, a host (a leading `*.` for any subdomain), a port. */
export interface OriginPattern {
  protocol: string;
  /** The host without a trailing dot, lower case; `suffix` set for `*.` patterns. */
  host: string;
  suffix: boolean;
  port: string;
}

export type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443' };

const bareHost = (host: string): string => host.toLowerCase().replace(/\.$/, '');

/** Parses one entry of GATEWAY_SUBSCRIPTION_ALLOWED_ENDPOINTS; throws with a reason when it is not an origin. */
export function parseOriginPattern(text: string): OriginPattern {
  const wildcard = /^(https?:\/\/)\*\.(.+)$/i.exec(text);
  const url = new URL(wildcard ? `${wildcard[1]}${wildcard[2]}` : text);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new Error(`${text}: an origin such as https://hooks.example.org`);
  }
  if (url.username || url.password || (url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw new Error(`${text}: an origin only (scheme, host, optional port), no path or user`);
  }
  return { protocol: url.protocol, host: bareHost(url.hostname), suffix: wildcard !== null, port: url.port || (DEFAULT_PORTS[url.protocol] as string) };
}

/** Parses one entry of GATEWAY_SUBSCRIPTION_ALLOWED_ADDRESSES (`10.20.0.0/16`, `fd12::/64`, or one address). */
export function parseCidr(text: string): Cidr {
  if (text.includes('/')) {
    return ipaddr.parseCIDR(text);
  }
  const address = ipaddr.parse(text);
  return [address, address.kind() === 'ipv4' ? 32 : 128];
}

function originMatches(pattern: OriginPattern, url: URL): boolean {
  const host = bareHost(url.hostname);
  const port = url.port || DEFAULT_PORTS[url.protocol];
  if (pattern.protocol !== url.protocol || pattern.port !== port) {
    return false;
  }
  return pattern.suffix ? host.endsWith(`.${pattern.host}`) : host === pattern.host;
}

/**
 * Why an endpoint URL is refused before any name is resolved, or undefined when it may be used
 * (its addresses still to be checked). The WHATWG URL parser has already turned the odd IPv4
 * forms (`2130706433`, `0x7f.1`, `0177.0.0.1`) into dotted quads, and `user@host` into a host.
 */
export function endpointUrlRefusal(url: URL, rules: EndpointRules): string | undefined {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return 'channel.endpoint must be an absolute http(s) URL';
  }
  if (url.username || url.password) {
    return 'channel.endpoint must not carry a user name or password; send credentials in channel.header';
  }
  if (!rules.enforce) {
    return undefined;
  }
  if (url.protocol !== 'https:') {
    return 'channel.endpoint must be an https URL';
  }
  if (!rules.allowedOrigins.some((pattern) => originMatches(pattern, url))) {
    return "channel.endpoint's origin is not on this node's list of allowed subscription endpoints";
  }
  return undefined;
}

/** The address ranges refused by default, by the name ipaddr.js gives them; everything but public unicast. */
const rangeLabel = (range: string): string =>
  ({ loopback: 'loopback', linkLocal: 'link-local', private: 'private', uniqueLocal: 'private (ULA)', carrierGradeNat: 'shared (CGNAT)', unspecified: 'unspecified' })[range] ??
  `non-public (${range})`;

/**
 * Why an address the endpoint's host resolves to (or is) is refused, or undefined. IPv4-mapped
 * IPv6 addresses are judged as the IPv4 address they carry.
 */
export function addressRefusal(text: string, rules: EndpointRules): string | undefined {
  if (!rules.enforce) {
    return undefined;
  }
  const literal = text.replace(/^\[(.*)\]$/, '$1');
  if (!ipaddr.isValid(literal)) {
    return 'channel.endpoint does not resolve to an IP address';
  }
  const address = ipaddr.process(literal);
  const range = address.range();
  if (range === 'unicast') {
    return undefined;
  }
  const allowed = rules.allowedAddresses.some(([network, bits]) => network.kind() === address.kind() && address.match(network, bits));
  return allowed ? undefined : `channel.endpoint's host is, or resolves to, a ${rangeLabel(range)} address, where notifications may not go`;
}
