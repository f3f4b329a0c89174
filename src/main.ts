/**
 * Process entry: `tsx src/main.ts [web|worker|all]`. Validates configuration, connects, builds
 * indexes, serves and/or works, and shuts down cleanly on SIGTERM/SIGINT.
 */
import type { Server } from "node:http";
import { systemClock } from "./clock.ts";
import { loadConfig } from "./config.ts";
import { connectDb, disconnectDb, ensureIndexes, runMigrations } from "./db/connection.ts";
import { CaseService } from "./cases/service.ts";
import { createApp } from "./http/app.ts";
import { backfillSeverity } from "./notices/issuer.ts";
import { Redis } from "ioredis";
import { seedDemoLedger, seedDirectory } from "./seed.ts";
import { log } from "./log.ts";
import { startWorker, type RunningWorker } from "./worker.ts";

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

await connectDb(config.MONGODB_URI);
await ensureIndexes();
await runMigrations([
  ["cases.deadlineSort", () => new CaseService(systemClock).backfillSortKeys()],
  ["notices.severity", backfillSeverity],
]);
if (config.DEMO_SEED) {
  const units = await seedDirectory(config.DEMO_PASSWORD);
  const n = await seedDemoLedger(units);
  if (n) log.info(`seeded a demo ledger of ${n} cases`);
}

let worker: RunningWorker | null = null;
if (mode !== "web") {
  try {
    worker = await startWorker(config, systemClock);
    log.info("Rectiflow workers started (notice sweep every minute, deliveries)");
  } catch (e) {
    console.error(`The worker cannot start: ${(e as Error).message}`);
    process.exit(1);
  }
}

let server: Server | null = null;
if (mode !== "worker") {
  // Login limits live in Redis; a command fails after one retry rather than hanging while Redis is down.
  const redis = config.REDIS_URL ? new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1 }) : null;
  server = createApp({ config, clock: systemClock, service: new CaseService(systemClock), redis, queues: worker ? [worker.deliveryQueue, worker.sweepQueue] : [] }).listen(config.PORT, () => {
    log.info(`Rectiflow web on http://localhost:${config.PORT}/`);
  });
}

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, "shutting down");
  if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
  await worker?.close();
  await disconnectDb();
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
