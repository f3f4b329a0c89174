/**
 * The metrics an operator alerts on (docs/operations.md): they exist and move. The sweep's lag grows
 * while a due schedule waits with no worker sweeping; failed delivery attempts count by channel and
 * failed jobs by queue; a worker process serves its registry on METRICS_PORT for the token only.
 */
import { expect } from "chai";
import type { Registry } from "prom-client";
import { loadConfig } from "../../src/config.ts";
import { CaseSchedule, NoticeDelivery, Unit } from "../../src/db/models.ts";
import { log } from "../../src/log.ts";
import { ledgerGauges, processRegistry, serveMetrics } from "../../src/metrics.ts";
import { NoticeSweeper } from "../../src/notices/sweep.ts";
import { QUEUES, makeQueue, queueConnection } from "../../src/queues.ts";
import { startWorker, type RunningWorker } from "../../src/worker.ts";
import { makeWorld, newInspection, type World } from "../support/fixtures.ts";
import { testDbUri } from "../support/hooks.ts";
import { AppProcess, freePort } from "../support/processes.ts";
import { freshPrefix, startHttp, until } from "../support/receivers.ts";

const TOKEN = "metrics-token-for-tests";

/** The sum of a metric's samples whose labels include `labels` (a histogram: pick a series by `series`, e.g. "_count"). */
async function value(registry: Registry, name: string, labels: Record<string, string> = {}, series = ""): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  return values
    .filter((v) => (!series || (v as { metricName?: string }).metricName === `${name}${series}`) && Object.entries(labels).every(([k, x]) => String(v.labels[k]) === x))
    .reduce((sum, v) => sum + v.value, 0);
}

