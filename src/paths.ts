/** A request's path without its query string (what telemetry, audit rows and 404s report). */
export function pathOf(url: string): string {
  const query = url.indexOf('?')
  return query < 0 ? url : url.slice(0, query)
}
