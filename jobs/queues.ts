import type { Queue } from 'pg-boss'
import * as maintenance from './maintenance.ts'

export interface QueueDefinition {
  name: string
  options: Omit<Queue, 'name'>
}

/** Every queue this app uses; the api creates them all so a send never hits a missing queue. */
export const QUEUES: readonly QueueDefinition[] = [maintenance.queue]
