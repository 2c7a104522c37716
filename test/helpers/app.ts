import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import { JOBS } from '../../jobs/registry.ts'
import { type BuildOptions, buildApp } from '../../src/app.ts'
import { type Config, loadConfig } from '../../src/config.ts'
import { TEST_JWT_SECRET } from './process.ts'

export function testConfig(env: Record<string, string> = {}): Config {
  // Every test file signs up its users from 127.0.0.1: the daily cap is what its own test sets.
  return loadConfig({
    NODE_ENV: 'test',
    JWT_SECRET: TEST_JWT_SECRET,
    QUOTA_SIGNUPS_PER_CLIENT_PER_DAY: '100000',
    ...env
  }).config
}

/** Collects JSON log lines written by the app. */
export class LogCapture extends Writable {
  lines: Record<string, unknown>[] = []
  raw: string[] = []
  _write(chunk: Buffer, _enc: string, done: () => void) {
    for (const line of chunk.toString().split('\n').filter(Boolean)) {
      this.raw.push(line)
      this.lines.push(JSON.parse(line))
    }
    done()
  }
}

export interface TestApp {
  app: FastifyInstance
  logs: LogCapture
}

/** Builds (not listens) the app on the given database; closed at teardown. */
export async function buildTestApp(
  t: Test,
  databaseUrl: string,
  env: Record<string, string> = {},
  beforeReady?: (app: FastifyInstance) => void | Promise<void>,
  options: Omit<BuildOptions, 'databaseUrl' | 'logStream' | 'queues'> = {}
): Promise<TestApp> {
  const logs = new LogCapture()
  const config = testConfig({ LOG_LEVEL: 'info', ...env })
  const app = await buildApp(config, { ...options, databaseUrl, logStream: logs, queues: JOBS })
  await beforeReady?.(app)
  await app.ready()
  t.teardown(() => app.close())
  return { app, logs }
}
