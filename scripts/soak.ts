/**
 * `npm run soak [-- --quick] [--seed N] [--cases N] [--walked N] [--seconds N] [--units N] [--office N] [--sweep-every S] [--out FILE]`
 * The product run as production runs it, under faults: a TLS terminator (https, a certificate made at
 * start) and nginx in front of 2 web processes (COOKIE_SECURE=1, TRUST_PROXY=2), 3 workers, a
 * ledger of --cases cases, a mixed load of office and unit users for --seconds while the sweep issues
 * notices (one unit's also to a rate-limited 飞书 robot, a fake that refuses beyond its limit); meanwhile
 * one worker and one web process are SIGKILLed and started again and Redis is
 * restarted. Then the ledger is checked (scripts/soak/checks.ts) and the figures printed. Exit 1 when a
 * check fails. `npm run soak` runs it under scripts/with-services.sh (Redis and the MongoDB-compatible
 * server, as the tests); it works in its own database (`<db>_soak`, dropped first) and queue prefix.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import mongoose from "mongoose";
import { loadConfig } from "../src/config.ts";
import { CaseSchedule, NoticeDelivery, SweepState, Unit } from "../src/db/models.ts";
import { connectDb, disconnectDb, ensureIndexes } from "../src/db/connection.ts";
import { seedRules } from "../src/notices/rules.ts";
import { QUEUES, makeQueue } from "../src/queues.ts";
import { busiest, fakeFeishu } from "../test/support/fakes.ts";
import { startHttp, startSmtp } from "../test/support/receivers.ts";
import { fmt, runServices } from "../bench/lib.ts";
import { acknowledgedEvents, deliveriesSettled, dueIssued, ledgerVerifies, oneNoticePerKey, robotDelivered, type Check } from "./soak/checks.ts";
import { Cluster, Nginx, RedisControl, Timeline } from "./soak/cluster.ts";
import { ACTIVE_UNITS, scheduleAll, seedLedger } from "./soak/ledger.ts";
import { Client, Recorder, runUser, type Kind, type UserPlan } from "./soak/load.ts";
import { freshSeed, random, seedRandom } from "./soak/random.ts";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    seed: { type: "string" },
    cases: { type: "string" },
    walked: { type: "string" },
    seconds: { type: "string" },
    units: { type: "string" },
    office: { type: "string" },
    "sweep-every": { type: "string" },
    out: { type: "string", default: "soak-results.json" },
  },
});
const quick = values.quick! || process.env.npm_config_quick === "true";
const num = (v: string | undefined, full: number, small: number) => {
  const n = v === undefined ? (quick ? small : full) : Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`not a positive integer: ${v}`);
  return n;
};
const sizes = {
  cases: num(values.cases, 10_000, 2000),
  walked: num(values.walked, 400, 120),
  seconds: num(values.seconds, 300, 50),
  /** Unit liaisons signed in, each a user of the load (at most the active units). */
  units: Math.min(num(values.units, 6, 4), ACTIVE_UNITS.length),
  office: num(values.office, 2, 1),
  sweepEvery: num(values["sweep-every"], 10, 5),
};
// Every random choice of the run (cases, actions, pauses, the flaky webhook) derives from it; printed below.
const seed = values.seed === undefined ? freshSeed() : Number(values.seed);
if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`--seed: not an integer from 0 to 4294967295: ${values.seed}`);
seedRandom(seed);
const DELIVERY_ATTEMPTS = 4;
const METRICS_TOKEN = "soak-metrics-token-0123456789";

const { dbUri, redisUrl, prefix } = runServices("soak");
const password = loadConfig().DEMO_PASSWORD;
const runDir = mkdtempSync(join(tmpdir(), "rectiflow-soak-"));

console.log(`Rectiflow soak${quick ? " (quick)" : ""}: ${cpus().length} cores, Node ${process.version}; ${JSON.stringify(sizes)}; --seed ${seed}`);
const started = Date.now();
// Whatever happens, no child (nginx, the app's processes) outlives the soak.
const live: { cluster: Cluster | null; nginx: Nginx | null } = { cluster: null, nginx: null };
process.on("exit", () => {
  live.cluster?.killNow();
  live.nginx?.killNow();
});
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(130));

