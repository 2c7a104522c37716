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

const IPV4_MAPPED = new BlockList()
IPV4_MAPPED.addSubnet('::ffff:0:0', 96, 'ipv6')

/**
 * Whether a range covers more than /8 of IPv4 or /32 of IPv6, judged by the family it really
 * covers: IPv4 written as IPv6 (`::ffff:a.b.c.d/n`) is an IPv4 range of n − 96 bits, and an IPv6
 * range that holds ::ffff:0:0/96 holds all of IPv4 (a matcher checks IPv4 clients against it).
 */
export function coversTooMuch(entry: string): boolean {
  const [address, bitsText] = entry.split('/')
  const v6 = isIPv6(address)
  const bits = bitsText === undefined ? (v6 ? 128 : 32) : Number(bitsText)
  if (!v6) return bits < 8
  if (bits > 96) return IPV4_MAPPED.check(address, 'ipv6') && bits - 96 < 8
  const range = new BlockList()
  range.addSubnet(address, bits, 'ipv6')
  return bits < 32 || (range.check('::ffff:0.0.0.0', 'ipv6') && range.check('::ffff:255.255.255.255', 'ipv6'))
}
