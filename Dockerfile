# One image for the web and worker processes (docker-compose.yml picks the mode; without one, the
# supervisor runs both and restarts either when it dies). tsx is a runtime dependency: production runs
# the TypeScript sources through it.
FROM node:20-bookworm-slim
# The heap is capped (--max-old-space-size, by the supervisor and in docker-compose.yml): uncapped, V8 lets garbage
# pile up to hundreds of MB under load before collecting it (docs/benchmarks.md, memory).
ENV NODE_ENV=production TZ=Asia/Shanghai
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY workflows ./workflows
COPY src ./src
COPY views ./views
COPY public ./public
COPY data ./data
# The operator's commands (npm run create-admin / backup / restore / verify-ledger).
COPY scripts/create-admin.ts scripts/backup.ts scripts/restore.ts scripts/verify-ledger.ts ./scripts/
USER node
EXPOSE 3000
CMD ["node", "--import", "tsx", "src/supervisor.ts"]
