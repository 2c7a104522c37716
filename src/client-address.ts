import { isIPv6 } from 'node:net'

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
