// Preloaded with --import: appends the URL of every module this process loads (ES modules and
// require()d CommonJS alike) to RECORD_LOADS_FILE.
import { appendFileSync } from 'node:fs'
import { registerHooks } from 'node:module'

const out = process.env.RECORD_LOADS_FILE
registerHooks({
  load(url, context, nextLoad) {
    appendFileSync(out, `${url}\n`)
    return nextLoad(url, context)
  }
})
