/**
 * 4. Notice pipeline: N assigned-but-unsigned cases whose sign reminder is due, run by the app's
 * own worker process — sweep passes (triggered here one after another) issue the notices, and each
 * reaches the unit's inbox as it is issued — timed from the first sweep to the last notice in an
 * inbox. Against N no-op jobs with the delivery jobs' options through the same Redis at the same
 * concurrency.
 */
import { Queue, QueueEvents, Worker } from "bullmq";
import mongoose from "mongoose";
import { shanghaiDate, type Actor } from "../workflows/index.ts";
import { CaseService } from "../src/cases/service.ts";
import { genesisHash, seal, type ChainEntry } from "../src/cases/history.ts";
import { ManualClock, systemClock } from "../src/clock.ts";
import { loadConfig } from "../src/config.ts";
import { CalendarYear, Case, CaseHistory, CaseSchedule, Notice, NoticeDelivery, Sequence, SweepState, Unit } from "../src/db/models.ts";
import { createUnit } from "../src/directory.ts";
import { enqueueDeliveries, type DeliveryOptions } from "../src/notices/delivery.ts";
import { NoticeSweeper } from "../src/notices/sweep.ts";
import { QUEUES, queueConnection, workerConnection } from "../src/queues.ts";
import { deliveryOptions } from "../src/worker.ts";
import type { BenchContext } from "./run.ts";
import { DAY, cpuSeconds, cpuSplit, millis, perSecond, pool, rounds } from "./lib.ts";

const BATCH = 2000;

export async function benchNotices(ctx: BenchContext): Promise<void> {
  const { sizes, results, redisUrl, prefix } = ctx;
  const n = sizes.notices;
  const config = loadConfig({ ...process.env, MONGODB_URI: ctx.dbUri, REDIS_URL: redisUrl, QUEUE_PREFIX: prefix });
  const opts = deliveryOptions(config);
  const concurrency = config.DELIVERY_CONCURRENCY;

  await profile(ctx, Math.min(n, 200));

  console.log(`  preparing ${n.toLocaleString("en-US")} cases with a due sign reminder…`);
  await clear();
  await prepare(n);

  const cpu0 = cpuSeconds();
  const pipeline = await millis(() => runPipeline(ctx, n));
  const cpu = cpuSplit(cpu0, cpuSeconds(), n);
  const sent = await NoticeDelivery.countDocuments({ channel: "inbox", status: "sent" });
  if (sent !== n) throw new Error(`expected ${n} inbox deliveries sent, the ledger shows ${sent}`);
  const pipeRate = n / (pipeline / 1000);
  results.add("4 notices", `sweep → inbox, ${n.toLocaleString("en-US")} notices`, "notices/s", [pipeRate], `worker process, ${ctx.results.facts.noticeSweepPasses} passes; one run; CPU per notice: ${cpu}`);

  const noop = await rounds(Math.min(3, sizes.rounds), () => noopJobs(redisUrl, `${prefix}-noop`, n, concurrency, opts), false);
  const noopRow = results.add("4 notices", `no-op BullMQ jobs, ${n.toLocaleString("en-US")}`, "jobs/s", noop, `same Redis, concurrency ${concurrency}, same job options`);
  results.goal("4 notices", "notice pipeline ÷ no-op jobs", pipeRate / noopRow.median, "≥ 0.3", pipeRate / noopRow.median >= 0.3);

  await Promise.all([clear(), CalendarYear.deleteMany({})]);
}

/**
 * Where the pipeline's time goes: database commands per notice (one sweep pass run here, counted
 * by the driver's command monitoring) and how many single-document commands per second this server
 * answers at the sweep's concurrency.
 */
async function profile(ctx: BenchContext, sample: number): Promise<void> {
  await clear();
  await prepare(sample);
  const client = mongoose.connection.getClient();
  let commands = 0;
  const count = () => commands++;
  client.on("commandStarted", count);
  try {
    const r = await new NoticeSweeper(new CaseService(), systemClock).sweep();
    if (r.issued.length !== sample) throw new Error(`profile: expected ${sample} notices, the sweep issued ${r.issued.length}`);
  } finally {
    client.off("commandStarted", count);
  }
  ctx.results.add("4 notices", `database commands per notice (one pass of ${sample})`, "commands", [commands / sample], `${commands} commands in the pass`);
  const ids = (await Case.find({}, { _id: 1 }).lean()).map((c) => c._id);
  const reads = await rounds(ctx.sizes.rounds, () => perSecond(2000, () => pool(2000, 8, (i) => Case.findById(ids[i % ids.length]).lean())));
  ctx.results.add("4 notices", "server: primary-key reads, 8 at a time", "reads/s", reads, "the cheapest command there is");
  await clear();
}

const clear = () => Promise.all([Case, CaseHistory, CaseSchedule, Notice, NoticeDelivery, Sequence, SweepState].map((m) => (m as typeof Case).deleteMany({})));