await connectDb(dbUri);
await mongoose.connection.dropDatabase();
await ensureIndexes();
await seedRules();

const smtp = await startSmtp();
// Where the units' webhooks point: /hook/ok always answers 200, /hook/flaky fails a fifth of requests, /hook/dead always fails.
const hooks = await startHttp((_, path) => (path === "/hook/dead" ? 500 : path === "/hook/flaky" && random() < 0.2 ? 503 : 200));
const setup0 = Date.now();
const ledger = await seedLedger({ cases: sizes.cases, walked: sizes.walked, password, webhook: (p) => hooks.url(p) });
// One rate-limited robot: a 飞书 fake that refuses beyond 5 a second and 100 a minute, the group robot of
// the units the load acts for (one group for several units, as a district's), so its limit is reached.
const FEISHU_HOOK = "0c8a7f1e-2b3d-4e5f-9a8b-7c6d5e4f3a2b";
const feishu = await fakeFeishu({ [FEISHU_HOOK]: "soakFeishuSecret0123" });
const robotUnits = ACTIVE_UNITS.map((code) => ledger.units.get(code)!);
await Unit.updateMany({ _id: mongoose.trusted({ $in: robotUnits }) }, { $set: { "notify.feishu": { hook: FEISHU_HOOK, secret: "soakFeishuSecret0123" } } });
console.log(`ledger: ${sizes.cases} cases (${ledger.walked.length} walked through the case service) in ${fmt((Date.now() - setup0) / 1000)} s`);

const env = {
  MONGODB_URI: dbUri,
  REDIS_URL: redisUrl,
  QUEUE_PREFIX: prefix,
  DEMO_SEED: "0",
  LOG_LEVEL: "warn",
  // The same on every web process: a session made by one is honoured by the other.
  SESSION_SECRET: "soak-session-secret-shared-by-every-web-process",
  // Behind the TLS terminator and nginx, as docker-compose.yml: two proxies, the session cookie Secure.
  TRUST_PROXY: "2",
  COOKIE_SECURE: "1",
  METRICS_TOKEN,
  SMTP_URL: smtp.url,
  FEISHU_BASE_URL: feishu.base,
  // The sweep's cron with seconds (BullMQ takes a 6-field pattern), so a short run sees many passes.
  SWEEP_CRON: `*/${sizes.sweepEvery} * * * * *`,
  SCHEDULER_WATCHDOG_MS: "5000",
  DELIVERY_ATTEMPTS: String(DELIVERY_ATTEMPTS),
  DELIVERY_BACKOFF_MS: "1000",
  STALLED_INTERVAL_MS: "5000",
  WEBHOOK_TIMEOUT_MS: "3000",
};
const cluster = new Cluster({ env, webs: 2, workers: 3, metricsToken: METRICS_TOKEN });
live.cluster = cluster;
await cluster.start();
const nginx = await Nginx.start(runDir, cluster.webPorts, 20);
live.nginx = nginx;
console.log(`TLS terminator on ${nginx.url} → nginx on 127.0.0.1:${nginx.port} → web processes on ${cluster.webPorts.join(", ")}; workers' metrics on ${cluster.metricsPorts.join(", ")}`);
const redis = new RedisControl(redisUrl, process.env.RECTIFLOW_REDIS_DIR);

// The users, signed in through nginx.
const rec = new Recorder();
const leads = new Map(ledger.walked.map((c) => [c.id, c.lead]));
const users: UserPlan[] = [];
for (const code of ACTIVE_UNITS.slice(0, sizes.units)) {
  const unitId = ledger.units.get(code)!;
  const mine = ledger.walked.filter((c) => c.assigned && (c.lead === unitId || c.co.includes(unitId)));
  users.push({ client: new Client(nginx.url, code, password, rec, nginx.ca), role: "unit", cases: mine, leads });
}
for (let i = 0; i < sizes.office; i++) users.push({ client: new Client(nginx.url, "staff", password, rec, nginx.ca), role: "office", cases: ledger.walked, leads });
for (const u of users) await u.client.login();

