import { BlockList, isIPv6 } from 'node:net'

// One client, one key: an IPv4 address is one client, an IPv6 client owns (at least) a /64, and
// rotating through its 2^64 addresses must not buy fresh rate-limit or lockout budgets.

/** The first four hextets of an IPv6 address, as `a:b:c:d::/64`; an IPv4 address as it is. */
export function clientKey(ip: string): string {
  // An IPv4 address has no colon: answered before the IPv6 parse, which is most of the cost.
  if (!ip.includes(':') || !isIPv6(ip)) return ip
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)
  if (mapped) return mapped[1]
  const [head, tail = ''] = ip.toLowerCase().split('::')
  const left = head ? head.split(':') : []
  const right = tail ? tail.split(':') : []
  const hextets = [...left, ...Array(8 - left.length - right.length).fill('0'), ...right]
  return `${hextets
    .slice(0, 4)
    .map((h) => Number.parseInt(h, 16).toString(16))
    .join(':')}::/64`
}

/** A test of whether an address (IPv4, IPv6 or IPv4-mapped IPv6) lies in any of the CIDRs or addresses given. */
export function addressMatcher(cidrs: readonly string[]): (ip: string | undefined) => boolean {
  if (cidrs.length === 0) return () => false
  const list = new BlockList()
  for (const entry of cidrs) {
    const [address, bits] = entry.split('/')
    const family = isIPv6(address) ? 'ipv6' : 'ipv4'
    list.addSubnet(address, bits === undefined ? (family === 'ipv6' ? 128 : 32) : Number(bits), family)
  }
  return (ip) => {
    if (!ip) return false
    const plain = ip.startsWith('::ffff:') ? ip.slice(7) : ip
    return list.check(plain, isIPv6(plain) ? 'ipv6' : 'ipv4')
  }
}
