// Who may import whom (`npm run lint` fails on a wrong import and names the rule).
//
//   core      src/{config,errors,logging,ids,paths,client-address,shutdown,schemas}.ts,
//             src/{db,domain,queue,audit,accounts,runs,exports,workspaces,engine,exercises}/: imports nothing above it
//   plugins/  Fastify plugins: the core only
//   jobs/     job handlers and the worker: the core only (never Fastify, plugins or routes)
//   routes    src/routes/: the core (the queue's enqueue API included), never jobs/ or the wiring
//   wiring    src/app.ts, src/error-handler.ts and the entry points (server, dev, cli, demo, docs)
//   web/      the learner's app (bundled for the browser): web/ itself and the domain's pure modules
//             (types, schemas, catalogue, figures); never plugins, jobs, routes, db or the wiring
//   test/helpers/  the tests' shared harness: reliability/ and bench/ may import it, never the reverse
const CORE =
  '^src/((config|errors|logging|ids|paths|client-address|shutdown|schemas)[.]ts$|(db|domain|queue|audit|accounts|runs|exports|workspaces|engine|exercises)/)'
const WIRING = '^src/(app|error-handler|server|dev|cli|demo|docs)[.]ts$'
/** What the web app may import outside web/: the domain's modules that hold data, shapes and figures. */
const WEB_MAY_IMPORT =
  '^(web/|src/domain/(components|schemas|design-schemas|grade-schemas|explain-schemas|exercise-schemas|patch|design-change|resources|model|format|layout|classes|zones)[.]ts$)|(^|/)node_modules/'

module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'An import cycle: split the module both sides need.',
      from: {},
      to: { circular: true }
    },
    {
      name: 'core-imports-only-core',
      severity: 'error',
      comment:
        'The core (config, errors, db, domain, queue, audit, accounts, runs, exports, workspaces …) must not import plugins, jobs, routes or the wiring.',
      from: { path: CORE },
      to: { path: ['^plugins/', '^jobs/', '^src/routes/', WIRING] }
    },
    {
      name: 'plugins-import-only-core',
      severity: 'error',
      comment: 'A plugin may import the core only: pass it what it needs from the registry or routes as options.',
      from: { path: '^plugins/' },
      to: { path: ['^jobs/', '^src/routes/', WIRING] }
    },
    {
      name: 'jobs-import-only-core',
      severity: 'error',
      comment: 'Job code runs in the worker, which never loads Fastify: no plugins, routes or app wiring.',
      from: { path: '^jobs/' },
      to: { path: ['^plugins/', '^src/routes/', WIRING, '^node_modules/(fastify|@fastify)/'] }
    },
    {
      name: 'routes-do-not-import-jobs',
      severity: 'error',
      comment: 'Routes enqueue through src/queue/enqueue.ts; the handlers are the worker’s.',
      from: { path: '^src/routes/' },
      to: { path: ['^jobs/', WIRING] }
    },
    {
      name: 'web-imports-only-web-and-domain-shapes',
      severity: 'error',
      comment:
        'The web app is bundled for the browser: it may import web/ and the domain’s types, schemas, catalogue and figures (src/domain/{components,schemas,design-schemas,grade-schemas,explain-schemas,exercise-schemas,patch,design-change,resources,model,format,layout,classes,zones}.ts), never plugins, jobs, routes, db or the wiring.',
      from: { path: '^web/src/' },
      to: { pathNot: WEB_MAY_IMPORT }
    },
    {
      name: 'nothing-imports-the-web-app',
      severity: 'error',
      comment: 'The server serves the built app (web/dist) and builds it with web/build.ts; nothing imports web/src.',
      from: { path: '^(src|plugins|jobs)/' },
      to: { path: '^web/src/' }
    },
    {
      name: 'test-helpers-import-no-scenario-or-benchmark',
      severity: 'error',
      comment: 'test/helpers/ is the shared harness that reliability/ and bench/ import: it never imports them back.',
      from: { path: '^test/helpers/' },
      to: { path: ['^reliability/', '^bench/'] }
    },
    {
      name: 'app-is-wired-by-entry-points',
      severity: 'error',
      comment: 'src/app.ts is imported by the entry points only.',
      from: {
        path: '^(plugins|jobs)/|^src/(routes|db|domain|queue|audit|accounts|runs|exports|workspaces|engine|exercises)/'
      },
      to: { path: '^src/app[.]ts$' }
    }
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'] }
  }
}
