import type { Design } from './model.ts'

/** A three-tier design: users → load balancer → api → cache → database (with a replica). */
export const SAMPLE_DESIGN: Design = {
  components: [
    { id: 'users', type: 'client', instances: 1, concurrency: 1, serviceTimeMs: 1 },
    { id: 'lb', type: 'load_balancer', instances: 2, concurrency: 500, serviceTimeMs: 0.5 },
    { id: 'api', type: 'service', instances: 3, concurrency: 8, serviceTimeMs: 20 },
    { id: 'cache', type: 'cache', instances: 2, concurrency: 50, serviceTimeMs: 1, hitRatio: 0.8 },
    { id: 'db', type: 'database', instances: 1, concurrency: 10, serviceTimeMs: 8, replicas: 1 }
  ],
  links: [
    { from: 'users', to: 'lb', share: 1 },
    { from: 'lb', to: 'api', share: 1 },
    { from: 'api', to: 'cache', share: 1, traffic: 'read' },
    { from: 'cache', to: 'db', share: 1, traffic: 'read' },
    { from: 'api', to: 'db', share: 1, traffic: 'write' }
  ]
}
