/**
 * Delivery of notices against real services: Redis (BullMQ), the MongoDB-compatible ledger, an
 * SMTP server (smtp-server) and an HTTP receiver (node:http), all on loopback. Each test has a
 * BullMQ prefix of its own, so no test sees another's jobs.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHmac, timingSafeEqual } from "node:crypto";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import type { Queue } from "bullmq";
import { expect } from "chai";
import { Redis } from "ioredis";
import mongoose from "mongoose";
import { loadConfig, type Config } from "../../src/config.ts";
import { NoticeDelivery, Unit, type CaseDoc } from "../../src/db/models.ts";
import { enqueueDeliveries, jobIdOf, type PendingDelivery } from "../../src/notices/delivery.ts";
import { issueByHand, type Channel, type NoticeRecord } from "../../src/notices/issuer.ts";
import { QUEUES, makeQueue, queueConnection } from "../../src/queues.ts";
import { deliveryOptions, startWorker, type RunningWorker } from "../../src/worker.ts";
import { NEVER, useChannelWorld } from "../support/channel-world.ts";
import { newInspection, type World } from "../support/fixtures.ts";
import { AppProcess } from "../support/processes.ts";
import { testDbUri } from "../support/hooks.ts";
import { Rendezvous, freshPrefix, sleep, smtpError, startHttp, startSmtp, tally, until } from "../support/receivers.ts";

const REDIS_URL = process.env.REDIS_URL!;
/** The channels these tests set up (robots and SMS: test/notices/channels.test.ts). */
const CHANNELS = ["inbox", "email", "webhook"] as const;
const SECRET = "0123456789abcdef0123";
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** `$in` for a filter (the connection sanitizes filters, so operators must be marked trusted). */
const among = (ids: Iterable<string>) => mongoose.trusted({ $in: [...new Set(ids)] });

/** A channel's delivery document in the ledger (`<noticeId>:<channel>`). */
interface Delivery {
  _id: string;
  noticeId: string;
  channel: Channel;
  status: string;
  attempts: number;
  lastError: string | null;
  target: string | null;
  sentAt: Date | null;
}
const deliveriesAmong = (noticeIds: Iterable<string>) => NoticeDelivery.find({ noticeId: among(noticeIds) }).lean<Delivery[]>();
/** One notice's deliveries by channel. */
async function deliveriesOf(noticeId: string): Promise<Record<Channel, Delivery>> {
  const ds = await deliveriesAmong([noticeId]);
  return Object.fromEntries(ds.map((d) => [d.channel, d])) as Record<Channel, Delivery>;
}
/** The deliveries a notice was issued with, by channel. */
const issuedWith = (n: NoticeRecord) => Object.fromEntries((n.deliveries ?? []).map((d) => [d.channel, d.status]));
const countDeliveries = (noticeIds: Iterable<string>, filter: Record<string, unknown>) => NoticeDelivery.countDocuments({ noticeId: among(noticeIds), ...filter });

/**
 * Deliveries BullMQ has finished (completed and removed, or failed for good) that the ledger still
 * shows pending: a lost ledger write. The jobs are read before the ledger again; a job finishes only
 * after its ledger write returned, so what this finds is not a race of the check itself.
 */
async function lostLedgerWrites(queue: Queue, noticeIds: string[]): Promise<string[]> {
  const pending = (await deliveriesAmong(noticeIds)).filter((d) => d.status === "pending");
  const jobs = await Promise.all(
    pending.map(async (d) => {
      const job = await queue.getJob(jobIdOf(d.noticeId, d.channel));
      const state = job ? await job.getState() : "removed";
      return { d, state: state === "unknown" ? "removed" : state, attemptsMade: job?.attemptsMade ?? null };
    }),
  );
  const finished = jobs.filter((j) => j.state === "removed" || j.state === "completed" || j.state === "failed");
  if (!finished.length) return [];
  const now = new Map((await deliveriesAmong(finished.map((j) => j.d.noticeId))).map((d) => [d._id, d]));
  return finished
    .filter((j) => now.get(j.d._id)?.status === "pending")
    .map(
      (j) =>
        `${j.d._id}: BullMQ job ${j.state === "removed" ? "completed" : j.state}${j.attemptsMade === null ? "" : ` after ${j.attemptsMade} attempts`}, ` +
        `ledger still "pending" with ${now.get(j.d._id)!.attempts} attempts`,
    );
}

