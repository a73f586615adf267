import { checkEndpoint, type Resolve } from './endpoint-check';
import { parseCidr, parseOriginPattern, type EndpointRules } from './endpoint-rules';

/** A DNS of our own: names the tests use, each with the addresses an attacker could give it. */
const dns: Record<string, string[]> = {
  'hooks.example.org': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
  'a.partner.example': ['93.184.215.15'],
  'rebind.partner.example': ['93.184.215.15', '10.0.0.7'],
  'internal.partner.example': ['127.0.0.1'],
  'v6.partner.example': ['::1'],
  'mapped.partner.example': ['::ffff:169.254.169.254'],
  'lab.partner.example': ['10.20.1.5'],
  localhost: ['127.0.0.1', '::1'],
};
const resolve: Resolve = async (host) => {
  const addresses = dns[host.replace(/\.$/, '')];
  if (!addresses) {
    throw new Error(`ENOTFOUND ${host}`);
  }
  return addresses;
};

const rules = (overrides: Partial<EndpointRules> = {}): EndpointRules => ({
  enforce: true,
  allowedOrigins: ['https://hooks.example.org', 'https://*.partner.example', 'https://localhost', 'https://127.0.0.1:8443'].map(parseOriginPattern),
  allowedAddresses: [],
  ...overrides,
});

const verdict = async (endpoint: string, given: EndpointRules = rules()) => {
  const result = await checkEndpoint(endpoint, given, resolve);
  return result.allowed ? 'allowed' : result.reason;
};

