// The SSRF guard: which addresses an outbound request may reach. Everything that is not a
// public unicast address is refused unless an operator allows its range (--allow-destinations).
import { BlockList, isIP, isIPv4 } from 'node:net';
import { memo } from '../util/memo.js';

type Family = 'ipv4' | 'ipv6';
interface Cidr { address: string; prefix: number; family: Family }

// Each group says what its addresses are, so a refusal can say why.
const REFUSED: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['a loopback address', ['127.0.0.0/8', '::1/128']],
  ['a private address', ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']],
  ['a carrier-grade NAT address', ['100.64.0.0/10']],
  // 169.254.169.254 is the cloud metadata service.
  ['a link-local address', ['169.254.0.0/16', 'fe80::/10']],
  ['a unique-local address', ['fc00::/7']],
  // Deprecated forms that some stacks still route: site-local, and IPv4-compatible (::a.b.c.d).
  ['a site-local address', ['fec0::/10']],
  // 0.0.0.0 and :: reach the local host.
  ['an unspecified address', ['0.0.0.0/8', '::/128']],
  ['an IPv4-compatible address', ['::/96']],
  // Never a web server, and broadcast reaches the whole local network.
  ['a multicast or reserved address', ['224.0.0.0/4', '240.0.0.0/4', 'ff00::/8']],
];

// IPv6 forms that carry an IPv4 address in their last 32 bits: judged as that address, so
// ::ffff:127.0.0.1 is loopback and ::ffff:8.8.8.8 is public. 64:ff9b::/96 is NAT64 (RFC 6052).
// Both built on first use: parsing an IPv6 range compiles node's IPv6 address pattern (about
// 5 ms), which orlojctl, loading this file with the kinds, never needs.
let embeds: Lists | undefined;
const EMBEDS_IPV4 = (): Lists => (embeds ??= lists([parseCidr('::ffff:0:0/96'), parseCidr('64:ff9b::/96')]));

let groups: Array<{ label: string; list: Lists }> | undefined;
const refusedGroups = (): Array<{ label: string; list: Lists }> => (groups ??= REFUSED.map(([label, cidrs]) => ({ label, list: lists(cidrs.map(parseCidr)) })));

export class DestinationGuard {
  private readonly allowed: Lists;

  /** `allow`: CIDRs reachable even though a refused range holds them, e.g. '127.0.0.0/8', '::1/128'. */
  constructor(allow: string[]) {
    // A range written in a form that carries IPv4 (::ffff:127.0.0.0/104) allows those IPv4
    // addresses, as the guard judges such addresses; any other IPv6 range never admits IPv4.
    this.allowed = lists(allow.map((c) => asIPv4Range(parseCidr(c))));
  }

  /** The --allow-destinations value ('CIDR,CIDR') as a checked list; throws naming a bad entry. */
  static parse(list: string): string[] {
    const cidrs = list.split(',').map((s) => s.trim()).filter((s) => s !== '');
    for (const c of cidrs) parseCidr(c);
    return cidrs;
  }

  refuses(address: string): boolean {
    return this.problem(address) !== undefined;
  }

  /**
   * Why `address` may not be reached, or undefined when it may. Anything that is not an IP
   * address is refused. Remembered: the ranges never change, and every send asks again about
   * the same few addresses.
   */
  readonly problem = memo((address: string) => this.judge(address), 1000);

  private judge(address: string): string | undefined {
    const a = judged(address);
    if (!a) return `${JSON.stringify(address)} is not an IP address`;
    if (this.allowed[a.family].check(a.address, a.family)) return undefined;
    const group = refusedGroups().find((g) => g.list[a.family].check(a.address, a.family));
    if (!group) return undefined;
    const shown = a.address === address ? address : `${address} (${a.address})`;
    return `${shown} is ${group.label}, which outbound requests may not reach unless --allow-destinations includes it`;
  }

  /** The first of `addresses` the guard refuses: one is enough to refuse a hostname, whichever address a connection would take. */
  firstRefused(addresses: readonly string[]): string | undefined {
    return addresses.find((a) => this.refuses(a));
  }

  /**
   * For checks when a resource is applied: a URL whose host is an IP literal the guard refuses,
   * as a message naming it. Hostnames (resolved only when sending) and unparseable URLs give undefined.
   */
  literalProblem(url: string): string | undefined {
    let host: string;
    try {
      host = new URL(url).hostname; // the parser already turns 0x7f.1 or 2130706433 into 127.0.0.1
    } catch {
      return undefined;
    }
    const ip = host.startsWith('[') ? host.slice(1, -1) : host;
    return isIP(ip) === 0 ? undefined : this.problem(ip);
  }
}

interface Lists { ipv4: BlockList; ipv6: BlockList }

// One list per family: node's BlockList matches IPv4 addresses against IPv6 rules (::/0 would
// allow 127.0.0.1), and IPv4 in IPv6 clothing is handled here, explicitly, instead.
function lists(cidrs: Cidr[]): Lists {
  const l: Lists = { ipv4: new BlockList(), ipv6: new BlockList() };
  for (const c of cidrs) l[c.family].addSubnet(c.address, c.prefix, c.family);
  return l;
}

function parseCidr(cidr: string): Cidr {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(cidr);
  const address = m?.[1] ?? '';
  const version = isIP(address);
  const prefix = Number(m?.[2]);
  if (version === 0 || address.includes('%') || prefix > (version === 4 ? 32 : 128)) {
    throw new Error(`invalid CIDR ${JSON.stringify(cidr)}: expected ADDRESS/PREFIX, e.g. 10.0.0.0/8 or fd00::/8`);
  }
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

function asIPv4Range(c: Cidr): Cidr {
  if (c.family === 'ipv6' && c.prefix >= 96 && EMBEDS_IPV4().ipv6.check(c.address, 'ipv6')) {
    return { address: embeddedIPv4(c.address), prefix: c.prefix - 96, family: 'ipv4' };
  }
  return c;
}

/** The address as the guard judges it: zone dropped, IPv4 carried in IPv6 unwrapped; undefined if not an IP. */
function judged(address: string): { address: string; family: Family } | undefined {
  const bare = address.replace(/%.*$/, ''); // fe80::1%eth0: the zone picks an interface, not another address
  const version = isIP(bare);
  if (version === 4) return { address: bare, family: 'ipv4' };
  if (version === 0) return undefined;
  if (EMBEDS_IPV4().ipv6.check(bare, 'ipv6')) return { address: embeddedIPv4(bare), family: 'ipv4' };
  return { address: bare, family: 'ipv6' };
}

/** The IPv4 address in the last 32 bits of a valid IPv6 address. */
function embeddedIPv4(v6: string): string {
  const tail = v6.slice(v6.lastIndexOf(':') + 1);
  if (isIPv4(tail)) return tail;
  // Expand :: to the zero groups it stands for, then read the last two groups.
  const [head = '', rest] = v6.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = rest === undefined || rest === '' ? [] : rest.split(':');
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const hi = parseInt(groups[6] ?? '0', 16);
  const lo = parseInt(groups[7] ?? '0', 16);
  return [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join('.');
}
