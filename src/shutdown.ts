export interface ShutdownStep {
  name: string
  run: () => Promise<void>
}

export interface ShutdownOptions {
  timeoutMs: number
  log: (msg: string) => void
  steps: ShutdownStep[]
  exit?: (code: number) => void
}

/**
 * First SIGTERM/SIGINT runs the steps in order (one log line each) and exits 0, or 1 if
 * they fail or outlast timeoutMs. A second signal exits at once.
 */
export function handleShutdownSignals({ timeoutMs, log, steps, exit = process.exit }: ShutdownOptions): void {
  let shuttingDown = false
  const onSignal = (signal: NodeJS.Signals) => {
    if (shuttingDown) {
      log(`received ${signal} again: exiting now`)
      exit(1)
      return
    }
    shuttingDown = true
    log(`received ${signal}: shutting down (timeout ${timeoutMs} ms)`)
    const timer = setTimeout(() => {
      log(`shutdown did not finish within ${timeoutMs} ms: exiting with code 1`)
      exit(1)
    }, timeoutMs)
    timer.unref()
    ;(async () => {
      for (const step of steps) {
        await step.run()
        log(`shutdown: ${step.name} done`)
      }
    })().then(
      () => {
        clearTimeout(timer)
        log('shutdown complete')
        exit(0)
      },
      (err: unknown) => {
        clearTimeout(timer)
        log(`shutdown failed: ${(err as Error).message}`)
        exit(1)
      }
    )
  }
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)
}
