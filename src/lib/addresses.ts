import { BlockList, isIP } from 'node:net';

/**
 * Addresses a server-side request must not reach (always for a client that was not made by an
 * admin, and for every client in production): loopback, private, link-local, carrier-grade NAT,
 * multicast, reserved and unspecified ranges, and the IPv6 forms that map or embed them. A URL a
 * client registered (a back-channel logout URI, a JWKS URI, a metadata document) must not turn
 * Tessera into a proxy into its own network (SSRF).
 *
 * IPv4 and IPv6 rules live in separate lists: Node's BlockList also matches an IPv4 address
 * against IPv6 rules as its IPv4-mapped form, so a ::ffff:0:0/96 rule would make every IPv4
 * address internal. The IPv6 forms that carry an IPv4 address are judged below, by the address
 * they carry.
 */
const internal4 = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  internal4.addSubnet(network, prefix, 'ipv4');
}
const internal6 = new BlockList();
for (const [network, prefix] of [
  // IPv4-compatible (deprecated, RFC 4291 §2.5.5.1), with :: and ::1: never a real host.
  ['::', 96],
  // Local-use NAT64 (RFC 8215): translated into the operator's own network.
  ['64:ff9b:1::', 48],
  ['100::', 64],
  // Teredo (RFC 4380): tunnelled to an IPv4 host a relay chooses.
  ['2001::', 32],
  ['2001:db8::', 32],
  ['3fff::', 20],
  // 6to4 (deprecated, RFC 7526): a relay may carry it to any IPv4 network, internal ones too.
  ['2002::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  // Site-local (deprecated, RFC 3879), still routed inside some networks.
  ['fec0::', 10],
  ['ff00::', 8],
] as const) {
  internal6.addSubnet(network, prefix, 'ipv6');
}

/** The eight 16-bit groups of an IPv6 address (zone id dropped, embedded dotted quad read). */
function groupsOf(address: string): number[] {
  let text = address.toLowerCase().replace(/%.*$/, '');
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail = ''] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const parts = text.includes('::')
    ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return parts.map((g) => Number.parseInt(g, 16));
}

/** The IPv4 address in an IPv6 address's last 32 bits. */
function embeddedIPv4(groups: number[]): string {
  const [hi = 0, lo = 0] = groups.slice(6);
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
}

/** The IPv4 address an IPv6 address stands for: IPv4-mapped or NAT64 well-known prefix. */
function carriedIPv4(address: string): string | undefined {
  const g = groupsOf(address);
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  // ::ffff:a.b.c.d (IPv4-mapped, RFC 4291 §2.5.5.2)
  if (zeros(0, 5) && g[5] === 0xffff) return embeddedIPv4(g);
  // ::ffff:0:a.b.c.d (IPv4-translated, RFC 2765 / SIIT)
  if (zeros(0, 4) && g[4] === 0xffff && g[5] === 0) return embeddedIPv4(g);
  // 64:ff9b::a.b.c.d (NAT64, RFC 6052): the IPv4 host a translator will call.
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return embeddedIPv4(g);
  return undefined;
}

/** Whether `address` (an IP literal, IPv6 without brackets) is one a server must not call. */
export function isInternalAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  if (family === 4) return internal4.check(address, 'ipv4');
  const carried = carriedIPv4(address);
  if (carried !== undefined) return internal4.check(carried, 'ipv4');
  return internal6.check(address.replace(/%.*$/, ''), 'ipv6');
}

/**
 * Whether a URL's host names an internal address outright: an internal IP literal, or localhost.
 * Names that resolve to internal addresses are caught when they are resolved (see outbound.ts).
 */
export function isInternalHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  return isInternalAddress(host);
}

/** Whether a URL's host is localhost or a loopback IP literal. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host.endsWith('.localhost') || isLoopbackAddress(host);
}

/** Whether `address` (an IP literal, IPv6 without brackets) is a loopback address. */
export function isLoopbackAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  if (family === 4) return address.split('.')[0] === '127';
  const g = groupsOf(address);
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return true;
  const mapped = g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff;
  return mapped && g[6]! >> 8 === 127;
}
