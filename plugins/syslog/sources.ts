// allowed_sources: which sender addresses may talk to the receiver (CIDRs or single
// addresses, IPv4 and IPv6), checked with Node's own net.BlockList.
import { BlockList, isIP } from 'node:net';

/** Parse the CIDR list; throws with the offending entry when one is malformed. */
export function sourceFilter(cidrs: readonly string[]): ((address: string) => boolean) | undefined {
  if (cidrs.length === 0) return undefined;
  const list = new BlockList();
  for (const entry of cidrs) {
    const [addr = '', bits] = entry.trim().split('/');
    const family = isIP(addr);
    if (family === 0) throw new Error(`allowed_sources: ${JSON.stringify(entry)} is not an IP address or CIDR`);
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) {
      list.addAddress(addr, type);
    } else {
      const prefix = Number(bits);
      if (!/^\d{1,3}$/.test(bits) || prefix > (family === 6 ? 128 : 32)) {
        throw new Error(`allowed_sources: ${JSON.stringify(entry)} has an invalid prefix length`);
      }
      list.addSubnet(addr, prefix, type);
    }
  }
  return (address: string) => {
    const v4 = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
    const family = isIP(v4);
    return family !== 0 && list.check(v4, family === 6 ? 'ipv6' : 'ipv4');
  };
}

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) → `10.0.0.1`. */
export function plainAddress(address: string | undefined): string {
  if (!address) return 'unknown';
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
