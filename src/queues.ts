/**
 * Redis connections and queue names. Redis is transport only: every job can be derived again
 * from the ledger. Queues fail fast when Redis is down; workers wait for it.
 */
import { once } from "node:events";
import { Queue, type Job } from "bullmq";
import { Redis } from "ioredis";

export const QUEUES = { sweep: "notice-sweep", delivery: "notice-delivery", checkpoint: "ledger-checkpoint" } as const;

/** A connection for workers (blocking commands: no per-request retry limit). */
export function workerConnection(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null });
}

/** A connection for producers: a command fails after one retry instead of hanging while Redis is down. */
export function queueConnection(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
}

export class RedisPolicyError extends Error {}

/** BullMQ loses jobs if Redis evicts keys; refuse to run against such a Redis. */
export async function assertNoEviction(redis: Redis): Promise<void> {
  if (redis.status !== "ready") await once(redis, "ready");
  const reply = (await redis.config("GET", "maxmemory-policy")) as string[];
  const policy = reply[1];
  if (policy !== "noeviction")
    throw new RedisPolicyError(
      `Redis maxmemory-policy is "${policy}"; Rectiflow's workers need "noeviction" (set it in redis.conf or with CONFIG SET maxmemory-policy noeviction), or queued notices may be evicted.`,
    );
}

export function makeQueue(name: string, connection: Redis, prefix: string): Queue {
  return new Queue(name, { connection, prefix });
}

/** The job states a queue's summary counts. */
export const JOB_STATES = ["waiting", "active", "delayed", "completed", "failed"] as const;
export type JobState = (typeof JOB_STATES)[number];

/** What the 管理 page shows of a queue: its counts, its last failures and its schedules; `error` when Redis did not answer. */
export interface QueueSummary {
  name: string;
  counts: Record<JobState, number>;
  failed: { id: string | undefined; name: string; reason: string; attempts: number; at: number; finishedOn: number | null }[];
  schedulers: { name: string; pattern: string | null; every: number | null; tz: string | null; next: number | null; iterations: number }[];
  error: string | null;
}

/** A promise that gives up after `ms` (a hung Redis must not hang the page). */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${ms / 1000} 秒内无响应`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Each queue's summary: the last 20 failures and 50 schedulers, within five seconds or as an error. */
export function queueSummary(queues: Queue[]): Promise<QueueSummary[]> {
  return Promise.all(
    queues.map(async (q): Promise<QueueSummary> => {
      const empty = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
      try {
        const [counts, failed, schedulers] = await within(Promise.all([q.getJobCounts(...JOB_STATES), q.getFailed(0, 19), q.getJobSchedulers(0, 49, true)]), 5000);
        return {
          name: q.name,
          counts: Object.fromEntries(JOB_STATES.map((s) => [s, counts[s] ?? 0])) as Record<JobState, number>,
          failed: (failed as Job[]).filter(Boolean).map((j) => ({ id: j.id, name: j.name, reason: j.failedReason, attempts: j.attemptsMade, at: j.timestamp, finishedOn: j.finishedOn ?? null })),
          schedulers: schedulers.map((s) => ({ name: s.name, pattern: s.pattern ?? null, every: s.every ?? null, tz: s.tz ?? null, next: s.next ?? null, iterations: s.iterationCount ?? 0 })),
          error: null,
        };
      } catch (e) {
        return { name: q.name, counts: empty, failed: [], schedulers: [], error: (e as Error).message };
      }
    }),
  );
}
