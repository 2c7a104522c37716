import t from 'tap'
import { clientKey } from '../src/client-address.ts'

t.test('an IPv6 client is keyed by its /64, an IPv4 client by its address', async (t) => {
  t.equal(clientKey('203.0.113.7'), '203.0.113.7')
  t.equal(clientKey('::ffff:203.0.113.7'), '203.0.113.7', 'a mapped IPv4 address is that address')
  t.equal(clientKey('2001:db8:1:2::1'), '2001:db8:1:2::/64')
  t.equal(clientKey('2001:0DB8:0001:0002:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64', 'case and zeros normalised')
  t.equal(clientKey('2001:db8::1'), '2001:db8:0:0::/64', 'a :: inside the prefix')
  t.equal(clientKey('::1'), '0:0:0:0::/64')
  t.not(clientKey('2001:db8:1:3::1'), clientKey('2001:db8:1:2::1'), 'the next /64 is another client')
})
