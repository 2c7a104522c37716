// Where the focus goes when a screen opens: its heading, so a screen reader announces the new
// screen and the next Tab starts at its top (not at <body>, where a route change leaves it).
import { useEffect, useRef } from 'preact/hooks'

/** A ref for a screen's heading (give it tabindex="-1"); focused when `ready` first turns true. */
export function useHeadingFocus<T extends HTMLElement = HTMLHeadingElement>(ready = true) {
  const heading = useRef<T>(null)
  const done = useRef(false)
  useEffect(() => {
    if (!ready || done.current || !heading.current) return
    done.current = true
    heading.current.focus({ preventScroll: true })
  })
  return heading
}