describe('checkEndpoint outside development: https, an allowed origin, public addresses only', () => {
  test.each([
    ['an allowed origin that resolves to public addresses', 'https://hooks.example.org/hook'],
    ['its name with a trailing dot', 'https://hooks.example.org./hook'],
    ['its name in capitals, on its default port', 'https://HOOKS.example.org:443/hook?x=1'],
    ['a subdomain of an allowed *. pattern', 'https://a.partner.example/hook'],
  ])('accepts %s', async (_situation, endpoint) => {
    expect(await verdict(endpoint)).toBe('allowed');
  });

  test.each([
    ['plain http', 'http://hooks.example.org/hook', /must be an https URL/],
    ['an origin not on the list', 'https://evil.example.net/hook', /not on this node's list/],
    ['the allowed host on another port', 'https://hooks.example.org:8443/hook', /not on this node's list/],
    ['the bare domain of a *. pattern', 'https://partner.example/hook', /not on this node's list/],
    ['a look-alike suffix', 'https://evilpartner.example/hook', /not on this node's list/],
    ['user information that names an allowed host', 'https://hooks.example.org@127.0.0.1/', /user name or password/],
    ['user and password', 'https://u:p@hooks.example.org/', /user name or password/],
    ['an allowed name that resolves to loopback', 'https://internal.partner.example/', /loopback/],
    ['an allowed name that resolves to IPv6 loopback', 'https://v6.partner.example/', /loopback/],
    ['an allowed name that resolves to one public and one private address', 'https://rebind.partner.example/', /private/],
    ['an allowed name that resolves to a mapped metadata address', 'https://mapped.partner.example/', /link-local/],
    ['localhost, allowed by name', 'https://localhost/hook', /loopback/],
    ['localhost. with a trailing dot', 'https://localhost./hook', /loopback/],
    ['an allowed name that does not resolve', 'https://gone.partner.example/', /does not resolve/],
    ['an allowed loopback literal without an address allowance', 'https://127.0.0.1:8443/', /loopback/],
    ['not a URL', 'hooks.example.org/hook', /absolute http\(s\) URL/],
    ['another scheme', 'file:///etc/passwd', /absolute http\(s\) URL/],
  ])('refuses %s', async (_situation, endpoint, reason) => {
    expect(await verdict(endpoint)).toMatch(reason);
  });

  test('an address allowance lets an allowed name reach that private range, and only that one', async () => {
    const lab = rules({ allowedAddresses: ['10.20.0.0/16', '127.0.0.1'].map(parseCidr) });
    expect(await verdict('https://lab.partner.example/hook', lab)).toBe('allowed');
    expect(await verdict('https://127.0.0.1:8443/hook', lab)).toBe('allowed');
    expect(await verdict('https://rebind.partner.example/', lab)).toMatch(/private/);
    expect(await verdict('https://v6.partner.example/', lab)).toMatch(/loopback/);
  });
});

/** IP literals in every form a URL parser or a resolver accepts; every origin is allowed so that only the address decides. */
describe('the address rule, on literal hosts', () => {
  const everyOrigin = (host: string): EndpointRules => rules({ allowedOrigins: [parseOriginPattern(`https://${host}`)] });
  const literal = async (endpoint: string) => {
    const url = new URL(endpoint);
    return verdict(endpoint, everyOrigin(url.host));
  };

  test.each([
    ['IPv4 loopback', 'https://127.0.0.1/', 'loopback'],
    ['the rest of 127/8', 'https://127.8.9.10/', 'loopback'],
    ['loopback as one decimal number', 'https://2130706433/', 'loopback'],
    ['loopback in hexadecimal, two parts', 'https://0x7f.1/', 'loopback'],
    ['loopback in octal', 'https://0177.0.0.1/', 'loopback'],
    ['the unspecified address', 'https://0.0.0.0/', 'unspecified'],
    ['0 alone', 'https://0/', 'unspecified'],
    ['RFC 1918 10/8', 'https://10.1.2.3/', 'private'],
    ['RFC 1918 172.16/12', 'https://172.31.255.1/', 'private'],
    ['RFC 1918 192.168/16', 'https://192.168.0.10/', 'private'],
    ['CGNAT 100.64/10', 'https://100.64.0.1/', 'CGNAT'],
    ['the cloud metadata address', 'https://169.254.169.254/latest/meta-data/', 'link-local'],
    ['multicast', 'https://224.0.0.1/', 'multicast'],
    ['broadcast', 'https://255.255.255.255/', 'broadcast'],
    ['IPv6 loopback', 'https://[::1]/', 'loopback'],
    ['IPv6 unspecified', 'https://[::]/', 'unspecified'],
    ['IPv6 link-local', 'https://[fe80::1]/', 'link-local'],
    ['IPv6 ULA fc00::/7', 'https://[fd00:ec2::254]/', 'ULA'],
    ['IPv4-mapped loopback', 'https://[::ffff:127.0.0.1]/', 'loopback'],
    ['IPv4-mapped metadata, in hex', 'https://[::ffff:a9fe:a9fe]/', 'link-local'],
    ['NAT64 embedding loopback', 'https://[64:ff9b::7f00:1]/', 'non-public'],
    ['6to4 embedding a private address', 'https://[2002:a00:1::]/', 'non-public'],
    ['documentation range', 'https://[2001:db8::1]/', 'non-public'],
  ])('refuses %s', async (_situation, endpoint, label) => {
    expect(await literal(endpoint)).toMatch(new RegExp(label));
  });

  test.each([
    ['a public IPv4 address', 'https://93.184.215.14/'],
    ['a public IPv6 address', 'https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/'],
    ['a public address mapped into IPv6', 'https://[::ffff:93.184.215.14]/'],
  ])('accepts %s', async (_situation, endpoint) => {
    expect(await literal(endpoint)).toBe('allowed');
  });
});

describe('checkEndpoint in development', () => {
  test('accepts any http(s) endpoint, this machine included, but never user information', async () => {
    const development = rules({ enforce: false, allowedOrigins: [] });
    expect(await verdict('http://127.0.0.1:9000/hook', development)).toBe('allowed');
    expect(await verdict('http://localhost/hook', development)).toBe('allowed');
    expect(await verdict('https://a@127.0.0.1/', development)).toMatch(/user name or password/);
    expect(await verdict('ftp://127.0.0.1/', development)).toMatch(/http\(s\)/);
  });
});

describe('the settings', () => {
  test.each(['https://hooks.example.org/path', 'https://user@hooks.example.org', 'hooks.example.org', 'ftp://hooks.example.org'])('an allowed endpoint %s is refused: origins only', (entry) => {
    expect(() => parseOriginPattern(entry)).toThrow();
  });

  test.each(['10.0.0.0/33', 'not-an-address', '::1/129'])('an address allowance %s is refused', (entry) => {
    expect(() => parseCidr(entry)).toThrow();
  });
});
