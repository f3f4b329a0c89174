/**
 * Per-robot send limits shared by every worker through Redis: a sliding log of send times per robot
 * (a sorted set), checked and appended in one Lua script on Redis's own clock, so three workers on
 * three machines never exceed a robot's limit together. A send over the limit is told how long to
 * wait; the delivery job then waits (delayed), it does not fail. A robot the provider blocked (钉钉:
 * 10 minutes after its limit was exceeded) is held back as a whole until the block ends.
 */
import { createHash } from "node:crypto";
import type { Redis } from "ioredis";

export interface Window {
  limit: number;
  ms: number;
}

/**
 * The providers' documented limits per robot. Each window is kept 250 ms longer than documented:
 * our count is taken when the send starts, the provider's when the request arrives.
 */
const MARGIN_MS = 250;
export const ROBOT_LIMITS: Record<"wecom" | "dingtalk" | "feishu", Window[]> = {
  wecom: [{ limit: 20, ms: 60_000 + MARGIN_MS }],
  dingtalk: [{ limit: 20, ms: 60_000 + MARGIN_MS }],
  feishu: [
    { limit: 5, ms: 1_000 + MARGIN_MS },
    { limit: 100, ms: 60_000 + MARGIN_MS },
  ],
};
/** How long 钉钉 blocks a robot that exceeded its limit. */
export const DINGTALK_BLOCK_MS = 10 * 60_000;

// KEYS: the log, the block. ARGV: window ms, limit, … , member. Returns 0 (taken) or ms to wait.
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local blocked = redis.call('PTTL', KEYS[2])
if blocked > 0 then return blocked end
local longest = 0
for i = 1, #ARGV - 1, 2 do longest = math.max(longest, tonumber(ARGV[i])) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - longest)
local wait = 0
for i = 1, #ARGV - 1, 2 do
  local w = tonumber(ARGV[i])
  local limit = tonumber(ARGV[i + 1])
  local n = redis.call('ZCOUNT', KEYS[1], now - w + 1, '+inf')
  if n >= limit then
    local freeing = redis.call('ZRANGEBYSCORE', KEYS[1], now - w + 1, '+inf', 'WITHSCORES', 'LIMIT', n - limit, 1)
    local until_free = tonumber(freeing[2]) + w - now
    if until_free > wait then wait = until_free end
  end
end
if wait > 0 then return wait end
redis.call('ZADD', KEYS[1], now, ARGV[#ARGV])
redis.call('PEXPIRE', KEYS[1], longest)
return 0
`;

/** A robot's name in Redis: a hash of its channel and key, never the key itself. */
export const robotId = (channel: string, key: string) => createHash("sha256").update(`${channel}\n${key}`).digest("hex").slice(0, 24);

export class RobotLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    redis.defineCommand("rectiflowTakeSlot", { numberOfKeys: 2, lua: TAKE });
  }

  private keys(robot: string) {
    return [`${this.prefix}:robot:${robot}:sends`, `${this.prefix}:robot:${robot}:blocked`];
  }

  /** Takes a send slot for the robot: 0 when taken, else how many ms until one may be free. */
  async take(robot: string, windows: Window[], member: string): Promise<number> {
    const args = windows.flatMap((w) => [String(w.ms), String(w.limit)]);
    const run = (this.redis as unknown as { rectiflowTakeSlot(...a: string[]): Promise<number> }).rectiflowTakeSlot;
    return Number(await run.call(this.redis, ...this.keys(robot), ...args, `${Date.now()}:${member}:${Math.random().toString(36).slice(2)}`));
  }

  /** Holds every send to the robot back for ms (the provider said it blocked the robot). */
  async block(robot: string, ms: number): Promise<void> {
    await this.redis.set(this.keys(robot)[1]!, "1", "PX", ms);
  }
}
