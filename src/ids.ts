import { getRandomValues } from 'node:crypto'

// UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits. Ids made close in time
// sort together, so a b-tree on them (request ids in audit and telemetry, run and job ids) grows
// at its right edge instead of touching a random page per insert (fewer pages dirtied, less WAL
// per row). They stay unguessable; they reveal only when they were made.
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))
const POOL = new Uint8Array(10 * 256)
let offset = POOL.length

export function uuidv7(now = Date.now()): string {
  if (offset === POOL.length) {
    getRandomValues(POOL)
    offset = 0
  }
  const r = offset
  offset += 10
  const high = Math.floor(now / 0x100000000)
  return (
    HEX[(high >>> 8) & 0xff] +
    HEX[high & 0xff] +
    HEX[(now >>> 24) & 0xff] +
    HEX[(now >>> 16) & 0xff] +
    '-' +
    HEX[(now >>> 8) & 0xff] +
    HEX[now & 0xff] +
    '-' +
    HEX[0x70 | (POOL[r] & 0x0f)] +
    HEX[POOL[r + 1]] +
    '-' +
    HEX[0x80 | (POOL[r + 2] & 0x3f)] +
    HEX[POOL[r + 3]] +
    '-' +
    HEX[POOL[r + 4]] +
    HEX[POOL[r + 5]] +
    HEX[POOL[r + 6]] +
    HEX[POOL[r + 7]] +
    HEX[POOL[r + 8]] +
    HEX[POOL[r + 9]]
  )
}

/** The creation time a UUIDv7 carries (Unix milliseconds). */
export function uuidv7Time(id: string): number {
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16)
}
