// The edits scripts/patch-postgres.mjs makes to postgres.js 3.4.9 (its header says why), shared
// with src/db/client.ts, which refuses to run an unpatched driver in production. Plain JavaScript:
// the postinstall runs under whatever Node npm runs.

export const MARK = '/* sdc-patched */'
export const EDITS = [
  {
    // postgres.js gathers the queries of one tick into one socket write, but flushed as soon as
    // 1 KiB was waiting, so a transaction's pipelined statements (a design snapshot is a few KiB)
    // left in several writes, each one waking the server (socket writes to the database were the
    // api's largest cost in a CPU profile of the enqueue route). Up to 64 KiB now goes out as one
    // write at the end of the tick (bench: enqueue with its job 0.68 → 0.73 of the same route
    // without it).
    why: 'the queries of one tick leave in one write up to 64 KiB',
    from: '    if (fn || chunk.length >= 1024)\n',
    to: '    if (fn || chunk.length >= 65536)\n'
  },
  {
    why: 'a query rejected by a connection error is no longer the one in flight',
    from: '    query && queryError(query, err)\n    initial && (queryError(initial, err), initial = null)',
    to: '    query && (queryError(query, err), query = null)\n    initial && (queryError(initial, err), initial = null)'
  },
  {
    why: 'bytes buffered for a closed socket are dropped, and the next write is flushed',
    from: '    incomings = null\n    clearImmediate(nextWriteTimer)\n',
    to: '    incomings = null\n    clearImmediate(nextWriteTimer)\n    nextWriteTimer = chunk = null\n'
  },
  {
    why: 'queries still in flight from a dead socket fail instead of taking the new session’s answers',
    from: '  function connected() {\n    try {\n',
    to:
      '  function connected() {\n' +
      '    if (query || sent.length) {\n' +
      "      const lost = Errors.connection('CONNECTION_CLOSED', options, socket)\n" +
      '      query && queryError(query, lost)\n' +
      '      while (sent.length) queryError(sent.shift(), lost)\n' +
      '      query = null\n' +
      '    }\n' +
      '    try {\n'
  },
  {
    // A query issued between a socket's 'error' and its 'close' (in the catch of the query the
    // error rejected) went to the same connection, which was still in the busy queue; the close
    // then failed in-flight queries only when it had no error, so that query waited forever.
    why: 'queries still in flight when the socket closes fail, whether or not the close had an error',
    from: "    !hadError && (query || sent.length) && error(Errors.connection('CONNECTION_CLOSED', options, socket))\n",
    to: "    if (query || sent.length) error(Errors.connection('CONNECTION_CLOSED', options, socket))\n"
  },
  {
    // sql.begin() reserves its connection in the BEGIN's onexecute hook, which was the last term
    // of the "may more be pipelined here" chain: a BEGIN that filled a busy connection's pipeline
    // (or met a full socket buffer) ran on the server unreserved. The transaction failed with
    // UNSAFE_TRANSACTION (a 500: the fuzzer's rare register failure) and the connection went back
    // to the pool inside the open transaction, so the queries that followed on it never committed.
    // Upstream: porsager/postgres#823, #1189 (fixes proposed in #1207, #1218).
    why: 'a written BEGIN always reserves its connection, and nothing more is pipelined onto it',
    from:
      '      return write(toBuffer(q))\n' +
      '        && !q.describeFirst\n' +
      '        && !q.cursorFn\n' +
      '        && sent.length < max_pipeline\n' +
      '        && (!q.options.onexecute || q.options.onexecute(connection))\n',
    to:
      '      const more = write(toBuffer(q))\n' +
      '        && !q.describeFirst\n' +
      '        && !q.cursorFn\n' +
      '        && sent.length < max_pipeline\n' +
      '      return q.options.onexecute ? (q.options.onexecute(connection), false) : more\n'
  },
  {
    // The socket's 'drain' put an idle connection back in the pool, a reserved one too: between
    // two statements of a transaction, after a write large enough to fill the socket buffer.
    why: 'a reserved connection stays reserved when its socket drains',
    from: '  function drain() {\n    !query && onopen(connection)\n',
    to: '  function drain() {\n    !query && !connection.reserved && onopen(connection)\n'
  }
]

/** The edits a connection.js text lacks (empty when it is fully patched). */
export function missingEdits(text) {
  return EDITS.filter((edit) => !text.includes(edit.to)).map((edit) => edit.why)
}
