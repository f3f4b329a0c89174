/**
 * What every benchmark shares: rounds with a warm-up (median, min–max), the result table and its
 * JSON, and the app's own processes (web, worker) run as children so their peak RSS is theirs.
 */
import { readFileSync, readdirSync } from "node:fs";
import { eachConcurrently } from "../src/concurrently.ts";

export interface Sizes {
  quick: boolean;
  /** Bench 1–2: events applied per round. */
  events: number;
  /** Bench 3: schedules seeded for the sweep's due query (and as many cases for the changed-cases query, up to 100,000). */
  schedules: number;
  /** Bench 4: notices from sweep to inbox. */
  notices: number;
  /** Bench 5: seconds per HTTP run. */
  httpSeconds: number;
  /** Bench 5: the ledger sizes the HTTP runs read and write, one after the other. */
  httpCases: number[];
  /** Bench 7: rows in the imported list. */
  rows: number;
  rounds: number;
}

export interface Row {
  bench: string;
  figure: string;
  unit: string;
  median: number;
  min: number;
  max: number;
  rounds: number;
  note?: string;
}

export interface Goal {
  bench: string;
  what: string;
  value: number;
  goal: string;
  met: boolean;
}

export class Results {
  readonly rows: Row[] = [];
  readonly goals: Goal[] = [];
  /** Anything else worth keeping (query plans, counts). */
  readonly facts: Record<string, unknown> = {};

  add(bench: string, figure: string, unit: string, samples: number[], note?: string): Row {
    const s = [...samples].sort((a, b) => a - b);
    const mid = s.length >> 1;
    const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
    const row = { bench, figure, unit, median, min: s[0]!, max: s[s.length - 1]!, rounds: s.length, ...(note ? { note } : {}) };
    this.rows.push(row);
    console.log(`  ${figure}: ${fmt(median)} ${unit}${s.length > 1 ? ` (${fmt(row.min)}–${fmt(row.max)}, ${s.length} rounds)` : ""}${note ? `  ${note}` : ""}`);
    return row;
  }

  goal(bench: string, what: string, value: number, goal: string, met: boolean): void {
    this.goals.push({ bench, what, value, goal, met });
    console.log(`  ${what}: ${fmt(value)} (goal ${goal}: ${met ? "met" : "MISSED"})`);
  }

  table(): string {
    const head = ["bench", "figure", "median", "min–max", "unit", "rounds"];
    const lines = this.rows.map((r) => [r.bench, r.figure, fmt(r.median), r.rounds > 1 ? `${fmt(r.min)}–${fmt(r.max)}` : "", r.unit, String(r.rounds)]);
    const goals = this.goals.map((g) => [g.bench, g.what, fmt(g.value), "", `goal ${g.goal}`, g.met ? "met" : "MISSED"]);
    const all = [head, ...lines, ...goals];
    const widths = head.map((_, i) => Math.max(...all.map((l) => width(l[i]!))));
    const pad = (s: string, w: number) => s + " ".repeat(w - width(s));
    const render = (l: string[]) => `| ${l.map((c, i) => pad(c, widths[i]!)).join(" | ")} |`;
    return [render(head), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...lines.map(render), ...goals.map(render)].join("\n");
  }
}

export function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  if (a >= 1000) return Math.round(n).toLocaleString("en-US");
  if (a >= 100) return n.toFixed(0);
  if (a >= 10) return n.toFixed(1);
  return n.toFixed(a >= 1 ? 2 : 3);
}

/** Display width: CJK characters take two columns. */
function width(s: string): number {
  let w = 0;
  for (const ch of s) w += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/.test(ch) ? 2 : 1;
  return w;
}

/** Runs `fn` once to warm up, then `n` times; returns what each round measured. */
export async function rounds(n: number, fn: (round: number) => Promise<number>, warmup = true): Promise<number[]> {
  if (warmup) await fn(-1);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await fn(i));
  return out;
}

/** Operations per second of `count` operations timed by `fn`. */
export async function perSecond(count: number, fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return count / ((performance.now() - t0) / 1000);
}

