import { readdir, readFile } from 'node:fs/promises'
import t from 'tap'
import { parseAllDocuments } from 'yaml'
import { loadConfig } from '../src/config.ts'

// The Kubernetes samples in ops/k8s: each document validates against the Kubernetes API schemas
// (kubernetes-models), and their timings and probes agree with the code's defaults.

const DIR = new URL('../ops/k8s/', import.meta.url)
// Manifests are read as they are.
// biome-ignore lint/suspicious/noExplicitAny: see above
type Doc = Record<string, any>

async function manifests(): Promise<{ file: string; doc: Doc }[]> {
  const out: { file: string; doc: Doc }[] = []
  for (const file of (await readdir(DIR)).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').sort()) {
    for (const d of parseAllDocuments(await readFile(new URL(file, DIR), 'utf8'))) out.push({ file, doc: d.toJS() })
  }
  return out
}

/** The kubernetes-models class for a document's apiVersion and kind. */
async function modelOf(doc: Doc) {
  const [group, version] = doc.apiVersion.includes('/') ? doc.apiVersion.split('/') : [null, doc.apiVersion]
  const mod = await import(`kubernetes-models/${group ? `${group}/` : ''}${version}/${doc.kind}`)
  return mod[doc.kind] as new (
    d: Doc
  ) => { validate(): void }
}

t.test('every manifest validates against the Kubernetes API schemas', async (t) => {
  const docs = await manifests()
  t.ok(docs.length >= 12, `${docs.length} documents`)
  for (const { file, doc } of docs) {
    const Model = await modelOf(doc)
    t.doesNotThrow(() => new Model(doc).validate(), `${file}: ${doc.kind} ${doc.metadata.name}`)
  }
  const broken = { ...docs.find((d) => d.doc.kind === 'Deployment')?.doc, spec: { replicas: 'two' } }
  const Deployment = await modelOf(broken)
  t.throws(() => new Deployment(broken).validate(), 'a wrong field is refused (the check is not vacuous)')
  const kustomization = parseAllDocuments(await readFile(new URL('kustomization.yaml', DIR), 'utf8'))[0].toJS()
  t.same(
    [...kustomization.resources].sort(),
    [...new Set(docs.map((d) => d.file))].sort(),
    'the kustomization lists every manifest'
  )
  for (const { doc } of docs.filter((d) => d.doc.kind === 'Secret'))
    for (const [key, value] of Object.entries(doc.stringData as Record<string, string>))
      t.ok(value.includes('CHANGE-ME') || key === 'REDIS_URL', `secret.example.yaml: ${key} is a placeholder`)
})

t.test('timings and probes agree with the code', async (t) => {
  const docs = await manifests()
  const byName = (kind: string, name: string) => {
    const found = docs.find((d) => d.doc.kind === kind && d.doc.metadata.name === name)
    if (!found) throw new Error(`no ${kind} ${name}`)
    return found
  }
  const configMap = byName('ConfigMap', 'sdc-config').doc.data as Record<string, string>
  const secret = byName('Secret', 'sdc-secrets').doc.stringData as Record<string, string>
  const { config } = loadConfig({ ...configMap, ...secret })
  const { SHUTDOWN_DRAIN_MS: _d, SHUTDOWN_TIMEOUT_MS: _t, API_PORT: _p, ...withoutTimings } = configMap
  const defaults = loadConfig({ ...withoutTimings, ...secret }).config
  t.equal(config.shutdownDrainMs, defaults.shutdownDrainMs, 'configmap.yaml: SHUTDOWN_DRAIN_MS is the code default')
  t.equal(
    config.shutdownTimeoutMs,
    defaults.shutdownTimeoutMs,
    'configmap.yaml: SHUTDOWN_TIMEOUT_MS is the code default'
  )
  t.equal(config.apiPort, defaults.apiPort, 'configmap.yaml: API_PORT is the code default')

  const api = byName('Deployment', 'sdc-api')
  const pod = api.doc.spec.template.spec
  const container = pod.containers[0]
  const preStopMs = Number(container.lifecycle.preStop.exec.command[1]) * 1000
  t.ok(preStopMs >= config.shutdownDrainMs, `${api.file}: the preStop pause (${preStopMs} ms) covers SHUTDOWN_DRAIN_MS`)
  t.ok(
    pod.terminationGracePeriodSeconds * 1000 > preStopMs + config.shutdownTimeoutMs,
    `${api.file}: terminationGracePeriodSeconds outlasts the preStop pause plus SHUTDOWN_TIMEOUT_MS`
  )
  t.equal(container.ports[0].containerPort, config.apiPort, `${api.file}: the container port is API_PORT`)
  t.equal(container.readinessProbe.httpGet.path, '/health/ready', `${api.file}: readiness on /health/ready`)
  t.equal(container.livenessProbe.httpGet.path, '/health/live', `${api.file}: liveness on /health/live`)
  t.ok(container.startupProbe, `${api.file}: a startup probe`)
  const worker = byName('Deployment', 'sdc-worker')
  t.ok(
    worker.doc.spec.template.spec.terminationGracePeriodSeconds * 1000 > config.shutdownTimeoutMs,
    `${worker.file}: terminationGracePeriodSeconds outlasts SHUTDOWN_TIMEOUT_MS`
  )
  for (const d of [api, worker, byName('Job', 'sdc-migrate')]) {
    const spec = d.doc.spec.template.spec
    t.equal(spec.securityContext.runAsNonRoot, true, `${d.file}: non-root`)
    for (const c of spec.containers) {
      t.equal(c.securityContext.readOnlyRootFilesystem, true, `${d.file}: read-only root filesystem`)
      t.ok(c.resources.requests && c.resources.limits, `${d.file}: resource requests and limits`)
    }
  }
})
