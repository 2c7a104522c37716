/** A share link's token is a secret: what reports a path keeps `:token` in its place. */
const SHARE_TOKEN = /^(\/shares?\/|\/shared\/)[^/]+/

/** A request's path without its query string or a share link's token (what telemetry, audit rows and 404s report). */
export function pathOf(url: string): string {
  const query = url.indexOf('?')
  const path = query < 0 ? url : url.slice(0, query)
  return path.replace(SHARE_TOKEN, '$1:token')
}