export async function millis(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** Runs `task(i)` for i in [0, n) on `concurrency` lanes. */
export const pool = (n: number, concurrency: number, task: (i: number) => Promise<unknown>): Promise<void> =>
  eachConcurrently(Array.from({ length: n }, (_, i) => i), concurrency, task);

/** Runs `task(i)` for i in [0, n): lane l takes i = l, l + lanes, ... in order (so a case that only one lane touches never sees two writers). */
export async function lanes(n: number, count: number, task: (i: number) => Promise<unknown>): Promise<void> {
  await Promise.all(
    Array.from({ length: Math.min(count, n) }, async (_, l) => {
      for (let i = l; i < n; i += count) await task(i);
    }),
  );
}

export { AppProcess, freePort, peakRssMb } from "../test/support/processes.ts";

/**
 * The services with-services.sh started, for a run of `tag` ("bench", "soak"): its own database
 * (`<db>_<tag>`) and queue prefix, so the run never touches the app's data. Exits when they are not set.
 */
export function runServices(tag: string): { dbUri: string; redisUrl: string; prefix: string } {
  const baseUri = process.env.MONGODB_URI;
  const redisUrl = process.env.REDIS_URL;
  if (!baseUri || !redisUrl) {
    console.error(`MONGODB_URI and REDIS_URL are needed: run \`npm run ${tag}\` (it starts them)`);
    process.exit(2);
  }
  const url = new URL(baseUri);
  url.pathname = `/${url.pathname.slice(1) || "rectiflow"}_${tag}`;
  return { dbUri: url.toString(), redisUrl, prefix: `rectiflow-${tag}` };
}

/** A day in milliseconds. */
export const DAY = 86_400_000;

/** A signed-in session of a web process, as a browser holds it. */
export interface Session {
  cookie: string;
  csrf: string;
}

/** Signs in through the real login of the web process at baseUrl. */
export async function signIn(baseUrl: string, username: string, password: string): Promise<Session> {
  const res = await fetch(`${baseUrl}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username, password }) });
  if (!res.ok) throw new Error(`login as ${username}: ${res.status} ${await res.text()}`);
  const cookie = res.headers.getSetCookie().map((c) => c.split(";")[0]!).find((c) => c.startsWith("rf.sid="));
  if (!cookie) throw new Error(`login as ${username} set no rf.sid cookie`);
  const { csrfToken } = (await res.json()) as { csrfToken: string };
  return { cookie, csrf: csrfToken };
}

/** The processes a bench's CPU is spent in, told apart by their command lines. */
const CPU_CLASSES: [string, RegExp][] = [
  ["web", /src\/main\.ts\0web/],
  ["worker", /src\/main\.ts\0worker/],
  ["FerretDB", /ferretdb/],
  ["PostgreSQL", /^(\S*\/)?postgres(\0|:)/],
  ["Redis", /redis-server/],
  ["bench", /bench\/run\.ts/],
];

/**
 * CPU seconds used so far by each process of the classes above, with what its exited children used
 * (PostgreSQL's backends are reaped by the postmaster), by pid (Linux /proc; clock ticks at 100 Hz).
 */
export function cpuSeconds(): Map<number, { cls: string; s: number }> {
  const seen = new Map<number, { cls: string; s: number }>();
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const cls = CPU_CLASSES.find(([, re]) => re.test(readFileSync(`/proc/${pid}/cmdline`, "latin1")))?.[0];
      if (!cls) continue;
      const f = readFileSync(`/proc/${pid}/stat`, "latin1").split(") ")[1]!.split(" ");
      seen.set(Number(pid), { cls, s: (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100 });
    } catch {
      // gone in between
    }
  }
  return seen;
}

/** CPU spent per class between two cpuSeconds() readings, per unit of work, in ms ("PostgreSQL 12.1 ms, web 8.0 ms, …"); a process that exits in between counts through its parent. */
export function cpuSplit(before: Map<number, { cls: string; s: number }>, after: Map<number, { cls: string; s: number }>, units: number): string {
  const sums: Record<string, number> = {};
  for (const [pid, { cls, s }] of after) sums[cls] = (sums[cls] ?? 0) + s - (before.get(pid)?.s ?? 0);
  return Object.entries(sums)
    .map(([k, sec]) => [k, (sec * 1000) / units] as const)
    .filter(([, ms]) => ms > 0.005)
    .sort((a, b) => b[1] - a[1])
    .map(([k, ms]) => `${k} ${fmt(ms)} ms`)
    .join(", ");
}
