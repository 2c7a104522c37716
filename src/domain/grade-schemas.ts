// A grade and its items, and a suggestion's change as data (issue 38): the design patch it
// proposes and what applying it did. Declared once, like every shape in ./schemas.ts.
import { type Static, Type } from 'typebox'
import { TrafficClasses } from './components.ts'
import { ComponentSchema, LinkSchema, Nullable, OneOf, strict } from './schemas.ts'

const N = Type.Number()
/** A field stored results made before it lack: absent there, always present in new ones. */
const SINCE = '(absent on runs made before it)'

export const PATCHABLE_FIELDS = ['instances', 'concurrency', 'serviceTimeMs', 'hitRatio', 'replicas'] as const

export const PatchOpSchema = Type.Union([
  Type.Object(
    {
      op: Type.Literal('set'),
      component: Type.String(),
      field: OneOf(PATCHABLE_FIELDS),
      value: N
    },
    { ...strict, description: 'set a numeric field of a component' }
  ),
  Type.Object(
    { op: Type.Literal('add_component'), component: ComponentSchema },
    { ...strict, description: 'add a component' }
  ),
  Type.Object({ op: Type.Literal('add_link'), link: LinkSchema }, { ...strict, description: 'add a link' }),
  Type.Object(
    {
      op: Type.Literal('set_link_traffic'),
      from: Type.String(),
      to: Type.String(),
      traffic: OneOf(TrafficClasses)
    },
    { ...strict, description: 'the first link from `from` to `to` carries this class of requests from now on' }
  ),
  Type.Object(
    { op: Type.Literal('remove_link'), from: Type.String(), to: Type.String() },
    { ...strict, description: 'remove the first link from `from` to `to`' }
  )
])

export const DesignPatchSchema = Type.Array(PatchOpSchema, {
  minItems: 1,
  maxItems: 200,
  description: 'changes applied in order to the design the run simulated'
})

const Change = (description: string) =>
  Type.Object({ before: Nullable(N), after: Nullable(N) }, { ...strict, description })

export const EffectSchema = Type.Object(
  {
    item: Change('the item’s points'),
    score: Change('the rubric’s total (0–100)'),
    p95Ms: Change('p95 at peak (null: unbounded)'),
    errorRate: Change('share of requests lost at peak'),
    costPerMonth: Change('the design’s monthly cost'),
    checksKept: Type.Boolean({ description: 'no acceptance check that passed fails (true when there are none)' })
  },
  { ...strict, description: 'what the model computed for the design with the patch applied, at the same seed' }
)

export const GradeItemSchema = Type.Object(
  {
    id: Type.String(),
    title: Type.String(),
    maxPoints: Type.Integer(),
    points: Type.Integer(),
    passed: Type.Boolean({ description: 'full marks' }),
    finding: Type.String(),
    suggestion: Type.String(),
    components: Type.Optional(
      Type.Array(Type.String(), { description: `the components the item is about, may be empty ${SINCE}` })
    ),
    patch: Type.Optional({
      ...DesignPatchSchema,
      description: 'the suggestion’s change as a design patch, shown only when the model verified it helps'
    }),
    effect: Type.Optional(EffectSchema)
  },
  strict
)

export const GradeSchema = Type.Object({ score: Type.Integer(), items: Type.Array(GradeItemSchema) }, strict)

export type PatchOp = Static<typeof PatchOpSchema>
export type DesignPatch = PatchOp[]
export type Effect = Static<typeof EffectSchema>
/** T with the fields K, optional in what is stored, present. */
type Made<T, K extends keyof T> = Omit<T, K> & Required<Pick<T, K>>
export type GradeItem = Made<Static<typeof GradeItemSchema>, 'components'>
export type Grade = Omit<Static<typeof GradeSchema>, 'items'> & { items: GradeItem[] }