const t0 = Date.now();
const until = t0 + sizes.seconds * 1000;
const timeline = new Timeline(t0);
const scheduled = await scheduleAll(new Date(t0), sizes.seconds * 700);
timeline.note(`load starts: ${users.length} users (${sizes.units} unit liaisons, ${sizes.office} office staff); ${scheduled} schedules, a tenth due now, the rest over the first 70 % of the run`);

// With an offline queue: a burst queued while Redis restarts goes out once it is back.
const sweepConnection = new Redis(redisUrl, { maxRetriesPerRequest: null });
sweepConnection.on("error", () => {});
const sweepQueue = makeQueue(QUEUES.sweep, sweepConnection, prefix);
sweepQueue.on("error", () => {});
const probes = { idempotency: [] as string[], login: "", sweepBursts: 0 };
const lagSamples: { at: number; lag: number }[] = [];

/** Three sweep jobs at once: the three workers sweep concurrently. */
const sweepBurst = async () => {
  await sweepQueue.addBulk([1, 2, 3].map((i) => ({ name: "sweep", data: { burst: probes.sweepBursts, i } }))).catch((e: Error) => timeline.note(`sweep burst not queued: ${e.message}`));
  probes.sweepBursts++;
  timeline.note("three sweep jobs queued at once (concurrent passes on three workers)");
};

/** The same event with the same key, sent to both web processes directly at once: applied once. */
const idempotencyProbe = async () => {
  const u = users.find((x) => x.role === "unit")!;
  // A case that takes a progress report now: up to 5 tries, since a random one often does not (a quick
  // run has only two probes, and once both found none, the check had nothing to show).
  let c: (typeof u.cases)[number] | undefined;
  let v: { case?: { version: number }; allowedEvents?: string[] } = {};
  for (let i = 0; i < 5 && !c; i++) {
    const pick = u.cases[Math.floor(random() * u.cases.length)]!;
    const view = await u.client.send("open case", "GET", `/api/cases/${pick.id}`);
    v = view.body as typeof v;
    if (view.status === 200 && v.allowedEvents?.includes("REPORT_PROGRESS")) c = pick;
  }
  if (!c) return;
  const key = `soak-probe-${Date.now()}`;
  const payload = { percent: 50, text: "双机并发提交同一幂等键" };
  if (!cluster.webs.every((w) => w.alive)) return;
  const [a, b] = await Promise.all(cluster.webPorts.map((_, i) => u.client.event(c.id, "REPORT_PROGRESS", payload, v.case!.version, { base: cluster.webUrl(i), key, kind: "idempotency probe" })));
  const seqs = [a!, b!].map((x) => (x.status === 200 ? (x.body as { entry: { seq: number }; replayed: boolean }) : null));
  if (seqs.some((x) => !x)) probes.idempotency.push(`answers ${a!.status}/${b!.status} (a process was down or the case moved)`);
  else probes.idempotency.push(seqs[0]!.entry.seq === seqs[1]!.entry.seq && seqs.filter((x) => !x!.replayed).length === 1 ? "ok" : `MISMATCH ${JSON.stringify(seqs)}`);
};

/**
 * Wrong passwords for one account from one address, to both web processes in turn (with the headers the
 * terminator and nginx add: the client's address, the terminator's, https): the limit is counted in
 * Redis for both, so the right password is then refused by each.
 */
const loginProbe = async () => {
  const attempts = loadConfig(env as NodeJS.ProcessEnv).LOGIN_ATTEMPTS;
  const probe = new Client(nginx.url, "gaj", password, new Recorder(), nginx.ca);
  const login = (pw: string, web: number) => probe.send("login", "POST", "/api/auth/login", { json: { username: "gaj", password: pw }, headers: { "x-forwarded-for": "203.0.113.7, 127.0.0.1", "x-forwarded-proto": "https" }, base: cluster.webUrl(web) });
  const statuses: number[] = [];
  for (let i = 0; i < attempts; i++) statuses.push((await login("wrong-password", i % 2)).status);
  const right = [(await login(password, 0)).status, (await login(password, 1)).status];
  probes.login = `wrong password ${statuses.join(", ")} alternating web 1 and web 2, then the right one: ${right.join(" and ")}`;
  timeline.note(`login limit across web processes: ${probes.login}`);
};

