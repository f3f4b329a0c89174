/**
 * Redis connections and queue names. Redis is transport only: every job can be derived again
 * from the ledger. Queues fail fast when Redis is down; workers wait for it.
 */
import { once } from "node:events";
import { Queue } from "bullmq";
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