describe("metrics an operator alerts on", () => {
  let w: World;
  let worker: RunningWorker | null = null;
  beforeEach(async () => {
    w = await makeWorld("2026-03-02T09:00:00+08:00");
  });
  afterEach(async () => {
    await worker?.close();
    worker = null;
  });

  async function assigned(deadline = "2026-04-30") {
    const c = await w.service.createCase(newInspection(), w.office);
    return (await w.service.applyEvent(c._id.toString(), { type: "ASSIGN", payload: { leadUnitId: w.units.lead, deadline } }, w.office)).case;
  }

  it("with no worker running, sweep lag grows while a due schedule waits and jobs pile up in their queue; a pass brings the lag to 0", async () => {
    const registry = processRegistry();
    const connection = queueConnection(process.env.REDIS_URL!);
    const queue = makeQueue(QUEUES.sweep, connection, freshPrefix("q"));
    ledgerGauges(registry, { clock: w.clock, queues: [queue] });
    const sweeper = new NoticeSweeper(w.service, w.clock);
    const c = await assigned();
    await sweeper.sweep();
    expect(await value(registry, "rectiflow_sweep_lag_seconds"), "nothing due yet").to.equal(0);
    expect(await value(registry, "rectiflow_sweep_last_pass_age_seconds")).to.equal(0);

    // The workers stop; time passes beyond the next rung.
    const nextAt = (await CaseSchedule.findById(c._id.toString()).lean())!.nextAt!;
    w.clock.set(new Date(nextAt.getTime() + 600_000));
    expect(await value(registry, "rectiflow_sweep_lag_seconds")).to.equal(600);
    w.clock.set(new Date(nextAt.getTime() + 3600_000));
    expect(await value(registry, "rectiflow_sweep_lag_seconds"), "and grows").to.equal(3600);
    expect(await value(registry, "rectiflow_sweep_last_pass_age_seconds")).to.be.greaterThan(3600);
    expect(await value(registry, "rectiflow_queue_jobs", { queue: "notice-sweep", state: "waiting" })).to.equal(0);
    await queue.addBulk([1, 2, 3].map(() => ({ name: "sweep", data: {} })));
    expect(await value(registry, "rectiflow_queue_jobs", { queue: "notice-sweep", state: "waiting" }), "jobs nobody takes").to.equal(3);
    await queue.obliterate({ force: true });
    await queue.close();
    connection.disconnect();

    const r = await sweeper.sweep();
    expect(r.issued.length).to.be.greaterThan(0);
    expect(await value(registry, "rectiflow_sweep_lag_seconds"), "after a pass").to.equal(0);
    expect(await value(registry, "rectiflow_sweep_last_pass_age_seconds")).to.equal(0);
  });

  it("a worker counts failed delivery attempts by channel and failed jobs by queue, and reports queue depth, deliveries that failed for good and its sweep passes", async function () {
    this.timeout(30_000);
    log.level = "error";
    const http = await startHttp(() => 500);
    try {
      await Unit.updateOne({ _id: w.units.lead }, { $set: { notify: { emails: [], webhookUrl: http.url("/hook"), webhookSecret: "0123456789abcdef0123" } } });
      await assigned();
      w.clock.set("2026-05-01T09:00:00+08:00"); // several rungs due
      const registry = processRegistry();
      const config = loadConfig({ ...process.env, QUEUE_PREFIX: freshPrefix("m"), SWEEP_CRON: "0 0 1 1 *", DELIVERY_ATTEMPTS: "2", DELIVERY_BACKOFF_MS: "50" });
      worker = await startWorker(config, w.clock, { schedule: false, metrics: registry });
      expect(await value(registry, "rectiflow_delivery_failures_total")).to.equal(0);

      await worker.sweepQueue.add("sweep", {});
      const failed = await until("every webhook delivery failed for good", async () => {
        const ds = await NoticeDelivery.find({ channel: "webhook" }).lean();
        return ds.length > 0 && ds.every((d) => d.status === "failed") && ds.length;
      });
      // The counters move on BullMQ's failed event, just after the job wrote its failure to the ledger.
      await until("the last attempts counted", async () => (await value(registry, "rectiflow_job_failures_total", { queue: "notice-delivery" })) === 2 * failed);
      expect(await value(registry, "rectiflow_delivery_failures_total", { channel: "webhook", final: "false" }), "first attempts").to.equal(failed);
      expect(await value(registry, "rectiflow_delivery_failures_total", { channel: "webhook", final: "true" }), "last attempts").to.equal(failed);
      expect(await value(registry, "rectiflow_job_failures_total", { queue: "notice-delivery" })).to.equal(2 * failed);
      expect(await value(registry, "rectiflow_notice_deliveries", { channel: "webhook", status: "failed" })).to.equal(failed);
      expect(await value(registry, "rectiflow_notice_deliveries", { status: "pending" })).to.equal(0);
      expect(await value(registry, "rectiflow_queue_jobs", { queue: "notice-delivery", state: "failed" })).to.equal(failed);
      expect(await value(registry, "rectiflow_sweep_duration_seconds", {}, "_count")).to.equal(1);
      expect(await value(registry, "rectiflow_notices_issued_total")).to.be.greaterThan(0);
      expect(await value(registry, "process_resident_memory_bytes")).to.be.greaterThan(0);

    } finally {
      await http.close();
      log.level = process.env.LOG_LEVEL ?? "info";
    }
  });

  it("a worker process serves its metrics on METRICS_PORT to the token holder only", async function () {
    this.timeout(60_000);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/metrics`;
    const p = await AppProcess.start(
      "worker",
      { MONGODB_URI: testDbUri(), QUEUE_PREFIX: freshPrefix("p"), SWEEP_CRON: "0 0 1 1 *", METRICS_PORT: String(port), METRICS_TOKEN: TOKEN, DEMO_SEED: "0" },
      async () => (await fetch(url)).status === 401,
    );
    try {
      expect((await fetch(url, { headers: { authorization: "Bearer wrong-token-of-some-length" } })).status).to.equal(401);
      expect((await fetch(`http://127.0.0.1:${port}/`)).status).to.equal(404);
      const res = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.status).to.equal(200);
      const text = await res.text();
      for (const name of ["process_resident_memory_bytes", "rectiflow_sweep_lag_seconds", "rectiflow_queue_jobs", "rectiflow_notice_deliveries", "rectiflow_delivery_failures_total"])
        expect(text, name).to.contain(name);
      expect(text).to.match(/rectiflow_queue_jobs\{queue="notice-sweep",state="waiting"\} \d+/);
    } finally {
      await p.stop();
    }
    expect(() => loadConfig({ ...process.env, METRICS_PORT: "9100", METRICS_TOKEN: undefined })).to.throw(/METRICS_PORT needs METRICS_TOKEN/);
  });

  it("serveMetrics answers GET /metrics only", async () => {
    const registry = processRegistry();
    const port = await freePort();
    const server = await serveMetrics(registry, { port, token: TOKEN, host: "127.0.0.1" });
    try {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.status).to.equal(404);
    } finally {
      server.close();
    }
  });
});
