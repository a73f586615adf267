import { lookup as dnsLookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';
import { addressRefusal, endpointUrlRefusal, type EndpointRules } from './endpoint-rules';

/** Resolves a host name to all its addresses (node's resolver; a test gives its own). */
export type Resolve = (host: string) => Promise<string[]>;

export const systemResolve: Resolve = async (host) => (await dnsLookup(host, { all: true, verbatim: true })).map((entry) => entry.address);

export type EndpointVerdict = { allowed: true; url: URL } | { allowed: false; reason: string };

/**
 * Checks a rest-hook endpoint as the FHIR server will reach it: the URL, then every address its
 * host resolves to now (a name that resolves to one public and one private address is refused, as
 * the server's client may pick either). The FHIR server resolves the name again when it delivers;
 * see the gateway's README (Subscriptions) for what guards that moment.
 */
export async function checkEndpoint(endpoint: string, rules: EndpointRules, resolve: Resolve = systemResolve): Promise<EndpointVerdict> {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return { allowed: false, reason: 'channel.endpoint must be an absolute http(s) URL' };
  }
  const urlRefusal = endpointUrlRefusal(url, rules);
  if (urlRefusal) {
    return { allowed: false, reason: urlRefusal };
  }
  if (!rules.enforce) {
    return { allowed: true, url };
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  let addresses: string[];
  if (ipaddr.isValid(host)) {
    addresses = [host];
  } else {
    try {
      addresses = await resolve(host);
    } catch {
      return { allowed: false, reason: "channel.endpoint's host name does not resolve" };
    }
  }
  if (addresses.length === 0) {
    return { allowed: false, reason: "channel.endpoint's host name does not resolve" };
  }
  for (const address of addresses) {
    const reason = addressRefusal(address, rules);
    if (reason) {
      return { allowed: false, reason };
    }
  }
  return { allowed: true, url };
}