const sampleLag = async () => {
  const lags = await Promise.all(
    cluster.metricsPorts.map((p) =>
      fetch(`http://127.0.0.1:${p}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` }, signal: AbortSignal.timeout(5000) })
        .then((r) => r.text())
        .then((t) => Number(/^rectiflow_sweep_lag_seconds (\S+)$/m.exec(t)?.[1] ?? Number.NaN))
        .catch(() => Number.NaN),
    ),
  );
  const lag = Math.max(...lags.filter(Number.isFinite));
  if (Number.isFinite(lag)) lagSamples.push({ at: Date.now(), lag });
};

const at = (share: number) => t0 + share * sizes.seconds * 1000;
const faults = (async () => {
  const plan: [number, () => Promise<void>][] = [
    [0.2, () => cluster.killAndRestart("worker", 1, 3000, timeline)],
    [0.3, sweepBurst],
    [0.4, () => cluster.killAndRestart("web", 0, 3000, timeline)],
    [0.5, loginProbe],
    [0.6, () => (redis.restartable ? redis.restart(3000, timeline) : Promise.resolve(timeline.note("Redis restart skipped: REDIS_URL was not started by scripts/services.sh")))],
    [0.75, sweepBurst],
  ];
  for (const [share, step] of plan) {
    await sleep(Math.max(0, at(share) - Date.now()));
    await step().catch((e: Error) => timeline.note(`FAILED: ${e.message}`));
  }
})();
const background = (async () => {
  let n = 0;
  while (Date.now() < until) {
    await sleep(5000);
    await sampleLag();
    if (++n % 4 === 0) await idempotencyProbe().catch((e: Error) => probes.idempotency.push(`error ${e.message}`));
  }
})();
await Promise.all(users.map((u) => runUser(u, until)));
const loadEnd = new Date();
timeline.note("load ends");
await Promise.all([faults, background]);

// The ledger settles: a pass that began after the load sees every case as it ended, no schedule is
// left due, and every delivery is sent or failed for good.
const settle0 = Date.now();
const settleFor = (quick ? 90 : 180) * 1000;
const settled = async (what: string, f: () => Promise<boolean>) => {
  while (!(await f())) {
    if (Date.now() - settle0 > settleFor) {
      timeline.note(`not settled within ${settleFor / 1000} s: ${what}`);
      return;
    }
    await sleep(1000);
  }
  timeline.note(`settled: ${what}`);
};
await settled("a sweep pass that began after the load has completed, and no schedule is due", async () => {
  const s = await SweepState.findById("notices").lean();
  return !!s && s.lastStart >= loadEnd && (await CaseSchedule.countDocuments({ nextAt: mongoose.trusted({ $lte: loadEnd }) })) === 0;
});
await settled("no delivery pending", async () => (await NoticeDelivery.countDocuments({ status: "pending" })) === 0);
await sampleLag();
const lagMetricAtEnd = lagSamples.at(-1)?.lag ?? Number.NaN;
const sweepJobs = await sweepQueue.getJobs(["completed", "failed"], 0, 10_000);
await sweepQueue.close();
sweepConnection.disconnect();

const stopProblems = await cluster.stop();
timeline.note(`every process sent SIGTERM: ${stopProblems.length ? `PROBLEMS ${stopProblems.join("; ")}` : "all drained and exited 0"}`);
await nginx.stop();