/** One real case walked to `assigned` ten days ago, cloned N times with freshly sealed histories. */
async function prepare(n: number): Promise<void> {
  const now = Date.now();
  // Assigned two weeks ago (the sign reminder fell due after 2 working days); the deadline far
  // enough ahead that no other rung is due, not even the behind-schedule one.
  const clock = new ManualClock(new Date(now - 14 * DAY));
  const deadline = shanghaiDate(new Date(now + 90 * DAY));
  // The bench ledger's office has entered that year's holidays (the shipped calendar may end sooner).
  const year = Number(deadline.slice(0, 4));
  if (year > Number(shanghaiDate(new Date(now)).slice(0, 4))) await CalendarYear.updateOne({ year }, { $set: { note: "基准测试" } }, { upsert: true });
  const service = new CaseService(clock);
  const name = "通知基准测试单位";
  const unit = (await Unit.findOne({ name }).lean()) ?? (await createUnit({ name }));
  const office: Actor = { id: "bench-office", name: "整改办", role: "office_staff", unitId: null };
  const tpl = await service.createCase({ kind: "inspection", ledgerNumber: "NOTICE-TPL", round: "基准测试", title: "通知基准测试问题", description: "用于通知流水线基准测试", category: "大气" }, office);
  const tplId = tpl._id.toString();
  await service.applyEvent(tplId, { type: "ASSIGN", payload: { leadUnitId: unit._id.toString(), deadline } }, office);
  const doc = await Case.findById(tpl._id).lean();
  const entries = await CaseHistory.find({ caseId: tplId }).sort({ seq: 1 }).lean<ChainEntry[]>();
  await Promise.all([Case.deleteOne({ _id: tpl._id }), CaseHistory.deleteMany({ caseId: tplId })]);

  // As after the sweeps of the past two weeks: nothing changed since, the schedules say what is due.
  await SweepState.updateOne({ _id: "notices" }, { $set: { lastStart: new Date(now) } }, { upsert: true });
  const due = new Date(now - 60_000);
  for (let start = 0; start < n; start += BATCH) {
    const cases: object[] = [];
    const history: ChainEntry[] = [];
    const schedules: object[] = [];
    for (let i = start; i < Math.min(n, start + BATCH); i++) {
      const _id = new mongoose.Types.ObjectId();
      const id = _id.toString();
      const ledgerNumber = `NOTICE-${i}`;
      let head = genesisHash(id);
      for (const { _id: _e, prevHash: _p, hash: _h, ...e } of entries) {
        const payload = e.seq === 1 ? { ...(e.payload as object), ledgerNumber } : e.payload;
        const sealed = seal({ ...e, caseId: id, payload }, head);
        history.push(sealed);
        head = sealed.hash;
      }
      cases.push({ ...doc, _id, ledgerNumber, title: `${doc!.title}${i}`, historyHead: head });
      schedules.push({ _id: id, nextAt: due, version: doc!.version, problem: null, computedAt: due });
    }
    await Promise.all([
      Case.collection.insertMany(cases as never[], { ordered: false }),
      CaseHistory.collection.insertMany(history as never[], { ordered: false }),
      CaseSchedule.collection.insertMany(schedules as never[], { ordered: false }),
    ]);
  }
}

/**
 * Sweeps in the worker process until every notice is issued (each reaches its inbox as it is issued):
 * one pass is queued here; a full pass queues the next itself, as in production; a pass that was not
 * full while notices remain (a cron tick's worth) is followed by another from here.
 */
async function runPipeline(ctx: BenchContext, n: number): Promise<void> {
  const connection = queueConnection(ctx.redisUrl);
  const sweeps = new Queue(QUEUES.sweep, { connection, prefix: ctx.prefix });
  const sweepEvents = new QueueEvents(QUEUES.sweep, { connection: workerConnection(ctx.redisUrl), prefix: ctx.prefix });
  await sweepEvents.waitUntilReady();
  try {
    let issued = 0;
    let pass = 0;
    await new Promise<void>((resolve, reject) => {
      const kick = () => sweeps.add("sweep", {}, { removeOnComplete: true }).catch(reject);
      sweepEvents.on("failed", ({ failedReason }) => reject(new Error(`sweep pass failed: ${failedReason}`)));
      sweepEvents.on("completed", ({ returnvalue }) => {
        const r = (typeof returnvalue === "string" ? JSON.parse(returnvalue) : returnvalue) as { issued: number; problems: number; more: boolean };
        issued += r.issued;
        pass++;
        if (issued >= n) resolve();
        else if (!r.more && r.issued === 0) reject(new Error(`sweep pass ${pass} issued nothing with ${n - issued} notices to go (problems: ${r.problems})`));
        else if (!r.more) kick();
      });
      kick();
    });
    ctx.results.facts.noticeSweepPasses = pass;
  } finally {
    await Promise.all([sweeps.close(), sweepEvents.close()]);
    connection.disconnect();
  }
}

/** N jobs that do nothing, queued as the deliveries are (addBulk with the same options), at the same concurrency. */
async function noopJobs(redisUrl: string, prefix: string, n: number, concurrency: number, opts: DeliveryOptions): Promise<number> {
  const connection = queueConnection(redisUrl);
  const queue = new Queue(QUEUES.delivery, { connection, prefix });
  let completed = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>((r) => {
    done = r;
  });
  const worker = new Worker(
    QUEUES.delivery,
    async () => {
      if (++completed === n) done();
    },
    { connection: workerConnection(redisUrl), prefix, concurrency },
  );
  try {
    await worker.waitUntilReady();
    const t0 = performance.now();
    for (let start = 0; start < n; start += BATCH) {
      const batch = Array.from({ length: Math.min(BATCH, n - start) }, (_, k) => ({ noticeId: `noop-${start + k}`, channel: "inbox", status: "pending" }));
      await enqueueDeliveries(queue, batch, opts);
    }
    await finished;
    return n / ((performance.now() - t0) / 1000);
  } finally {
    await worker.close();
    await queue.obliterate({ force: true });
    await queue.close();
    connection.disconnect();
  }
}
