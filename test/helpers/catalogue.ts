import { CATALOGUE, type Catalogue } from '../../src/domain/components.ts'
import type { Design } from '../../src/domain/model.ts'

/** The real catalogue with one service-like type more: what adding a type to the product takes. */
export const WITH_SEARCH_INDEX: Catalogue = Object.freeze({
  ...CATALOGUE,
  search_index: {
    label: 'Search index',
    icon: 'service',
    summary: 'a full-text index a service queries',
    traits: [],
    routing: 'calls',
    availability: 0.9995,
    costPerMonth: 120,
    defaults: { instances: 2, concurrency: 16, serviceTimeMs: 12 }
  }
})

/** users → api → search (a search index, or whatever type is given). */
export const searchDesign = (type = 'search_index'): Design => ({
  components: [
    { id: 'users', type: 'client', instances: 1, concurrency: 1, serviceTimeMs: 1 },
    { id: 'api', type: 'service', instances: 2, concurrency: 8, serviceTimeMs: 10 },
    { id: 'search', type, instances: 2, concurrency: 16, serviceTimeMs: 12 }
  ],
  links: [
    { from: 'users', to: 'api' },
    { from: 'api', to: 'search', share: 0.5 }
  ]
})
