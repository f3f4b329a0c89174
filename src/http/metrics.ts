/** Prometheus metrics: request latency, cases by state, notices sent/failed, queue depths. */
import type { Queue } from "bullmq";
import type { NextFunction, Request, Response } from "express";
import { Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { casesByKindAndState } from "../cases/queries.ts";
import { deliveriesByChannelAndStatus } from "../notices/delivery.ts";

export function createMetrics(queues: Queue[] = []) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const latency = new Histogram({
    name: "http_request_duration_seconds",
    help: "HTTP request latency",
    labelNames: ["method", "route", "status"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  new Gauge({
    name: "rectiflow_cases",
    help: "Cases by kind and state",
    labelNames: ["kind", "state"],
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await casesByKindAndState()) this.set({ kind: r.kind, state: r.state }, r.n);
    },
  });
  new Gauge({
    name: "rectiflow_notice_deliveries",
    help: "Notice deliveries by channel and status",
    labelNames: ["channel", "status"],
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await deliveriesByChannelAndStatus()) this.set({ channel: r.channel, status: r.status }, r.n);
    },
  });
  new Gauge({
    name: "rectiflow_queue_jobs",
    help: "BullMQ jobs by queue and state",
    labelNames: ["queue", "state"],
    registers: [registry],
    async collect() {
      this.reset();
      for (const q of queues) {
        const counts = await q.getJobCounts("waiting", "active", "delayed", "failed").catch(() => ({}) as Record<string, number>);
        for (const [state, n] of Object.entries(counts)) this.set({ queue: q.name, state }, n);
      }
    },
  });

  function observe(req: Request, res: Response, next: NextFunction) {
    const end = latency.startTimer();
    res.on("finish", () => {
      // The route pattern, not the URL: ids must not explode the label set.
      const route = req.route?.path ? `${req.baseUrl}${req.route.path}` : "unmatched";
      end({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  }
  return { registry, observe };
}
