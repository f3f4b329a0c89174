/**
 * `npm run bench [-- --quick] [--schedules N] [--events N] [--notices N] [--rows N] [--http-seconds N] [--http-cases N,N] [--rounds N] [--only 1,3,8]`
 * (8: delivery per channel against the fakes; 9: hostile input, its own web process)
 * Starts nothing itself: `npm run bench` runs it under scripts/with-services.sh, like the tests.
 * Works in its own database (`<db>_bench`, dropped first) and its own queue prefix, so it never
 * touches a ledger. Prints a table and writes bench-results.json (or --out FILE).
 */
import { writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { parseArgs } from "node:util";
import mongoose from "mongoose";
import { disconnectDb, ensureIndexes } from "../src/db/connection.ts";
import { seedRules } from "../src/notices/rules.ts";
import { AppProcess, Results, freePort, runServices, type Sizes } from "./lib.ts";
// Each bench is loaded when it runs (--only loads just those).

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    schedules: { type: "string" },
    events: { type: "string" },
    notices: { type: "string" },
    rows: { type: "string" },
    "http-seconds": { type: "string" },
    "http-cases": { type: "string" },
    rounds: { type: "string" },
    only: { type: "string" },
    out: { type: "string", default: "bench-results.json" },
  },
});
// `npm run bench --quick` (without the `--`) reaches us as npm's config variable.
const quick = values.quick! || process.env.npm_config_quick === "true";
const num = (v: string | undefined, full: number, small: number) => {
  const n = v === undefined ? (quick ? small : full) : Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`not a positive integer: ${v}`);
  return n;
};
// Full sizes are the issue's. Quick sizes keep the CI smoke run to a few minutes.
const sizes: Sizes = {
  quick,
  events: num(values.events, 1000, 100),
  schedules: num(values.schedules, 1_000_000, 20_000),
  notices: num(values.notices, 100_000, 500),
  httpSeconds: num(values["http-seconds"], 20, 2),
  httpCases: (values["http-cases"] ?? (quick ? "2000" : "10000,100000")).split(",").map((v) => num(v, 0, 0)),
  rows: num(values.rows, 10_000, 300),
  rounds: num(values.rounds, 5, 2),
};
const only = values.only ? new Set(values.only.split(",").map(Number)) : null;
const wants = (n: number) => !only || only.has(n);

const { dbUri, redisUrl, prefix } = runServices("bench");
const url = new URL(dbUri);

export interface BenchContext {
  sizes: Sizes;
  results: Results;
  dbUri: string;
  redisUrl: string;
  prefix: string;
  /** Set while benches 3–5 run: the app's web and worker processes. */
  app?: RunningApp;
}

export interface RunningApp {
  web: AppProcess;
  worker: AppProcess;
  baseUrl: string;
}

const results = new Results();
const ctx: BenchContext = { sizes, results, dbUri, redisUrl, prefix };
const started = Date.now();
console.log(`Rectiflow benchmarks${quick ? " (quick)" : ""}: ${cpus().length} cores (${cpus()[0]?.model}), ${Math.round(totalmem() / 2 ** 30)} GB, Node ${process.version}`);
console.log(`sizes: ${JSON.stringify(sizes)}; database ${url.pathname.slice(1)} on ${url.host}`);

// Command monitoring lets a bench count the database commands behind an operation.
await mongoose.connect(dbUri, { serverSelectionTimeoutMS: 10_000, monitorCommands: true });
await mongoose.connection.dropDatabase();
await ensureIndexes();
await seedRules();
const server = await mongoose.connection.db!.admin().command({ buildInfo: 1 });
results.facts.server = { version: server.version, ferretdb: server.ferretdb ?? null };

const section = (n: number, title: string) => console.log(`\n${n}. ${title}`);
try {
  if (wants(7)) {
    section(7, "Import");
    await (await import("./import.ts")).benchImport(ctx);
  }
  if (wants(8)) {
    section(8, "Delivery rate per channel under the providers' limits (local fakes)");
    await (await import("./channels.ts")).benchChannels(ctx);
  }
  if (wants(9)) {
    section(9, "Hostile input (peak RSS of a web process while it refuses them)");
    await (await import("./hostile.ts")).benchHostile(ctx);
  }
  if (wants(1) || wants(2)) {
    section(1, "Event application and machine cost");
    await (await import("./engine.ts")).benchEngine(ctx);
  }
  if (wants(3) || wants(4) || wants(5)) {
    const port = await freePort();
    const env = { MONGODB_URI: dbUri, REDIS_URL: redisUrl, QUEUE_PREFIX: prefix, PORT: String(port), DEMO_SEED: "0", SWEEP_CRON: "0 0 1 1 *", SCHEDULER_WATCHDOG_MS: "3600000" };
    const baseUrl = `http://127.0.0.1:${port}`;
    const web = await AppProcess.start("web", env, async () => (await fetch(`${baseUrl}/healthz`)).ok);
    const worker = await AppProcess.start("worker", env, async () => true);
    ctx.app = { web, worker, baseUrl };
    try {
      if (wants(3)) {
        section(3, "Overdue sweep at scale");
        await (await import("./sweep.ts")).benchSweep(ctx);
      }
      if (wants(4)) {
        section(4, "Notice pipeline");
        await (await import("./notices.ts")).benchNotices(ctx);
      }
      if (wants(5)) {
        section(5, "HTTP");
        await (await import("./http.ts")).benchHttp(ctx);
      }
    } finally {
      section(6, "Memory (peak RSS of the app's processes during 3–5)");
      const [w, k] = [await web.stop(), await worker.stop()];
      if (w !== null) results.add("6 memory", "web process peak RSS", "MB", [w]);
      if (k !== null) results.add("6 memory", "worker process peak RSS", "MB", [k]);
    }
  }
} finally {
  await disconnectDb();
}

const seconds = Math.round((Date.now() - started) / 1000);
console.log(`\n${results.table()}\n\n(${seconds} s in all)`);
writeFileSync(values.out!, `${JSON.stringify({ at: new Date().toISOString(), node: process.version, cores: cpus().length, sizes, seconds, rows: results.rows, goals: results.goals, facts: results.facts }, null, 2)}\n`);
console.log(`results written to ${values.out}`);
process.exit(0);
