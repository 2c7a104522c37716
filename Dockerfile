# One image for api, worker and cli; the command picks the process.
FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY src ./src
COPY plugins ./plugins
COPY jobs ./jobs
COPY sql ./sql
USER node
EXPOSE 3000
CMD ["node", "src/server.ts"]
