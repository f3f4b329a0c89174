/**
 * Prometheus metrics. Every process has its own registry with the process's memory and event loop
 * (prom-client's defaults); a web process adds request latency (src/http/metrics.ts); a worker adds
 * what its jobs did and the gauges of the ledger and queues (the same for every worker: alert on
 * max()). A worker has no web server, so it serves its registry on METRICS_PORT (serveMetrics).
 */
import { createServer, type Server } from "node:http";
import type { Queue } from "bullmq";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Clock } from "./clock.ts";
import { casesByKindAndState } from "./cases/stats.ts";
import { NoticeDelivery, SweepState } from "./db/models.ts";
import { sameSecret } from "./http/auth.ts";
import { log } from "./log.ts";
import { CHANNELS, type Channel } from "./notices/issuer.ts";
import { dueSchedules } from "./notices/sweep.ts";

export function processRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** The deliveries an operator watches: waiting to go out, and given up on. Read by (status, channel) through its index. */
export const WATCHED_DELIVERY_STATES = ["pending", "failed"] as const;
export const deliveryCountQuery = (status: (typeof WATCHED_DELIVERY_STATES)[number], channel: Channel) => NoticeDelivery.find({ status, channel });

/**
 * Gauges read from the ledger and Redis at each scrape: cases by state, deliveries pending and failed by
 * channel, the sweep's lag, and BullMQ's jobs by queue and state. Every query is indexed or a count
 * BullMQ keeps, but cases by state, which groups the whole ledger.
 */
export function ledgerGauges(registry: Registry, opts: { clock: Clock; queues: Queue[] }): void {
  const registers = [registry];
  new Gauge({
    name: "rectiflow_cases",
    help: "Cases by kind and state",
    labelNames: ["kind", "state"],
    registers,
    async collect() {
      this.reset();
      for (const r of await casesByKindAndState()) this.set({ kind: r.kind, state: r.state }, r.n);
    },
  });
  new Gauge({
    name: "rectiflow_notice_deliveries",
    help: "Notice deliveries waiting to go out (pending) or given up after the last attempt (failed), by channel",
    labelNames: ["channel", "status"],
    registers,
    async collect() {
      const counts = await Promise.all(
        WATCHED_DELIVERY_STATES.flatMap((status) => CHANNELS.map(async (channel) => ({ status, channel, n: await deliveryCountQuery(status, channel).countDocuments() }))),
      );
      for (const { status, channel, n } of counts) this.set({ channel, status }, n);
    },
  });
  new Gauge({
    name: "rectiflow_sweep_lag_seconds",
    help: "How long the oldest due schedule has waited for the sweep (now minus the earliest case_schedules.nextAt that has come); 0 when none waits",
    registers,
    async collect() {
      const now = opts.clock.now();
      const [oldest] = await dueSchedules(now, 1).lean();
      this.set(oldest?.nextAt ? Math.max(0, (now.getTime() - oldest.nextAt.getTime()) / 1000) : 0);
    },
  });
  new Gauge({
    name: "rectiflow_sweep_last_pass_age_seconds",
    help: "Seconds since the start of the last sweep pass that completed",
    registers,
    async collect() {
      const state = await SweepState.findById("notices").lean();
      if (state) this.set((opts.clock.now().getTime() - state.lastStart.getTime()) / 1000);
    },
  });
  new Gauge({
    name: "rectiflow_queue_jobs",
    help: "BullMQ jobs by queue and state (failed: kept for a week after the last attempt)",
    labelNames: ["queue", "state"],
    registers,
    async collect() {
      this.reset();
      for (const q of opts.queues) {
        const counts = await q.getJobCounts("waiting", "active", "delayed", "failed").catch(() => ({}) as Record<string, number>);
        for (const [state, n] of Object.entries(counts)) this.set({ queue: q.name, state }, n);
      }
    },
  });
}

/** What this worker process's jobs did: counters and the sweep's pass time. */
export class WorkerMetrics {
  private readonly jobFailures: Counter<"queue">;
  private readonly deliveryFailures: Counter<"channel" | "final">;
  private readonly sweepSeconds: Histogram;
  private readonly issued: Counter<"level">;

  constructor(registry: Registry) {
    const registers = [registry];
    this.jobFailures = new Counter({ name: "rectiflow_job_failures_total", help: "Failed job attempts by queue", labelNames: ["queue"], registers });
    this.deliveryFailures = new Counter({
      name: "rectiflow_delivery_failures_total",
      help: "Failed delivery attempts by channel; final=true: the last attempt, the delivery shows failed",
      labelNames: ["channel", "final"],
      registers,
    });
    this.sweepSeconds = new Histogram({
      name: "rectiflow_sweep_duration_seconds",
      help: "Time of one sweep pass",
      buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    this.issued = new Counter({ name: "rectiflow_notices_issued_total", help: "Notices issued by the sweep, by level", labelNames: ["level"], registers });
  }

  jobFailed(queue: string): void {
    this.jobFailures.inc({ queue });
  }

  deliveryFailed(channel: string, final: boolean): void {
    this.deliveryFailures.inc({ channel, final: String(final) });
  }

  swept(seconds: number, levels: string[]): void {
    this.sweepSeconds.observe(seconds);
    for (const level of levels) this.issued.inc({ level });
  }
}

/** GET /metrics on its own port, for a Prometheus holding the token; anything else is 404. */
export function serveMetrics(registry: Registry, opts: { port: number; token: string; host?: string }): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== "GET" || req.url?.split("?")[0] !== "/metrics") {
      res.writeHead(404).end();
      return;
    }
    const sent = /^bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "")?.[1] ?? "";
    if (!sameSecret(sent, opts.token)) {
      res.writeHead(401, { "WWW-Authenticate": 'Bearer realm="metrics"' }).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { "Content-Type": registry.contentType }).end(text),
      (err) => {
        log.error({ err }, "metrics: collect failed");
        res.writeHead(500).end();
      },
    );
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host ?? "0.0.0.0", () => resolve(server));
  });
}
