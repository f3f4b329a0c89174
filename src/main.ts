/**
 * Process entry: `tsx src/main.ts [web|worker|all]`. Validates configuration, connects, builds
 * indexes, serves and/or works, and on SIGTERM/SIGINT drains: the web stops accepting and answers the
 * requests in flight, the workers finish their jobs, each within SHUTDOWN_TIMEOUT_MS. Started by the
 * supervisor (src/supervisor.ts, `npm start`), it says when it is ready, and drains when the supervisor is gone.
 */
import type { Server } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { systemClock } from "./clock.ts";
import { loadConfig } from "./config.ts";
import { connectDb, disconnectDb, ensureIndexes, runMigrations } from "./db/connection.ts";
import { rebuildCounts } from "./cases/counts.ts";
import { backfillGrams, backfillSortKeys, backfillStateSince, backfillUnitIds } from "./cases/backfill.ts";
import { CaseService } from "./cases/service.ts";
import { createApp } from "./http/app.ts";
import { answerClientErrors } from "./http/guards.ts";
import { backfillSeverity, rescoreHandNotices } from "./notices/backfill.ts";
import { ensureDemoKey, ledgerKeys } from "./ledger/keys.ts";
import { sequence } from "./ledger/log.ts";
import { rewordTexts } from "./notices/texts.ts";
import type { Redis } from "ioredis";
import { seedDemoLedger, seedDirectory } from "./seed.ts";
import { log } from "./log.ts";
import { startWorker, type RunningWorker } from "./worker.ts";
import { drainable, type Drainable } from "./http/drain.ts";
import { processRegistry, serveMetrics } from "./metrics.ts";
import { QUEUES, makeQueue, queueConnection } from "./queues.ts";
import type { Queue } from "bullmq";

const mode = process.argv[2] ?? "all";
if (!["web", "worker", "all"].includes(mode)) {
  console.error(`unknown mode "${mode}": use web, worker or all`);
  process.exit(2);
}

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (e) {
  console.error((e as Error).message);
  process.exit(2);
}

// The demo signs checkpoints with a throw-away key of its own (docs/ledger.md).
if (config.DEMO_SEED && config.LEDGER_KEY_FILE && !config.LEDGER_KEY) ensureDemoKey(config.LEDGER_KEY_FILE);
try {
  ledgerKeys(config);
} catch (e) {
  console.error((e as Error).message);
  process.exit(2);
}

await connectDb(config.MONGODB_URI);
await ensureIndexes();
await runMigrations([
  ["cases.deadlineSort", backfillSortKeys],
  ["cases.stateSince", backfillStateSince],
  ["cases.unitIds", backfillUnitIds],
  ["cases.grams", backfillGrams],
  ["notices.severity", backfillSeverity],
  ["notices.handPoints", rescoreHandNotices],
  // Every history entry written before the ledger tree existed gets its position.
  ["history.leaf", () => sequence(systemClock)],
  ["notices.textsReworded", rewordTexts],
  ["cases.counts", rebuildCounts],
  // The counts by category and by round.
  ["cases.counts.facets", rebuildCounts],
]);
if (config.DEMO_SEED) {
  const units = await seedDirectory(config.DEMO_PASSWORD);
  const n = await seedDemoLedger(units);
  if (n) log.info(`seeded a demo ledger of ${n} cases`);
}

// One registry per process: what the web and the workers of this process measure.
const metrics = processRegistry();
let worker: RunningWorker | null = null;
let metricsServer: Server | null = null;
if (mode !== "web") {
  try {
    worker = await startWorker(config, systemClock, { metrics });
    log.info("Rectiflow workers started (notice sweep every minute, deliveries)");
    // A worker alone has no web server to carry /metrics.
    if (mode === "worker" && config.METRICS_PORT && config.METRICS_TOKEN) {
      metricsServer = await serveMetrics(metrics, { port: config.METRICS_PORT, token: config.METRICS_TOKEN });
      log.info(`worker metrics on port ${config.METRICS_PORT}`);
    }
  } catch (e) {
    console.error(`The worker cannot start: ${(e as Error).message}`);
    process.exit(1);
  }
}

let server: Server | null = null;
let web: Drainable | null = null;
let redis: Redis | null = null;
let ownQueues: Queue[] = [];
if (mode !== "worker") {
  // Login limits live in Redis. While it is down a command fails at once (no offline queue) and the
  // limiter counts in this process instead, so sign-ins neither hang nor fail.
  redis = config.REDIS_URL ? queueConnection(config.REDIS_URL) : null;
  let redisDownSince = 0;
  redis?.on("error", (err) => {
    if (!redisDownSince) log.warn({ err: err.message }, "Redis unreachable: login limits count in this process until it is back");
    redisDownSince ||= Date.now();
  });
  redis?.on("ready", () => {
    if (redisDownSince) log.info({ downMs: Date.now() - redisDownSince }, "Redis is back");
    redisDownSince = 0;
  });
  // Limits are counted in Redis from the first request: wait for the connection (briefly; an
  // unreachable Redis leaves the limiter counting in the process) before listening.
  if (redis && redis.status !== "ready") await Promise.race([new Promise((ready) => redis!.once("ready", ready)), sleep(5000)]);
  // The 管理 queue page reads the queues: a web process without workers (the supervised or compose web)
  // reads them through the limiter's connection; the workers process them elsewhere.
  if (!worker && redis) {
    ownQueues = [makeQueue(QUEUES.delivery, redis, config.QUEUE_PREFIX), makeQueue(QUEUES.sweep, redis, config.QUEUE_PREFIX)];
    for (const q of ownQueues) q.on("error", () => {}); // Redis outages are logged once, above
  }
  const queues = worker ? [worker.deliveryQueue, worker.sweepQueue, ...(worker.checkpointQueue ? [worker.checkpointQueue] : [])] : ownQueues;
  const app = createApp({ config, clock: systemClock, service: new CaseService(systemClock), redis, queues, metrics });
  server = app.listen(config.PORT, () => {
    log.info(`Rectiflow web on http://localhost:${config.PORT}/`);
  });
  // Longer than a proxy keeps idle connections (nginx: 60 s), so the proxy, not this process, closes
  // them: otherwise it may send a request on a connection closing at that moment, and cannot resend a POST.
  answerClientErrors(server);
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  web = drainable(server);
}

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  const grace = config.SHUTDOWN_TIMEOUT_MS;
  log.info({ signal, graceMs: grace }, "shutting down: draining");
  const [drained, finished] = await Promise.all([web?.drain(grace), worker?.close(grace)]);
  if (drained) log.info({ ...drained }, drained.forced ? "web: connections cut at the end of the grace period" : "web: drained");
  if (finished === false) log.warn("workers: jobs left running (another worker takes them up)");
  metricsServer?.close();
  await Promise.all(ownQueues.map((q) => q.close().catch(() => {})));
  await redis?.quit().catch(() => redis?.disconnect());
  await disconnectDb();
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
if (process.send) {
  // Under the supervisor: it starts the next process once this one serves or works, and a process
  // left behind by a supervisor that died would hold the port its replacement needs.
  process.on("disconnect", () => void shutdown("supervisor gone"));
  if (!process.connected) void shutdown("supervisor gone");
  else if (server && !server.listening) server.once("listening", () => process.send?.("ready"));
  else process.send("ready");
}
