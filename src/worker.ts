/**
 * The worker process: a BullMQ job scheduler runs the notice sweep every minute (Asia/Shanghai),
 * and a delivery worker sends notices. Refuses a Redis that may evict keys; on close finishes the
 * jobs it runs (within a grace period) and takes no new ones.
 */
import { writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { Worker, type Queue } from "bullmq";
import type { Registry } from "prom-client";
import { Redis } from "ioredis";
import type { Clock } from "./clock.ts";
import type { Config } from "./config.ts";
import { CaseService } from "./cases/service.ts";
import { log } from "./log.ts";
import { DigestIssuer, digestSettings } from "./notices/digest.ts";
import { setInstantLevel } from "./notices/instant.ts";
import { NoticeDeliverer, enqueueDeliveries, jobIdOf, pendingDeliveries, pendingSince, type DeliveryOptions } from "./notices/delivery.ts";
import type { Channel } from "./notices/issuer.ts";
import { seedRules } from "./notices/rules.ts";
import { setDefaultOffice } from "./notices/settings.ts";
import { NoticeSweeper } from "./notices/sweep.ts";
import { QUEUES, assertNoEviction, makeQueue, queueConnection, workerConnection } from "./queues.ts";
import { WorkerMetrics, ledgerGauges } from "./metrics.ts";
import { ledgerKeys } from "./ledger/keys.ts";
import { signCheckpoint, unnumberedEntries } from "./ledger/log.ts";

const REQUEUE_EVERY_MS = 5 * 60_000;
/** This many entries waiting for a tree position (an import's registrations) get a checkpoint at once. */
const IMPORT_BURST = 100;

export interface RunningWorker {
  sweeper: NoticeSweeper;
  deliveryQueue: Queue;
  sweepQueue: Queue;
  /** Signs ledger checkpoints (docs/ledger.md): on LEDGER_CHECKPOINT_CRON, at start and after imports; null when they are off. */
  checkpointQueue: Queue | null;
  /** Re-queues deliveries still pending in the ledger (after Redis lost them). */
  requeuePending(): Promise<number>;
  /**
   * Takes no new jobs and waits for the running ones, at most `graceMs`. Jobs still running then are
   * left to BullMQ: their lock expires (STALLED_INTERVAL_MS) and another worker takes them up.
   * Resolves to whether every running job finished.
   */
  close(graceMs?: number): Promise<boolean>;
}

export function deliveryOptions(config: Config): DeliveryOptions {
  return {
    attempts: config.DELIVERY_ATTEMPTS,
    backoffMs: config.DELIVERY_BACKOFF_MS,
    smtpUrl: config.SMTP_URL,
    smtpFrom: config.SMTP_FROM,
    webhookTimeoutMs: config.WEBHOOK_TIMEOUT_MS,
    publicUrl: config.PUBLIC_URL,
    providers: { wecom: config.WECOM_BASE_URL, dingtalk: config.DINGTALK_BASE_URL, feishu: config.FEISHU_BASE_URL },
    sms: {
      endpoint: config.SMS_ENDPOINT,
      accessKeyId: config.SMS_ACCESS_KEY_ID,
      accessKeySecret: config.SMS_ACCESS_KEY_SECRET,
      signName: config.SMS_SIGN_NAME,
      templateCode: config.SMS_TEMPLATE_CODE,
      templateText: config.SMS_TEMPLATE_TEXT,
    },
    limitPrefix: config.QUEUE_PREFIX,
  };
}

/** metrics: the process's registry, which gets the worker's counters and the ledger's and queues' gauges. */
export async function startWorker(config: Config, clock: Clock, { schedule = true, metrics }: { schedule?: boolean; metrics?: Registry } = {}): Promise<RunningWorker> {
  const redisUrl = config.REDIS_URL;
  if (!redisUrl) throw new Error("REDIS_URL is required for the worker");
  const connections: Redis[] = [];
  const conn = <T extends Redis>(c: T) => {
    connections.push(c);
    return c;
  };
  setDefaultOffice(config.ISSUING_OFFICE);
  setInstantLevel(config);
  const check = queueConnection(redisUrl);
  try {
    await assertNoEviction(check);
    await seedRules();
  } catch (e) {
    check.disconnect();
    throw e;
  }
  check.disconnect();

  const prefix = config.QUEUE_PREFIX;
  const deliveryConnection = conn(queueConnection(redisUrl));
  const deliveryQueue = makeQueue(QUEUES.delivery, deliveryConnection, prefix);
  const sweepQueue = makeQueue(QUEUES.sweep, conn(queueConnection(redisUrl)), prefix);
  const opts = deliveryOptions(config);
  // The morning digest rides on the sweep's passes, so it catches up as the sweep does (digest.ts).
  const digests = new DigestIssuer(digestSettings(config), clock, (pending) => enqueueDeliveries(deliveryQueue, pending, opts));
  const sweeper = new NoticeSweeper(new CaseService(clock), clock, async (notices) => {
    await enqueueDeliveries(deliveryQueue, notices.flatMap((n) => n.deliveries ?? []), opts);
  });
  /** Pending in the ledger but not in Redis (lost, or failed by BullMQ's stalled-job limit): queue again. */
  const requeuePending = async () => {
    const pending = await pendingDeliveries();
    for (const d of pending) {
      const job = await deliveryQueue.getJob(jobIdOf(d.noticeId, d.channel as Channel, d.recipient));
      if (job && (await job.isFailed())) await job.remove();
    }
    return enqueueDeliveries(deliveryQueue, pending, opts);
  };

  const counters = metrics ? new WorkerMetrics(metrics) : null;
  if (metrics) ledgerGauges(metrics, { clock, queues: [sweepQueue, deliveryQueue] });
  // Shown as the job's processedBy: which process took a job.
  const name = `${hostname()}:${process.pid}`;
  // The robots' shared rate limits; an outage is reported once by the queues (ioredis would print every reconnect).
  const limits = conn(new Redis(redisUrl, { maxRetriesPerRequest: 1 }));
  limits.on("error", (err: Error) => outage(err));
  const deliverer = new NoticeDeliverer(opts, limits);
  const deliveryWorker = new Worker(QUEUES.delivery, (job, token) => deliverer.process(job, token), {
    connection: conn(workerConnection(redisUrl)),
    prefix,
    name,
    concurrency: config.DELIVERY_CONCURRENCY,
    // A job counts as stalled only once its lock expired: the lock lasts as long as the check interval.
    stalledInterval: config.STALLED_INTERVAL_MS,
    lockDuration: config.STALLED_INTERVAL_MS,
  });
  // Re-queuing reads every pending delivery: after a sweep, at most every few minutes (Redis losing
  // its queue is rare; a delivery still in its queue is not added twice anyway).
  let lastRequeue = 0;
  // A Redis outage is reported once, and its end: BullMQ and ioredis report every reconnect attempt.
  let down = false;
  const outage = (err: Error) => {
    if (!down) log.warn({ err: err.message }, "Redis unreachable: the worker waits for it");
    down = true;
  };
  for (const q of [deliveryQueue, sweepQueue]) q.on("error", outage);
  // Deliveries issued while Redis was away never reached their queue: once it is back, the next pass
  // queues them again instead of within REQUEUE_EVERY_MS.
  let wasReady = deliveryConnection.status === "ready";
  deliveryConnection.on("ready", () => {
    if (down) log.info("Redis is back");
    down = false;
    if (wasReady) lastRequeue = 0;
    wasReady = true;
  });
  // Notices issued by the web processes (by hand, a 退回 told to the unit) are queued at the next pass: each
  // pass looks at the deliveries written since the one before (with a minute's margin for clocks and commits).
  let lookedAt = Date.now();
  const requeueNowAndThen = async () => {
    const since = new Date(lookedAt - 60_000);
    lookedAt = Date.now();
    if (Date.now() - lastRequeue < REQUEUE_EVERY_MS) return enqueueDeliveries(deliveryQueue, await pendingSince(since), opts);
    lastRequeue = Date.now();
    return requeuePending();
  };
  const sweepWorker = new Worker(
    QUEUES.sweep,
    async () => {
      const t0 = performance.now();
      const r = await sweeper.sweep();
      counters?.swept((performance.now() - t0) / 1000, r.issued.map((n) => n.level));
      const digested = await digests.run().catch((err: Error) => log.error({ err: err.message }, "morning digest failed: tried again at the next pass"));
      const requeued = await requeueNowAndThen();
      if (r.more) await sweepQueue.add("sweep", {}, { removeOnComplete: true, removeOnFail: 100 });
      return { cases: r.cases, issued: r.issued.length, superseded: r.superseded.length, publicityEnded: r.publicityEnded.length, problems: r.problems.length, requeued, more: r.more, digests: digested ? digested.issued.length : 0 };
    },
    { connection: conn(workerConnection(redisUrl)), prefix, name, concurrency: 1 },
  );
  // Checkpoints: only a worker holding the signer key and the directory signs.
  const keys = ledgerKeys(config);
  const signing = keys?.signer && config.LEDGER_DIR ? { signer: keys.signer, verifiers: keys.verifiers, dir: config.LEDGER_DIR, clock, tsaUrl: config.LEDGER_TSA_URL } : null;
  if (!signing) log.info(keys?.signer ? "ledger checkpoints off in this worker: LEDGER_DIR is not set" : "ledger checkpoints off: no LEDGER_KEY or LEDGER_KEY_FILE (docs/ledger.md)");
  const checkpointQueue = signing ? makeQueue(QUEUES.checkpoint, conn(queueConnection(redisUrl)), prefix) : null;
  checkpointQueue?.on("error", outage);
  const checkpointWorker = signing
    ? new Worker(
        QUEUES.checkpoint,
        async () => {
          const r = await signCheckpoint(signing);
          if (r.status === "refused") log.error({ reason: r.reason }, "ledger checkpoint refused");
          else if (r.status === "signed") log.info({ n: r.n, size: r.size }, "ledger checkpoint signed");
          return r;
        },
        { connection: conn(workerConnection(redisUrl)), prefix, name, concurrency: 1 },
      )
    : null;
  const connectionError = (err: Error & { code?: string }) => /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE)$/.test(err.code ?? "") || /Connection is closed|Stream isn't writeable/.test(err.message);
  for (const w of [deliveryWorker, sweepWorker, ...(checkpointWorker ? [checkpointWorker] : [])]) {
    w.on("failed", (job, err) => {
      log.warn({ queue: w.name, jobId: job?.id, attempts: job?.attemptsMade, err: err.message }, "job failed");
      counters?.jobFailed(w.name);
      // attemptsMade counts this attempt already.
      if (job && w === deliveryWorker) counters?.deliveryFailed(job.name, job.attemptsMade >= (job.opts.attempts ?? 1));
    });
    w.on("error", (err) => (connectionError(err) ? outage(err) : log.error({ queue: w.name, err: err.message }, "worker error")));
  }

  // The scheduler lives in Redis; upserting it again every minute restores it if Redis lost it.
  // After an import: a burst of entries waiting for a position gets a checkpoint within a watchdog tick,
  // not at the next scheduled one.
  const checkpointAfterBurst = async () => {
    if (!checkpointQueue || (await unnumberedEntries(IMPORT_BURST)) < IMPORT_BURST) return;
    await checkpointQueue.add("checkpoint", {}, { jobId: "after-import", removeOnComplete: true, removeOnFail: true });
  };
  const upsertScheduler = () =>
    Promise.all([
      checkpointAfterBurst().catch((err) => log.warn({ err: err.message }, "could not queue a checkpoint after an import")),
      sweepQueue
        .upsertJobScheduler("sweep", { pattern: config.SWEEP_CRON, tz: "Asia/Shanghai" }, { name: "sweep" })
        .catch((err) => log.warn({ err: err.message }, "could not upsert the sweep scheduler")),
      checkpointQueue
        ?.upsertJobScheduler("checkpoint", { pattern: config.LEDGER_CHECKPOINT_CRON, tz: "Asia/Shanghai" }, { name: "checkpoint", opts: { removeOnComplete: 100, removeOnFail: 100 } })
        .catch((err) => log.warn({ err: err.message }, "could not upsert the checkpoint scheduler")),
    ]);
  let watchdog: NodeJS.Timeout | null = null;
  if (schedule) {
    await upsertScheduler();
    watchdog = setInterval(upsertScheduler, config.SCHEDULER_WATCHDOG_MS);
    await requeueNowAndThen();
    // A checkpoint at start: a new deployment (or the demo) shows one without waiting for the schedule.
    await checkpointQueue?.add("checkpoint", {}, { removeOnComplete: 100, removeOnFail: 100 }).catch(() => undefined);
  }
  const heartbeatFile = config.HEARTBEAT_FILE;
  const beat = () => heartbeatFile && writeFile(heartbeatFile, new Date().toISOString()).catch(() => {});
  const heartbeat = heartbeatFile ? setInterval(beat, 30_000) : null;
  await beat();

  return {
    sweeper,
    deliveryQueue,
    sweepQueue,
    checkpointQueue,
    requeuePending,
    async close(graceMs = Number.POSITIVE_INFINITY) {
      if (watchdog) clearInterval(watchdog);
      if (heartbeat) clearInterval(heartbeat);
      const finished = Promise.all([deliveryWorker.close(), sweepWorker.close(), checkpointWorker?.close()]).then(() => true);
      const inTime = await (Number.isFinite(graceMs) ? Promise.race([finished, sleep(graceMs).then(() => false)]) : finished);
      if (!inTime) log.warn({ graceMs }, "jobs still running at the end of the grace period: left to another worker once their locks expire");
      await Promise.all([deliveryQueue.close(), sweepQueue.close(), checkpointQueue?.close()]);
      deliverer.close();
      await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
      return inTime;
    },
  };
}
