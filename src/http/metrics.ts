/** Request latency by route for Prometheus, in the process's registry (src/metrics.ts has the rest). */
import type { NextFunction, Request, Response } from "express";
import { Histogram, type Registry } from "prom-client";
import { processRegistry } from "../metrics.ts";

export function createMetrics(registry: Registry = processRegistry()) {
  const latency = new Histogram({
    name: "http_request_duration_seconds",
    help: "HTTP request latency by method, route template and status",
    labelNames: ["method", "route", "status"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
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
