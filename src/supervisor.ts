/**
 * `npm start`: the web process and the workers (`src/main.ts web|worker`) as children of this one. A
 * child that dies (a crash, the heap limit, SIGKILL) is started again after a backoff that doubles while
 * it keeps dying (1 s up to 30 s; back to 1 s once it ran a minute), so a crash costs the requests it
 * was answering, never the service: this process, and the services scripts/with-services.sh runs
 * around it, stay up. SIGINT/SIGTERM: every child drains (SIGTERM), then this process exits.
 *   node --import tsx src/supervisor.ts [--workers N]   (default 1 worker)
 * With METRICS_PORT set, worker i serves its metrics on METRICS_PORT + i.
 */
import { type ChildProcess, fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type Config, loadConfig } from "./config.ts";
import { log as rootLog } from "./log.ts";

const MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));
/** The heap capped as package.json's web/worker and docker-compose.yml run the app (docs/operations.md, memory). */
const EXEC_ARGV = ["--max-old-space-size=192", "--import", "tsx"];
const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 30_000;
/** A child that ran this long before dying is restarted after the first delay again. */
const STEADY_MS = 60_000;

const log = rootLog.child({ process: "supervisor" });

let workers: number;
let config: Config;
try {
  const { values } = parseArgs({ options: { workers: { type: "string", default: "1" } } });
  workers = Number(values.workers);
  if (!Number.isInteger(workers) || workers < 0 || workers > 16) throw new Error("--workers must be a whole number from 0 to 16");
  config = loadConfig();
} catch (e) {
  // The children would refuse it too, again at every restart.
  console.error((e as Error).message);
  process.exit(2);
}

class Supervised {
  private child: ChildProcess | null = null;
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;
  private startedAt = 0;
  private firstReady: Promise<void>;
  private markReady!: () => void;
  stopping = false;

  constructor(
    readonly name: string,
    private readonly mode: "web" | "worker",
    private readonly env: NodeJS.ProcessEnv,
  ) {
    this.firstReady = new Promise((resolve) => (this.markReady = resolve));
  }

  /** Resolves once the first child is ready, or has died (it is being started again). */
  start(): Promise<void> {
    this.spawn();
    return this.firstReady;
  }

  private spawn(): void {
    this.timer = null;
    if (this.stopping) return;
    const child = fork(MAIN, [this.mode], { execArgv: EXEC_ARGV, env: this.env, stdio: "inherit" });
    this.child = child;
    this.startedAt = Date.now();
    log.info({ child: this.name, pid: child.pid }, `${this.name} started`);
    child.on("message", (m) => {
      if (m !== "ready") return;
      log.info({ child: this.name, pid: child.pid, readyMs: Date.now() - this.startedAt }, `${this.name} ready`);
      this.markReady();
    });
    child.once("exit", (code, signal) => this.exited(child, code, signal));
  }

  private exited(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    this.child = null;
    const upMs = Date.now() - this.startedAt;
    if (this.stopping) {
      log.info({ child: this.name, pid: child.pid, code, signal }, `${this.name} stopped`);
      return;
    }
    this.failures = upMs >= STEADY_MS ? 1 : this.failures + 1;
    const delay = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** (this.failures - 1));
    log.error({ child: this.name, pid: child.pid, code, signal, upMs, restartInMs: delay }, `${this.name} died (${signal ?? `exit ${code}`}): starting it again in ${delay / 1000} s`);
    this.markReady();
    this.timer = setTimeout(() => this.spawn(), delay);
  }

  /** SIGTERM (the child drains); SIGKILL if it is still there after the grace period and a margin. */
  async stop(graceMs: number): Promise<number | null> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return 0;
    const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
    child.kill("SIGTERM");
    const kill = setTimeout(() => child.kill("SIGKILL"), graceMs + 5000);
    const [code] = await exited;
    clearTimeout(kill);
    return code;
  }
}

// A web process started again keeps everyone signed in: without a configured secret, its children share
// one made here (sessions then end only when the supervisor itself restarts).
if (!process.env.SESSION_SECRET) process.env.SESSION_SECRET = randomBytes(32).toString("hex");
// The web process first: with DEMO_SEED it seeds the demo ledger, which the workers then find done.
const web = new Supervised("web", "web", process.env);
const children = [web];
for (let i = 0; i < workers; i++) {
  const env: NodeJS.ProcessEnv = { ...process.env, DEMO_SEED: "0" };
  if (config.METRICS_PORT) env.METRICS_PORT = String(config.METRICS_PORT + i);
  children.push(new Supervised(workers > 1 ? `worker ${i + 1}` : "worker", "worker", env));
}

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, "stopping: every process drains");
  const codes = await Promise.all(children.map((c) => c.stop(config.SHUTDOWN_TIMEOUT_MS)));
  process.exit(codes.every((c) => c === 0) ? 0 : 1);
}
process.on("SIGTERM", () => void stop("SIGTERM"));
process.on("SIGINT", () => void stop("SIGINT"));

log.info({ workers }, `supervising the web process and ${workers} worker${workers === 1 ? "" : "s"}`);
await web.start();
// One after another: each builds the indexes at start.
for (const c of children.slice(1)) if (!stopping) await c.start();