const checks: Check[] = [];
checks.push(await acknowledgedEvents(rec.acks));
checks.push(await oneNoticePerKey());
checks.push(await dueIssued(loadEnd));
checks.push(
  ...(await deliveriesSettled(DELIVERY_ATTEMPTS, { emails: smtp.accepted.map((m) => m.noticeId ?? ""), webhooks: hooks.requests.filter((r) => r.status < 300).map((r) => String(r.headers["idempotency-key"])) })),
);
// A notice's message ends with its link; a morning digest's has none, its subject (recipient and day) names it.
const robotNotice = (text: unknown) => {
  const t = String(text ?? "");
  const link = /\/notices\/([^/\s]+)\/print$/.exec(t)?.[1];
  return link ? decodeURIComponent(link) : `digest ${t.split("\n")[0]}`;
};
checks.push(
  await robotDelivered(
    "feishu",
    feishu.accepted().map((r) => ({ id: robotNotice((r.json?.content as { text?: string } | undefined)?.text), at: r.at })),
    feishu.requests.filter((r) => r.code === 11232 || r.code === 9499).length,
    busiest(feishu.requests.map((r) => r.at), 1000),
    cluster.kills.filter((k) => k.role === "worker").map((k) => k.at),
    Number(env.WEBHOOK_TIMEOUT_MS) + 5_000,
  ),
);
checks.push(...(await ledgerVerifies()));
const bothWebs = [...rec.upstreamsBySession.values()].filter((s) => new Set([...s].map((u) => u.split(":").pop())).size >= 2).length;
const idemOk = probes.idempotency.filter((p) => p === "ok").length;
const secure = users.filter((u) => u.client.secureCookie).length;
checks.push({
  what: "sessions (Secure cookies over https), login limits and idempotency are shared by the web processes",
  ok: secure === users.length && bothWebs === rec.upstreamsBySession.size && /: 429 and 429$/.test(probes.login) && !probes.idempotency.some((p) => p.startsWith("MISMATCH")) && idemOk > 0,
  detail: `${secure} of ${users.length} users signed in through the TLS terminator with a Secure cookie; ${bothWebs} of ${rec.upstreamsBySession.size} users' sessions answered by both web processes without signing in again; login: ${probes.login || "not run"}; same key to both at once: ${idemOk} applied once of ${probes.idempotency.length} probes${probes.idempotency.filter((p) => p !== "ok").length ? ` (${probes.idempotency.filter((p) => p !== "ok").join("; ")})` : ""}`,
});

const sampleOf = (xs: string[]) => (xs.length ? ` (${[...new Set(xs)].slice(0, 3).join("; ")})` : "");
// Sweep passes by worker process, and those that overlapped another worker's pass.
const passes = sweepJobs
  .filter((j) => j.processedOn && j.finishedOn)
  .map((j) => ({ by: j.processedBy ?? "?", from: j.processedOn!, to: j.finishedOn!, issued: (j.returnvalue as { issued?: number } | null)?.issued ?? 0, failed: j.failedReason ?? "" }));
const overlapping = passes.filter((p) => passes.some((q) => q !== p && q.by !== p.by && q.from < p.to && p.from < q.to)).length;
const issuedByPasses = passes.reduce((s, p) => s + p.issued, 0);
checks.push({
  what: "concurrent sweeps on several workers issue each notice once",
  ok: overlapping > 0 && checks[1]!.ok,
  detail: `${passes.length} passes by ${new Set(passes.map((p) => p.by)).size} worker processes (one restarted), ${overlapping} overlapping another worker's pass, ${passes.filter((p) => p.failed).length} failed${sampleOf(passes.filter((p) => p.failed).map((p) => p.failed))}; notices issued by the passes ${issuedByPasses}`,
});
const stopped = { what: "SIGTERM drains every process: each exits 0", ok: !stopProblems.length, detail: stopProblems.join("; ") || "2 web processes and 3 workers" };
checks.push(stopped);

