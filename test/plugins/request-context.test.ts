import { Writable } from 'node:stream'
import pino from 'pino'
import t from 'tap'
import { lazyChildLogger } from '../../plugins/request-context.ts'

function capture(level: string) {
  const lines: Record<string, unknown>[] = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()))
      done()
    }
  })
  return { logger: pino({ level }, stream), lines }
}

t.test('the lazy request logger writes what a pino child writes, and makes a child only to write', async (t) => {
  const { logger, lines } = capture('warn')
  let children = 0
  const counted = new Proxy(logger, {
    get(target, key, receiver) {
      if (key === 'child') {
        return (...args: Parameters<typeof logger.child>) => {
          children++
          return target.child(...args)
        }
      }
      return Reflect.get(target, key, receiver)
    }
  })
  const log = lazyChildLogger(counted, { requestId: 'r-1' }, {})
  log.info({ a: 1 }, 'below the level')
  log.debug('below the level too')
  t.equal(children, 0, 'nothing written: no child made')
  t.equal(log.level, 'warn')
  t.equal((log as unknown as { isLevelEnabled(l: string): boolean }).isLevelEnabled('info'), false)
  log.warn({ b: 2 }, 'written')
  log.error('written too')
  t.equal(children, 1, 'one child, made on the first line written and reused')
  t.match(lines, [
    { level: 40, requestId: 'r-1', b: 2, msg: 'written' },
    { level: 50, requestId: 'r-1', msg: 'written too' }
  ])
  log.level = 'info'
  log.info('now enabled for this request only')
  t.match(lines[2], { level: 30, requestId: 'r-1', msg: 'now enabled for this request only' })
  t.equal(logger.level, 'warn', "the app's level is untouched")
  t.match((log.child({ step: 's' }) as unknown as pino.Logger).bindings(), { requestId: 'r-1', step: 's' })
})

t.test('a route with its own level or serializers gets a real child', async (t) => {
  const { logger, lines } = capture('warn')
  const log = lazyChildLogger(logger, { requestId: 'r-2' }, { level: 'debug' })
  log.debug('route-level debug')
  t.match(lines, [{ level: 20, requestId: 'r-2', msg: 'route-level debug' }])
})
