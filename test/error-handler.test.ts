import { Writable } from 'node:stream'
import Fastify from 'fastify'
import pino from 'pino'
import t from 'tap'
import { errorHandler } from '../src/error-handler.ts'
import { PreviewBusy, ServiceUnavailable } from '../src/errors.ts'

// What an operator's log shows of a 5xx: a failure at error level, load shed on purpose (every
// preview thread busy: counted and alerted on) at warn, so error lines keep meaning a fault.
t.test('a preview shed for load is logged as a warning, a failure as an error', async (t) => {
  const lines: { level: number; msg: string; code?: string }[] = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)))
      done()
    }
  })
  const app = Fastify({ loggerInstance: pino({ level: 'info' }, stream) })
  app.setErrorHandler(errorHandler)
  app.get('/shed', async () => {
    throw PreviewBusy()
  })
  app.get('/down', async () => {
    throw new ServiceUnavailable('The database is unavailable')
  })
  t.teardown(() => app.close())

  const shed = await app.inject({ url: '/shed' })
  t.equal(shed.statusCode, 503)
  t.equal(shed.headers['retry-after'], '1', 'the client is told when to retry')
  t.equal(shed.json().code, 'APP_ERR_PREVIEW_BUSY')
  const down = await app.inject({ url: '/down' })
  t.equal(down.statusCode, 503)

  t.match(
    lines.filter((l) => l.msg === 'request shed'),
    [{ level: 40, code: 'APP_ERR_PREVIEW_BUSY' }],
    'the shed preview: one warning'
  )
  t.equal(lines.filter((l) => l.msg === 'request failed').length, 1, 'the failure: one error line')
  t.match(
    lines.find((l) => l.msg === 'request failed'),
    { level: 50 },
    'at error level'
  )
})
