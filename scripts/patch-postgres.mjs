// postinstall: fixes postgres.js 3.4.9 bugs that give a query the wrong answer after a
// connection reset or run queries inside another caller's transaction under load, and lets a
// pipeline leave in one write (first edit below). Plain JavaScript on purpose: it runs under
// whatever Node npm runs.
//
// The reset bug: a query written to a socket that then dies can outlive it: the connection reconnects with the
// query still marked in flight, and the new session's start-up ReadyForQuery resolves it with an
// empty result (an existing workspace answered 404), or it waits for an answer that never comes.
// Pending writes buffered for the dead socket also survived the close, and a query sent after the
// socket errored but before it closed was never failed (fifth edit). Found by the reliability
// suite's network scenario (reliability/scenarios/network.ts); upstream: porsager/postgres#1130
// and #1142 describe the stale `query` half.
// The transaction bug (last two edits, found by the fuzz scenario): see their comments.
// Each edit is applied once (an edit already there is skipped); if the library changed so that
// an edit no longer matches, installation fails loudly instead of running unpatched.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { EDITS, MARK } from './postgres-edits.mjs'

const root = fileURLToPath(new URL('../node_modules/postgres/', import.meta.url))
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
if (version !== '3.4.9') {
  throw new Error(`scripts/patch-postgres.mjs was written for postgres 3.4.9, found ${version}: re-check the fix`)
}
for (const file of ['src/connection.js', 'cjs/src/connection.js']) {
  const path = join(root, file)
  let text = readFileSync(path, 'utf8')
  // Edit by edit, so an install patched by an earlier version of this script gets the new ones.
  for (const edit of EDITS) {
    if (text.includes(edit.to)) continue
    if (text.split(edit.from).length !== 2) throw new Error(`${file}: cannot apply "${edit.why}"`)
    text = text.replace(edit.from, edit.to)
  }
  if (!text.includes(MARK)) text = `${text}\n${MARK}\n`
  writeFileSync(path, text)
}
