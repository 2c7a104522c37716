import type { RouteOptions } from 'fastify'

type HookName = 'onRequest' | 'preValidation' | 'preSerialization' | 'onResponse'

/**
 * Adds a hook to one route (from an onRoute hook), after the route's own: what only some routes
 * need runs only on them, instead of on every request as a global hook would.
 */
export function appendRouteHook<H extends HookName>(route: RouteOptions, name: H, hook: unknown): void {
  const hooks = route[name] ? [route[name]].flat() : []
  route[name] = [...hooks, hook] as RouteOptions[H]
}
