/**
 * The FHIR server's own address never reaches a client: every URL it puts in an answer (Bundle
 * links, fullUrls, Location headers) is rewritten to the gateway's public base. Pure functions.
 */

export interface Bases {
  /** The FHIR server's base, as it writes it in its answers, e.g. http://localhost:8080/fhir */
  upstream: string;
  /** The gateway's public base, e.g. https://fhir.example.org/r4 */
  public: string;
}

function normalise(base: string): { origin: string; path: string } {
  const url = new URL(base);
  return { origin: url.origin.toLowerCase(), path: url.pathname.replace(/\/+$/, '') };
}

/**
 * `url` with the upstream base replaced by the public one; other URLs are returned unchanged. The
 * comparison ignores the case of scheme and host and a default port, not the case of the path.
 */
export function rewriteUrl(url: string, bases: Bases): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url;
  }
  const upstream = normalise(bases.upstream);
  if (parsed.origin.toLowerCase() !== upstream.origin) {
    return url;
  }
  const rest = parsed.pathname.slice(upstream.path.length);
  if (!parsed.pathname.startsWith(upstream.path) || (rest !== '' && !rest.startsWith('/'))) {
    return url;
  }
  return `${bases.public.replace(/\/+$/, '')}${rest}${parsed.search}${parsed.hash}`;
}

interface BundleLike {
  link?: Array<{ url?: string }>;
  entry?: Array<{ fullUrl?: string; response?: { location?: string } }>;
}

/** Rewrites, in place, a Bundle's links, its entries' fullUrls and their response locations. */
export function rewriteBundleUrls<B extends BundleLike>(bundle: B, bases: Bases): B {
  for (const link of bundle.link ?? []) {
    if (link.url) {
      link.url = rewriteUrl(link.url, bases);
    }
  }
  for (const entry of bundle.entry ?? []) {
    if (entry.fullUrl) {
      entry.fullUrl = rewriteUrl(entry.fullUrl, bases);
    }
    if (entry.response?.location) {
      entry.response.location = rewriteUrl(entry.response.location, bases);
    }
  }
  return bundle;
}

/**
 * A Location / Content-Location header: absolute URLs are rewritten; relative ones
 * (`Subscription/1/_history/1`) are made absolute against the public base.
 */
export function rewriteLocation(location: string, bases: Bases): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(location)) {
    return rewriteUrl(location, bases);
  }
  return `${bases.public.replace(/\/+$/, '')}/${location.replace(/^\/+/, '')}`;
}
