import { expect } from "chai";
import { Redis } from "ioredis";
import mongoose from "mongoose";
import { startOfDay } from "../../workflows/index.ts";
import { loadConfig } from "../../src/config.ts";
import { CaseSchedule, Notice, NoticeDelivery } from "../../src/db/models.ts";
import { startWorker, type RunningWorker } from "../../src/worker.ts";
import { makeWorld, newInspection, type World } from "../support/fixtures.ts";

async function until<T>(what: string, f: () => Promise<T | null | undefined | false>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("the worker process", () => {
  let w: World;
  let worker: RunningWorker | null = null;
  beforeEach(async () => {
    w = await makeWorld("2026-03-02T09:00:00+08:00");
  });
  afterEach(async () => {
    await worker?.close();
    worker = null;
  });

  it("sweeps on its BullMQ schedule and delivers what fell due to the unit's inbox", async function () {
    this.timeout(30_000);
    const c = await w.service.createCase(newInspection(), w.office);
    await w.service.applyEvent(c._id.toString(), { type: "ASSIGN", payload: { leadUnitId: w.units.lead, deadline: "2026-04-30" } }, w.office);
    w.clock.set(startOfDay("2026-05-01")); // the red warning (and the rungs before it, which it supersedes) are due
    const config = loadConfig({ ...process.env, QUEUE_PREFIX: `w${Date.now()}`, SWEEP_CRON: "* * * * * *", DELIVERY_BACKOFF_MS: "50" });
    worker = await startWorker(config, w.clock);
    const schedulers = await worker.sweepQueue.getJobSchedulers();
    expect(schedulers.map((s) => [s.key, s.pattern, s.tz])).to.deep.equal([["sweep", "* * * * * *", "Asia/Shanghai"]]);
    const delivered = await until("inbox deliveries", async () => {
      const ns = await Notice.find({ caseId: c._id.toString() }).lean();
      const sent = await NoticeDelivery.find({ noticeId: mongoose.trusted({ $in: ns.map((n) => n._id) }), channel: "inbox", status: "sent" }).lean();
      return ns.length >= 4 && sent.length === 1 && { ns, sent };
    });
    expect(delivered.ns.map((n) => n.level)).to.have.members(["sign_reminder", "due_reminder", "yellow", "red"]);
    expect(delivered.ns.filter((n) => !n.supersededBy).map((n) => n.level)).to.deep.equal(["red"]);
    expect(delivered.sent[0]!.noticeId).to.equal(delivered.ns.find((n) => n.level === "red")!._id);
    const schedule = (await CaseSchedule.findById(c._id.toString()).lean())!;
    expect(schedule.nextAt!.getTime()).to.be.greaterThan(w.clock.now().getTime());
  });

  it("restores its schedule when Redis lost it", async function () {
    this.timeout(30_000);
    const config = loadConfig({ ...process.env, QUEUE_PREFIX: `r${Date.now()}`, SCHEDULER_WATCHDOG_MS: "500" });
    worker = await startWorker(config, w.clock);
    const redis = new Redis(process.env.REDIS_URL!);
    try {
      const keys = await redis.keys(`${config.QUEUE_PREFIX}:*`);
      await redis.del(...keys);
      expect(await worker.sweepQueue.getJobSchedulers()).to.deep.equal([]);
      await until("the scheduler to come back", async () => (await worker!.sweepQueue.getJobSchedulers()).length === 1);
    } finally {
      redis.disconnect();
    }
  });
});
