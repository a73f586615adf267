import { BlockList, isIP } from 'node:net';

/** One entry of DICOM_ALLOWED_CALLING_AE_TITLES: an AE title, from any host or only from some. */
export interface AllowedCaller {
  aeTitle: string;
  /** Addresses or CIDR ranges (IPv4 or IPv6); empty means from any host. */
  hosts: string[];
}

/**
 * Parses `CT1@10.0.0.5,CT2,PACS@10.0.0.0/8,PACS@fd00::/8`: comma-separated entries, each an AE title
 * optionally bound to an address or range after the last `@`. The same title may appear several
 * times: it is then allowed from any of its hosts. Host names are not accepted (DNS is not proof of
 * who connects). Throws on a malformed entry, with the entry in the message.
 */
export function parseAllowedCallers(text: string): AllowedCaller[] {
  const byTitle = new Map<string, { anyHost: boolean; hosts: string[] }>();
  for (const raw of text.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '')) {
    const at = raw.lastIndexOf('@');
    const aeTitle = (at < 0 ? raw : raw.slice(0, at)).trim();
    const host = at < 0 ? undefined : raw.slice(at + 1).trim();
    if (!/^[\x20-\x5B\x5D-\x7E]{1,16}$/.test(aeTitle)) {
      throw new Error(`"${raw}": an AE title has 1 to 16 printable ASCII characters and no backslash`);
    }
    if (host !== undefined && !isAddressOrRange(host)) {
      throw new Error(`"${raw}": after @ comes an IPv4 or IPv6 address or a CIDR range, not "${host}"`);
    }
    const entry = byTitle.get(aeTitle) ?? { anyHost: false, hosts: [] };
    if (host === undefined) {
      entry.anyHost = true;
    } else {
      entry.hosts.push(host);
    }
    byTitle.set(aeTitle, entry);
  }
  return [...byTitle].map(([aeTitle, { anyHost, hosts }]) => ({ aeTitle, hosts: anyHost ? [] : hosts }));
}

/** Who may open an association with us; `undefined` settings mean anyone (the local default). */
export class CallingAeAllowList {
  private readonly rules = new Map<string, BlockList | 'any-host'>();

  constructor(callers: readonly AllowedCaller[]) {
    for (const { aeTitle, hosts } of callers) {
      if (hosts.length === 0) {
        this.rules.set(aeTitle, 'any-host');
        continue;
      }
      // BlockList is node's address matcher; here it lists the hosts a title may call from.
      const list = new BlockList();
      for (const host of hosts) {
        const [address = '', prefix] = host.split('/');
        const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
        if (prefix === undefined) {
          list.addAddress(address, family);
        } else {
          list.addSubnet(address, Number(prefix), family);
        }
      }
      this.rules.set(aeTitle, list);
    }
  }

  permits(callingAeTitle: string, remoteAddress: string | undefined): boolean {
    const rule = this.rules.get(callingAeTitle.trim());
    if (rule === undefined) {
      return false;
    }
    if (rule === 'any-host') {
      return true;
    }
    if (remoteAddress === undefined) {
      return false;
    }
    // An IPv4 peer on a dual-stack socket shows as ::ffff:a.b.c.d; BlockList matches it against IPv4 rules.
    return rule.check(remoteAddress, isIP(remoteAddress) === 6 ? 'ipv6' : 'ipv4');
  }
}

function isAddressOrRange(host: string): boolean {
  const [address = '', prefix, ...rest] = host.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) {
    return false;
  }
  if (prefix === undefined) {
    return true;
  }
  const bits = Number(prefix);
  return /^\d{1,3}$/.test(prefix) && bits <= (family === 4 ? 32 : 128);
}