/** Waits for the ledger; fails at once, and clearly, when a finished job's write is missing from it. */
async function ledgerUntil<T>(what: string, queue: Queue, noticeIds: Iterable<string>, f: () => Promise<T | false>, ms = 15_000): Promise<T> {
  const ids = [...noticeIds];
  return until(
    what,
    async () => {
      const v = await f();
      if (v) return v;
      const lost = await lostLedgerWrites(queue, ids);
      if (lost.length) throw new Error(`the ledger lost a delivery write (a finished job whose delivery document still says pending):\n  ${lost.join("\n  ")}`);
      return false;
    },
    ms,
    100,
  );
}

describe("notice delivery", () => {
  // A fresh world per test; what `later` gets (workers, queues, servers, child processes) runs after it, last first.
  const cw = useChannelWorld("t");
  const later = cw.later;
  let w: World;
  beforeEach(() => {
    w = cw.w;
  });

  function configFor(env: Record<string, string> = {}): Config {
    return loadConfig({
      ...process.env,
      QUEUE_PREFIX: freshPrefix(),
      DELIVERY_BACKOFF_MS: "50",
      DELIVERY_ATTEMPTS: "4",
      STALLED_INTERVAL_MS: "1000",
      WEBHOOK_TIMEOUT_MS: "2000",
      SWEEP_CRON: NEVER,
      ...env,
    });
  }

  async function run(config: Config, schedule = false): Promise<RunningWorker> {
    const worker = await startWorker(config, w.clock, { schedule });
    later(() => worker.close());
    return worker;
  }

  async function notifyLead(notify: { emails?: string[]; webhookUrl?: string | null; webhookSecret?: string | null }) {
    await Unit.updateOne({ _id: w.units.lead }, { $set: { notify: { emails: [], webhookUrl: null, webhookSecret: null, ...notify } } });
  }

  /** An inspection item assigned to the lead unit (deadline 2026-06-30), ready for a 督办通知. */
  async function assignedCase(n = 1): Promise<CaseDoc> {
    const c = await w.service.createCase(newInspection(n), w.office);
    const payload = { leadUnitId: w.units.lead, coUnitIds: [], deadline: "2026-06-30" };
    return (await w.service.applyEvent(c._id.toString(), { type: "ASSIGN", payload }, w.office)).case;
  }

  const supervise = (c: CaseDoc, i = 1) => issueByHand(c, { level: "supervision", requirement: `请于五个工作日内报送整改进展（${i}）` }, w.office, w.clock);
  const deliveriesOfAll = (notices: NoticeRecord[]): PendingDelivery[] => notices.flatMap((n) => n.deliveries ?? []);

  /** An SMTP and an HTTP receiver that answer every request, closed after the test. */
  async function receivers() {
    const smtp = await startSmtp();
    later(() => smtp.close());
    const http = await startHttp();
    later(() => http.close());
    return { smtp, http };
  }

  it("delivers a notice to the inbox, by email and by webhook, once each", async function () {
    this.timeout(30_000);
    const { smtp, http } = await receivers();
    await notifyLead({ emails: ["lead@unit.example"], webhookUrl: http.url("/hook"), webhookSecret: SECRET });
    const c = await assignedCase();
    const notice = await supervise(c);
    expect(notice.number).to.match(/^督办〔2026〕\d+号$/);
    // Writing the notice into the unit's inbox is its delivery: done at issue. Email and webhook wait for the worker.
    expect(issuedWith(notice)).to.deep.equal({ inbox: "sent", email: "pending", webhook: "pending" });

    const config = configFor({ SMTP_URL: smtp.url });
    const worker = await run(config);
    expect(await enqueueDeliveries(worker.deliveryQueue, notice.deliveries!, deliveryOptions(config))).to.equal(2);
    const d = await ledgerUntil("all three channels sent", worker.deliveryQueue, [notice._id], async () => {
      const d = await deliveriesOf(notice._id);
      return CHANNELS.every((ch) => d[ch]?.status === "sent") && d;
    });

    // the ledger
    for (const ch of CHANNELS) expect(d[ch], ch).to.include({ status: "sent", attempts: 1, lastError: null });
    expect(d.inbox.target).to.equal(`inbox:${w.units.lead}`);
    expect(d.email.target).to.equal("lead@unit.example");
    expect(d.webhook.target).to.equal(http.url("/hook"));

    // the email: one message, the notice id in a header, the rendered 督办通知
    expect(smtp.accepted).to.have.length(1);
    const mail = smtp.accepted[0]!;
    expect(mail.noticeId).to.equal(notice._id);
    expect(mail.messageId).to.equal(`<${notice._id}@rectiflow>`);
    expect(mail.to).to.deep.equal(["lead@unit.example"]);
    expect(mail.html, "text/html part").to.be.a("string");
    expect(mail.html).to.contain("督办通知").and.contain(notice.number!).and.contain(c.ledgerNumber).and.contain("市生态环境局");

    // the webhook: one POST, signed with the unit's secret over "<timestamp>.<raw body>"
    expect(http.requests).to.have.length(1);
    const req = http.requests[0]!;
    expect(req).to.include({ method: "POST", path: "/hook" });
    expect(req.headers["idempotency-key"]).to.equal(notice._id);
    const timestamp = String(req.headers["x-rectiflow-timestamp"]);
    expect(Math.abs(Number(timestamp) - Date.now() / 1000)).to.be.lessThan(60);
    const signature = String(req.headers["x-rectiflow-signature"]);
    expect(signature).to.match(/^sha256=[0-9a-f]{64}$/);
    const expected = createHmac("sha256", SECRET).update(`${timestamp}.${req.body}`).digest();
    expect(timingSafeEqual(Buffer.from(signature.slice(7), "hex"), expected), "signature verifies with the unit's secret").to.equal(true);
    const forged = createHmac("sha256", "another-secret-000000").update(`${timestamp}.${req.body}`).digest();
    expect(timingSafeEqual(Buffer.from(signature.slice(7), "hex"), forged)).to.equal(false);
    expect(JSON.parse(req.body)).to.deep.include({
      noticeId: notice._id,
      level: "supervision",
      number: notice.number,
      ledgerNumber: c.ledgerNumber,
      title: c.title,
      unit: "市生态环境局",
      deadline: "2026-06-30",
    });

    // Enqueued again: from the ledger nothing is pending any more; with the stale list (a caller
    // that retries), the jobs run again and find every channel sent.
    expect(await enqueueDeliveries(worker.deliveryQueue, await deliveriesAmong([notice._id]), deliveryOptions(config))).to.equal(0);
    expect(await enqueueDeliveries(worker.deliveryQueue, notice.deliveries!, deliveryOptions(config))).to.equal(2);
    await until("the repeated jobs to complete", async () => {
      const jobs = await Promise.all(CHANNELS.map((ch) => worker.deliveryQueue.getJob(jobIdOf(notice._id, ch))));
      return jobs.every((j) => !j); // removed on completion; a failed job would stay
    });
    await sleep(200);
    expect(smtp.accepted, "emails after the repeat").to.have.length(1);
    expect(http.requests, "webhook calls after the repeat").to.have.length(1);
    const again = await deliveriesOf(notice._id);
    for (const ch of CHANNELS) expect(again[ch], ch).to.include({ status: "sent", attempts: 1 });
  });

  it("a failing SMTP server and a failing webhook are retried with backoff, then shown as failed, while the inbox still delivers", async function () {
    this.timeout(30_000);
    const smtp = await startSmtp({ reject: () => smtpError(550, "5.7.1 Mailbox unavailable") });
    later(() => smtp.close());
    const http = await startHttp(() => 500);
    later(() => http.close());
    await notifyLead({ emails: ["lead@unit.example"], webhookUrl: http.url("/hook"), webhookSecret: SECRET });
    const notice = await supervise(await assignedCase());

    const config = configFor({ SMTP_URL: smtp.url, DELIVERY_ATTEMPTS: "4", DELIVERY_BACKOFF_MS: "50" });
    const worker = await run(config);
    await enqueueDeliveries(worker.deliveryQueue, notice.deliveries!, deliveryOptions(config));
    const d = await ledgerUntil("email and webhook to fail", worker.deliveryQueue, [notice._id], async () => {
      const d = await deliveriesOf(notice._id);
      return d.email.status === "failed" && d.webhook.status === "failed" && d;
    });
    await sleep(500); // no attempt after the last
    const attempts = config.DELIVERY_ATTEMPTS;
    expect(smtp.transactions, "SMTP transactions").to.equal(attempts);
    expect(smtp.accepted).to.have.length(0);
    expect(http.requests.length, "webhook requests").to.equal(attempts);
    expect(new Set(http.requests.map((r) => r.headers["idempotency-key"]))).to.deep.equal(new Set([notice._id]));

    expect(d.inbox).to.include({ status: "sent", attempts: 1, lastError: null });
    const jobs = await Promise.all((["email", "webhook"] as const).map((ch) => worker.deliveryQueue.getJob(jobIdOf(notice._id, ch))));
    expect(jobs.map((j) => j?.attemptsMade), "BullMQ attempts").to.deep.equal([attempts, attempts]);
    expect(d.email).to.include({ status: "failed", attempts });
    expect(d.email.lastError).to.be.a("string").and.contain("550");
    expect(d.webhook).to.include({ status: "failed", attempts });
    expect(d.webhook.lastError).to.be.a("string").and.contain("500");

    // exponential backoff: 50, 100, 200 ms between the webhook attempts (at least)
    const gaps = http.requests.slice(1).map((r, i) => r.at - http.requests[i]!.at);
    for (const [i, gap] of gaps.entries()) expect(gap, `gap ${i + 1} of ${gaps.join(", ")} ms`).to.be.at.least(config.DELIVERY_BACKOFF_MS * 2 ** i - 5);
  });

  it("a webhook that recovers is delivered on a later attempt", async function () {
    this.timeout(30_000);
    const http = await startHttp((n) => (n <= 2 ? 500 : 200));
    later(() => http.close());
    await notifyLead({ webhookUrl: http.url("/hook"), webhookSecret: SECRET });
    const notice = await supervise(await assignedCase());
    expect(issuedWith(notice)).to.deep.equal({ inbox: "sent", email: "skipped", webhook: "pending" });

    const config = configFor();
    const worker = await run(config);
    expect(await enqueueDeliveries(worker.deliveryQueue, notice.deliveries!, deliveryOptions(config))).to.equal(1);
    const d = await ledgerUntil("the webhook to be sent", worker.deliveryQueue, [notice._id], async () => {
      const d = await deliveriesOf(notice._id);
      return d.webhook.status === "sent" && d.inbox.status === "sent" && d;
    });
    await sleep(300);
    expect(http.requests.map((r) => r.status)).to.deep.equal([500, 500, 200]);
    expect(new Set(http.requests.map((r) => r.headers["idempotency-key"]))).to.deep.equal(new Set([notice._id]));
    expect(d.webhook).to.include({ status: "sent", attempts: 3, lastError: null, target: http.url("/hook") });
    expect(d.email).to.include({ status: "skipped", attempts: 0 });
  });

  it("a worker killed with SIGKILL mid-delivery loses nothing: another worker delivers every notice; only a message in flight at the kill may repeat, with its notice id", async function () {
    this.timeout(120_000);
    const CONCURRENCY = 5;
    const COUNT = 40;
    const smtp = await startSmtp({ delayMs: 150 }); // each message stays in flight for 150 ms
    later(() => smtp.close());
    await notifyLead({ emails: ["lead@unit.example"] });
    const c = await assignedCase();
    const notices: NoticeRecord[] = [];
    for (let i = 1; i <= COUNT; i++) notices.push(await supervise(c, i));
    const issued = new Set(notices.map((n) => n._id));
    for (const n of notices) expect(issuedWith(n)).to.deep.equal({ inbox: "sent", email: "pending", webhook: "skipped" });

    const prefix = freshPrefix("k");
    const config = configFor({ QUEUE_PREFIX: prefix, SMTP_URL: smtp.url });
    const connection = queueConnection(REDIS_URL);
    const queue = makeQueue(QUEUES.delivery, connection, prefix);
    later(async () => {
      await queue.close();
      connection.disconnect();
    });
    expect(await enqueueDeliveries(queue, deliveriesOfAll(notices), deliveryOptions(config))).to.equal(COUNT); // email (the inbox is sent at issue)

    const env = {
      ...process.env,
      MONGODB_URI: testDbUri(),
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      SMTP_URL: smtp.url,
      STALLED_INTERVAL_MS: String(config.STALLED_INTERVAL_MS),
      DELIVERY_CONCURRENCY: String(CONCURRENCY),
      DELIVERY_ATTEMPTS: "4",
      DELIVERY_BACKOFF_MS: "50",
      SWEEP_CRON: NEVER,
      LOG_LEVEL: "warn",
      DEMO_SEED: "0",
    };
    const spawnWorker = (name: string) => {
      const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts", "worker"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
      const output: string[] = [];
      child.stdout!.on("data", (b: Buffer) => output.push(b.toString()));
      child.stderr!.on("data", (b: Buffer) => output.push(b.toString()));
      const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
      later(async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill("SIGKILL");
          await exited;
        }
      });
      return { name, child, output, exited };
    };
    const alive = (ch: ChildProcess) => ch.exitCode === null && ch.signalCode === null;
    const explain = (p: { name: string; output: string[] }) => `${p.name} output:\n${p.output.join("").slice(-3000)}`;
    const emailsSent = () => countDeliveries(issued, { channel: "email", status: "sent" });

    const first = spawnWorker("first worker");
    await until(
      "the first worker to deliver some emails",
      () => {
        if (!alive(first.child)) throw new Error(`the first worker exited early\n${explain(first)}`);
        return smtp.accepted.length >= 10;
      },
      30_000,
      2,
    );
    first.child.kill("SIGKILL");
    const killedAt = Date.now();
    const acceptedAtKill = smtp.accepted.length;
    const inFlightAtKill = smtp.transactions - smtp.accepted.length; // DATA received, not yet answered
    const [, signal] = await first.exited;
    expect(signal).to.equal("SIGKILL");
    expect(acceptedAtKill, "the kill came before every email went out").to.be.lessThan(COUNT);
    const sentAtKill = await emailsSent();
    // The jobs the dead worker held: BullMQ must notice they stalled and give them to another worker.
    const held = (await queue.getActive()).map((j) => j.data as { noticeId: string; channel: Channel });
    expect(held.length, "jobs in flight at the kill").to.be.greaterThan(0);
    // what keeps them from being taken up at once: the lock the dead worker holds on each until it expires
    const lockTtls = await Promise.all(held.map((h) => connection.pttl(`${prefix}:${QUEUES.delivery}:${jobIdOf(h.noticeId, h.channel)}:lock`)));

    const second = spawnWorker("second worker");
    try {
      await ledgerUntil(
        "every notice to show email and inbox sent",
        queue,
        issued,
        async () => {
          if (!alive(second.child)) throw new Error(`the second worker exited early\n${explain(second)}`);
          return (await countDeliveries(issued, { channel: mongoose.trusted({ $in: ["inbox", "email"] }), status: "sent" })) === 2 * COUNT;
        },
        60_000,
      );
    } catch (e) {
      console.log(tally((await deliveriesAmong(issued)).map((d) => `${d.channel} ${d.status}`)), explain(second));
      throw e;
    }
    const deliveredAfterKillMs = Date.now() - killedAt;
    await sleep(300);

    const ledger = new Map((await deliveriesAmong(issued)).map((d) => [d._id, d]));
    const sentAt = (id: string, ch: Channel) => new Date(ledger.get(`${id}:${ch}`)!.sentAt!).getTime();
    // when the second worker was delivering (its first send), and when the last of the held jobs went out
    const secondBusyMs = Math.min(...[...issued].map((id) => sentAt(id, "email")).filter((t) => t > killedAt + 500)) - killedAt;
    const heldDoneMs = Math.max(...held.map((h) => sentAt(h.noticeId, h.channel))) - killedAt;
    const received = smtp.accepted.map((m) => m.noticeId);
    const counts = tally(received);
    const duplicates = [...counts.values()].reduce((sum, n) => sum + n - 1, 0);
    console.log(
      `      SIGKILL figures: issued ${COUNT}; accepted by SMTP at the kill ${acceptedAtKill} (email "sent" in the ledger ${sentAtKill}, ` +
        `DATA received but not yet answered ${inFlightAtKill}); jobs held by the killed worker ${held.length} ` +
        `(${held.map((h) => h.channel).join(", ")}; locks expiring in ${lockTtls.join(", ")} ms); accepted in all ${received.length}; ` +
        `distinct ${counts.size}; duplicates ${duplicates}; second worker sending ${secondBusyMs} ms after the kill; ` +
        `held jobs done ${heldDoneMs} ms after the kill; every email sent ${deliveredAfterKillMs} ms after the kill`,
    );

    expect(new Set(received), "notice ids received by SMTP").to.deep.equal(issued);
    // At-least-once: a message whose SMTP transaction was in flight when the worker died may be sent
    // again by the next worker. At most one per concurrent delivery; X-Rectiflow-Notice-Id (and the
    // Message-ID <noticeId@rectiflow>) let the receiver drop it.
    expect(duplicates, "duplicates").to.be.at.most(CONCURRENCY);
    for (const [id, n] of counts) expect(n, `copies of ${id}`).to.be.at.most(2);
    // README: STALLED_INTERVAL_MS is how soon a dead worker's job is taken up (the lock lasts as long).
    expect(
      heldDoneMs - secondBusyMs,
      `the jobs the killed worker held went out ${heldDoneMs - secondBusyMs} ms after the second worker was sending ` +
        `(STALLED_INTERVAL_MS=${config.STALLED_INTERVAL_MS}; their locks had ${lockTtls.join(", ")} ms to run at the kill)`,
    ).to.be.at.most(3 * config.STALLED_INTERVAL_MS + 2000);

    // A clean stop: SIGTERM closes the workers and the process exits 0.
    second.child.kill("SIGTERM");
    const stopped = await Promise.race([second.exited, sleep(15_000).then(() => null)]);
    expect(stopped, `the second worker exits within 15 s of SIGTERM\n${explain(second)}`).to.not.equal(null);
    expect(stopped![0], explain(second)).to.equal(0);
  });

  /** A worker process (src/main.ts worker) on this test's queue prefix; killed after the test if still running. */
  async function workerProcess(prefix: string, env: Record<string, string>): Promise<AppProcess> {
    const p = await AppProcess.start(
      "worker",
      { MONGODB_URI: testDbUri(), REDIS_URL, QUEUE_PREFIX: prefix, DELIVERY_ATTEMPTS: "4", DELIVERY_BACKOFF_MS: "50", SWEEP_CRON: NEVER, LOG_LEVEL: "warn", DEMO_SEED: "0", ...env },
      async () => true,
    );
    later(() => p.kill());
    return p;
  }

  /** Notices with a pending email each, queued on a fresh prefix. */
  async function queuedEmails(count: number, smtpUrl: string) {
    await notifyLead({ emails: ["lead@unit.example"] });
    const c = await assignedCase();
    const notices: NoticeRecord[] = [];
    for (let i = 1; i <= count; i++) notices.push(await supervise(c, i));
    const config = configFor({ SMTP_URL: smtpUrl });
    const connection = queueConnection(REDIS_URL);
    const queue = makeQueue(QUEUES.delivery, connection, config.QUEUE_PREFIX);
    later(async () => {
      await queue.close();
      connection.disconnect();
    });
    expect(await enqueueDeliveries(queue, deliveriesOfAll(notices), deliveryOptions(config))).to.equal(count);
    return { ids: new Set(notices.map((n) => n._id)), prefix: config.QUEUE_PREFIX, queue };
  }

  it("SIGTERM mid-delivery: the worker finishes the jobs it runs, takes no new one and exits 0; the next worker sends the rest, nothing twice", async function () {
    this.timeout(60_000);
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const smtp = await startSmtp({ hold: () => gate }); // every message waits at the end of DATA until released
    later(async () => {
      release();
      await smtp.close();
    });
    const { ids, prefix, queue } = await queuedEmails(6, smtp.url);
    const first = await workerProcess(prefix, { SMTP_URL: smtp.url, DELIVERY_CONCURRENCY: "2", SHUTDOWN_TIMEOUT_MS: "20000" });
    await until("two emails in flight", () => smtp.transactions >= 2, 30_000);
    first.child.kill("SIGTERM");
    await sleep(500);
    expect(first.alive, "the worker waits for its jobs").to.equal(true);
    release();
    const [code, signal] = await first.exited;
    expect({ code, signal }, first.log()).to.deep.equal({ code: 0, signal: null });
    expect(smtp.accepted, "the two emails in flight at SIGTERM were finished").to.have.length(2);
    expect(await countDeliveries(ids, { channel: "email", status: "sent" }), "and recorded").to.equal(2);
    expect(await countDeliveries(ids, { channel: "email", status: "pending" }), "no other job was taken").to.equal(4);

    await workerProcess(prefix, { SMTP_URL: smtp.url });
    await ledgerUntil("every email sent", queue, ids, async () => (await countDeliveries(ids, { channel: "email", status: "sent" })) === 6);
    expect(smtp.accepted.map((m) => m.noticeId).sort()).to.deep.equal([...ids].sort());
  });

  it("SIGTERM with a job that outlasts SHUTDOWN_TIMEOUT_MS: the worker exits at the deadline and another worker takes the job up once its lock expires", async function () {
    this.timeout(60_000);
    let transactions = 0;
    // The first message never gets its answer: the job stays running until its process is gone.
    const smtp = await startSmtp({ hold: () => (++transactions === 1 ? new Promise<void>(() => {}) : Promise.resolve()) });
    later(() => smtp.close());
    const { ids, prefix, queue } = await queuedEmails(1, smtp.url);
    const env = { SMTP_URL: smtp.url, DELIVERY_CONCURRENCY: "1", STALLED_INTERVAL_MS: "1000", SHUTDOWN_TIMEOUT_MS: "300" };
    const first = await workerProcess(prefix, env);
    await until("the email in flight", () => transactions >= 1, 30_000);
    const t0 = Date.now();
    first.child.kill("SIGTERM");
    const [code] = await first.exited;
    expect(code, first.log()).to.equal(0);
    expect(Date.now() - t0, "exits soon after the grace period").to.be.lessThan(5000);
    expect(await countDeliveries(ids, { channel: "email", status: "pending" })).to.equal(1);

    await workerProcess(prefix, env);
    await ledgerUntil("the email sent by the second worker", queue, ids, async () => (await countDeliveries(ids, { channel: "email", status: "sent" })) === 1, 30_000);
    expect(smtp.accepted.map((m) => m.noticeId)).to.deep.equal([...ids]);
  });

  it("FLUSHALL on Redis loses no delivery: pending deliveries are queued again from the ledger", async function () {
    this.timeout(30_000);
    const { smtp, http } = await receivers();
    await notifyLead({ emails: ["lead@unit.example"], webhookUrl: http.url("/hook"), webhookSecret: SECRET });
    const c = await assignedCase();
    const notices: NoticeRecord[] = [];
    for (let i = 1; i <= 5; i++) notices.push(await supervise(c, i));
    const ids = new Set(notices.map((n) => n._id));

    const config = configFor({ SMTP_URL: smtp.url });
    const connection = queueConnection(REDIS_URL);
    const queue = makeQueue(QUEUES.delivery, connection, config.QUEUE_PREFIX);
    try {
      expect(await enqueueDeliveries(queue, deliveriesOfAll(notices), deliveryOptions(config))).to.equal(10); // email and webhook
      expect((await queue.getJobCounts("wait")).wait).to.equal(10);
      const redis = new Redis(REDIS_URL);
      try {
        await redis.flushall();
      } finally {
        redis.disconnect();
      }
      expect((await queue.getJobCounts("wait", "active", "delayed")).wait).to.equal(0);
    } finally {
      await queue.close();
      connection.disconnect();
    }

    const worker = await run(config, true); // requeues what the ledger still shows pending as it starts
    await ledgerUntil("every channel of every notice sent", worker.deliveryQueue, ids, async () => (await countDeliveries(ids, { status: "sent" })) === 3 * ids.size);
    await sleep(300);
    const mails = tally(smtp.accepted.map((m) => m.noticeId));
    const hooks = tally(http.requests.map((r) => r.headers["idempotency-key"]));
    expect(new Set(mails.keys())).to.deep.equal(ids);
    expect(new Set(hooks.keys())).to.deep.equal(ids);
    expect([...mails.values()].every((n) => n === 1), "one email per notice").to.equal(true);
    expect([...hooks.values()].every((n) => n === 1), "one webhook call per notice").to.equal(true);
  });

  it("the worker refuses a Redis that may evict keys", async () => {
    const redis = new Redis(REDIS_URL);
    try {
      await redis.config("SET", "maxmemory-policy", "allkeys-lru");
      let refusal: Error | null = null;
      try {
        const worker = await startWorker(configFor(), w.clock, { schedule: false });
        await worker.close();
      } catch (e) {
        refusal = e as Error;
      }
      expect(refusal, "startWorker rejects").to.be.instanceOf(Error);
      expect(refusal!.message).to.contain("noeviction").and.contain("allkeys-lru");
    } finally {
      await redis.config("SET", "maxmemory-policy", "noeviction");
      redis.disconnect();
    }
  });

  // FerretDB applies an update as a read-modify-write of the whole document: two channels writing one
  // notice document at the same instant lost each other's write. Each channel has its own delivery
  // document now; this holds the receivers' answers so that a notice's email and webhook finish together.
  it("two channels of one notice that finish at the same moment both reach the ledger", async function () {
    this.timeout(30_000);
    const together = new Rendezvous(2);
    const smtp = await startSmtp({ hold: (id) => together.meet(id) });
    later(() => smtp.close());
    const http = await startHttp(undefined, (h) => together.meet(String(h["idempotency-key"])));
    later(() => http.close());
    await notifyLead({ emails: ["lead@unit.example"], webhookUrl: http.url("/hook"), webhookSecret: SECRET });
    const c = await assignedCase();
    const notices: NoticeRecord[] = [];
    for (let i = 1; i <= 10; i++) notices.push(await supervise(c, i));
    const ids = new Set(notices.map((n) => n._id));

    const config = configFor({ SMTP_URL: smtp.url, DELIVERY_CONCURRENCY: "30" });
    const worker = await run(config);
    await enqueueDeliveries(worker.deliveryQueue, deliveriesOfAll(notices), deliveryOptions(config));
    await until("every job to finish", async () => {
      const counts = await worker.deliveryQueue.getJobCounts("wait", "active", "delayed", "prioritized", "failed");
      return Object.values(counts).every((n) => n === 0) && smtp.accepted.length === ids.size && http.requests.length === ids.size;
    });
    expect(tally(smtp.accepted.map((m) => m.noticeId)).size).to.equal(ids.size);
    const lost = (await deliveriesAmong(ids)).filter((d) => d.status !== "sent" || d.attempts !== 1).map((d) => `${d._id}: ${d.status}, ${d.attempts} attempts`);
    expect(lost.length, `deliveries done once each that the ledger does not show as sent once:\n  ${lost.join("\n  ")}\n`).to.equal(0);
    expect(await countDeliveries(ids, { status: "sent" })).to.equal(3 * ids.size);
  });
});