// ------------------------------------------------------------------ report
const seconds = (loadEnd.getTime() - t0) / 1000;
const kinds: Kind[] = ["login", "list cases", "open case", "apply event", "upload evidence", "list notices", "acknowledge notice", "idempotency probe"];
const pct = (xs: number[], p: number) => {
  if (!xs.length) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
// The run's requests, and the users' sign-ins just before it.
const during = rec.attempts.filter((a) => (a.at >= t0 || a.kind === "login") && a.at <= loadEnd.getTime());
const rows = [...kinds, "all" as const].map((k) => {
  const xs = k === "all" ? during : during.filter((a) => a.kind === k);
  const answered = xs.filter((a) => a.status > 0).map((a) => a.ms);
  const ok = xs.filter((a) => a.status >= 200 && a.status < 300).length;
  return { kind: k, requests: xs.length, ok, other: xs.length - ok, p50: pct(answered, 50), p99: pct(answered, 99), perSecond: ok / seconds };
});
const causes = new Map<string, number>();
for (const a of during) if (a.cause) causes.set(`${a.kind}: ${a.cause}`, (causes.get(`${a.kind}: ${a.cause}`) ?? 0) + 1);
const nginxRetries = nginx.retried();

const table = (head: string[], lines: string[][]) => [`| ${head.join(" | ")} |`, `|${head.map(() => " --- ").join("|")}|`, ...lines.map((l) => `| ${l.join(" | ")} |`)].join("\n");
const out: string[] = [];
out.push(`Soak (--seed ${seed}): ${sizes.cases.toLocaleString("en-US")} cases (${ledger.walked.length} walked), ${users.length} users for ${fmt(seconds)} s, 2 web + 3 worker processes behind nginx; ${cpus().length} cores, Node ${process.version}`);
out.push("");
out.push(table(["request kind", "requests", "2xx", "other", "p50 ms", "p99 ms", "2xx/s"], rows.map((r) => [r.kind, String(r.requests), String(r.ok), String(r.other), fmt(r.p50), fmt(r.p99), fmt(r.perSecond)])));
out.push("");
const causeRows = [...causes].sort((a, b) => b[1] - a[1]).map(([c, n]) => [c, String(n)]);
out.push(table(["errors by cause (non-2xx answers and lost answers)", "count"], causeRows.length ? causeRows : [["none", "0"]]));
out.push("");
const retries = [...rec.retries].map(([c, n]) => `${n} × ${c}`).join("; ") || "none";
out.push(`Retried: by nginx on the other web process ${nginxRetries.total} (${JSON.stringify(nginxRetries.byMethod)}); by the client with the same Idempotency-Key: ${retries}; acknowledged events that took more than one attempt: ${rec.acks.filter((a) => a.attempts > 1).length}.`);
out.push(`Requests per web process (nginx): ${JSON.stringify(nginxRetries.byUpstream)}.`);
const peak = (role: string) => fmt(Math.max(...cluster.peaks.filter((p) => p.role === role).map((p) => p.mb)));
out.push(`Peak RSS: web processes up to ${peak("web")} MB, workers up to ${peak("worker")} MB.`);
const maxLag = lagSamples.reduce((m, x) => Math.max(m, x.lag), 0);
out.push(
  `Sweep lag (rectiflow_sweep_lag_seconds, the highest of the workers' metrics ports, every 5 s): max ${fmt(maxLag)} s, at the end ${fmt(lagMetricAtEnd)} s ` +
    `(${lagSamples.map((x) => fmt(x.lag)).join(", ")}).`,
);
out.push("");
out.push(table(["fault timeline", "event"], timeline.events.map((e) => [timeline.stamp(e.at), e.what])));
out.push("");
out.push(table(["check (from the ledger)", "result", "detail"], checks.map((c) => [c.what, c.ok ? "ok" : "FAILED", c.detail])));
const report = out.join("\n");
console.log(`\n${report}\n\n(${Math.round((Date.now() - started) / 1000)} s in all)`);
writeFileSync(values.out!, `${JSON.stringify({ at: new Date().toISOString(), seed, sizes, seconds, rows, causes: Object.fromEntries(causes), retries: Object.fromEntries(rec.retries), nginxRetries, lagSamples, timeline: timeline.events, checks, passes, report }, null, 2)}\n`);
console.log(`results written to ${values.out}`);

const failed = checks.filter((c) => !c.ok);
if (failed.length) console.log(`\nprocess output (warnings and errors):\n${cluster.logs().slice(-8000)}`);
await smtp.close();
await hooks.close();
await feishu.close();
await disconnectDb();
rmSync(runDir, { recursive: true, force: true });
process.exit(failed.length ? 1 : 0);
