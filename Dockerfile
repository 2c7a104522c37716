# One image for api, worker and cli; the command picks the process.
FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# The postinstall patches postgres.js (patch-package, patches/), so the patches come first.
COPY patches ./patches
RUN npm ci --omit=dev --no-audit --no-fund
COPY src ./src
COPY plugins ./plugins
COPY jobs ./jobs
COPY sql ./sql
# The learner's web app, bundled into web/dist at build time (the api serves it at /).
COPY web ./web
RUN node web/build.ts
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.API_PORT || 3000) + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "src/server.ts"]
