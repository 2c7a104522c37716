// The catalogue's icons (src/domain/components.ts names them), on a 24 × 24 grid, drawn as strokes.

const ICONS: Readonly<Record<string, string>> = Object.freeze({
  client: 'M3 5h18v11H3z M8 20h8 M12 16v4',
  cdn: 'M12 3a9 9 0 1 0 0.01 0z M3 12h18 M12 3c3 3 3 15 0 18 M12 3c-3 3-3 15 0 18',
  load_balancer: 'M4 12h6 M10 12l9-7 M10 12h9 M10 12l9 7',
  service: 'M5 4h14v16H5z M8 8h8 M8 12h8 M8 16h5',
  cache: 'M13 2L5 14h6l-1 8 8-12h-6z',
  database: 'M5 6c0-4 14-4 14 0v12c0 4-14 4-14 0z M5 6c0 4 14 4 14 0 M5 12c0 4 14 4 14 0',
  queue: 'M3 8h18 M3 12h18 M3 16h18 M17 5l4 3-4 3',
  worker: 'M12 8a4 4 0 1 0 0.01 0z M12 2v3 M12 19v3 M2 12h3 M19 12h3 M5 5l2 2 M17 17l2 2 M5 19l2-2 M17 7l2-2',
  object_storage: 'M4 7h16l-2 13H6z M3 4h18v3H3z',
  external: 'M7 18a5 5 0 0 1 0-10 6 6 0 0 1 11 1 4 4 0 0 1-1 9z'
})

/** The path of an icon by name; an unknown name draws as a service. */
export const iconPath = (name: string | undefined): string =>
  name !== undefined && Object.hasOwn(ICONS, name) ? ICONS[name] : ICONS.service
