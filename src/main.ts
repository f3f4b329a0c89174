/**
 * Process entry: `tsx src/main.ts [web|all]`. Validates configuration, connects, builds indexes,
 * serves, and shuts down cleanly on SIGTERM/SIGINT.
 */
import type { Server } from "node:http";
import { loadConfig } from "./config.ts";
import { connectDb, disconnectDb, ensureIndexes } from "./db/connection.ts";
import { createApp } from "./http/app.ts";
import { log } from "./log.ts";

const mode = process.argv[2] ?? "all";
if (!["web", "all"].includes(mode)) {
  console.error(`unknown mode "${mode}": use web or all`);
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

const server: Server = createApp().listen(config.PORT, () => {
  log.info(`Rectiflow web on http://localhost:${config.PORT}/`);
});

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, "shutting down");
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await disconnectDb();
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
