/**
 * 5. HTTP: autocannon against the app's own web process (started by run.ts), signed in through the
 * real login, over a ledger of a few thousand cases: the filtered ledger page (`GET /api/cases`, 50 a
 * page) as the office and as a unit, and progress reports (`POST /api/cases/:id/events`) by a unit,
 * each at a fixed 100 req/s and at max throughput. Every response must be a 2xx.
 */
import autocannon from "autocannon";
import mongoose, { type mongo } from "mongoose";
import { addCalendarDays, shanghaiDate, type Actor } from "../workflows/index.ts";
import { CATEGORIES } from "../src/cases/schemas.ts";
import { CaseService } from "../src/cases/service.ts";
import { ManualClock } from "../src/clock.ts";
import { loadConfig } from "../src/config.ts";
import { Case, CaseHistory, CaseSchedule, Notice, NoticeDelivery, Sequence, User } from "../src/db/models.ts";
import { actorOf } from "../src/directory.ts";
import { DEMO_UNITS, seedDirectory } from "../src/seed.ts";
import { emptyCollections, fmt, pool } from "./lib.ts";
import type { BenchContext } from "./run.ts";

/** Connections of every run: a busy office's worth of browsers. */
const CONNECTIONS = 10;
const RATE = 100;
/** Per request: far above any latency worth reporting, so that only a failure counts as an error. */
const TIMEOUT_SECONDS = 120;
const DAY = 86_400_000;
/** Cases made per batch of the ledger build, and how many at once. */
const SEED_BATCH = 100;
const SEED_LANES = 4;

interface Session {
  cookie: string;
  csrf: string;
}

/** What one connection sends next. */
interface Shot {
  method: "GET" | "POST";
  path: string;
  body?: string;
}

interface Run {
  result: autocannon.Result;
  /** Requests sent but not answered when the run ended. */
  open: number;
}

interface Target {
  label: string;
  session: Session;
  what: string;
  /** The request source of one connection; lanes never share a case, so no request meets a version conflict of the bench's own making. */
  lane: (lane: number) => () => Shot;
}

export async function benchHttp(ctx: BenchContext): Promise<void> {
  const { sizes, results } = ctx;
  if (!ctx.app) throw new Error("the HTTP bench needs the app's web process (run.ts starts it)");
  const { baseUrl } = ctx.app;
  const password = loadConfig().DEMO_PASSWORD;
  const units = await seedDirectory(password);
  const count = sizes.httpCases;
  try {
    const t0 = performance.now();
    const ledger = await seedLedger(units, count);
    const setupSeconds = (performance.now() - t0) / 1000;
    console.log(`  ledger: ${count} cases in ${fmt(setupSeconds)} s (${fmt(count / setupSeconds)} cases/s, with their events); ${ledger.reportable.length} take progress reports from the signed-in unit`);

    const office = await signIn(baseUrl, "staff", password);
    const unit = await signIn(baseUrl, "sthjj", password);
    const officeQuery = "kind=inspection&state=rectifying&sort=deadline&pageSize=50";
    const unitQuery = "state=rectifying&sort=-updatedAt&pageSize=50";
    const officePages = await pages(baseUrl, office, officeQuery);
    const unitPages = await pages(baseUrl, unit, unitQuery);
    const idle = { session: office, ms: await probe(baseUrl, office) };
    let report = 0;
    const targets: Target[] = [
      {
        label: "GET cases (office)",
        session: office,
        what: `GET /api/cases?${officeQuery}&page=1…${officePages.pages} of ${officePages.total} as office staff`,
        lane: () => {
          let n = 0;
          return () => ({ method: "GET", path: `/api/cases?${officeQuery}&page=${1 + (n++ % officePages.pages)}` });
        },
      },
      {
        label: "GET cases (unit)",
        session: unit,
        what: `GET /api/cases?${unitQuery}&page=1…${unitPages.pages} of ${unitPages.total} as a unit (own cases only)`,
        lane: () => {
          let n = 0;
          return () => ({ method: "GET", path: `/api/cases?${unitQuery}&page=${1 + (n++ % unitPages.pages)}` });
        },
      },
      {
        label: "POST events",
        session: unit,
        what: `POST /api/cases/:id/events REPORT_PROGRESS by the lead or co-unit over ${ledger.reportable.length} cases`,
        lane: (lane) => {
          const mine = ledger.reportable.filter((_, i) => i % CONNECTIONS === lane);
          if (mine.length === 0) throw new Error(`too few cases for ${CONNECTIONS} connections: ${ledger.reportable.length}`);
          let n = 0;
          return () => {
            const k = report++;
            const body = { type: "REPORT_PROGRESS", payload: { percent: k % 101, text: `第${k}次报送：已完成现场整治，正在组织复核` } };
            return { method: "POST", path: `/api/cases/${mine[n++ % mine.length]}/events`, body: JSON.stringify(body) };
          };
        },
      },
    ];

    // Long runs: one round each in a full run; the short runs of --quick take the usual rounds.
    const roundCount = sizes.quick ? sizes.rounds : 1;
    const raw: Record<string, autocannon.Result[]> = {};
    for (const t of targets) {
      await warm(baseUrl, t);
      for (const [mode, rate] of [[`${RATE}/s`, RATE], ["max", undefined]] as const) {
        const name = `${t.label}, ${mode}`;
        const runs: Run[] = [];
        for (let r = 0; r < roundCount; r++) runs.push(await load(baseUrl, t, { seconds: sizes.httpSeconds, rate }, idle));
        raw[name] = runs.map((x) => x.result);
        const answered = runs.reduce((s, x) => s + x.result["2xx"], 0);
        const open = runs.reduce((s, x) => s + x.open, 0);
        // autocannon paces each connection by the second: its share back to back, then a wait.
        const pacing = rate ? `, paced at ${rate / CONNECTIONS}/s each` : "";
        // A round without an answer has no latency (autocannon says 0): it is left out, or NaN if all are.
        const answering = runs.filter((x) => x.result["2xx"] > 0).map((x) => x.result.latency);
        const silent = runs.length - answering.length;
        const note = `${t.what}; ${CONNECTIONS} connections${pacing}; ${runs.length} × ${sizes.httpSeconds} s; ${answered} answered, 0 errors${open ? `, ${open} still open at the end (not counted)` : ""}${silent ? `; no answer in ${silent} of ${runs.length} rounds` : ""}`;
        const latency = (p: "p50" | "p99") => (answering.length ? answering.map((l) => l[p]) : [Number.NaN]);
        results.add("5 http", `${name}: p50`, "ms", latency("p50"), note);
        results.add("5 http", `${name}: p99`, "ms", latency("p99"));
        results.add("5 http", `${name}: throughput`, "req/s", runs.map(({ result: x }) => x["2xx"] / x.duration));
      }
    }
    results.facts.http = { cases: count, setupSeconds, reportable: ledger.reportable.length, connections: CONNECTIONS, officeList: officePages, unitList: unitPages, runs: raw };
    await Promise.all([office, unit].map((s) => post(baseUrl, s, "/api/auth/logout")));
  } finally {
    // The next bench starts from an empty ledger; units and users stay.
    await emptyCollections([Case, CaseHistory, CaseSchedule, Notice, NoticeDelivery, Sequence] as never[]);
  }
}

/**
 * `count` cases written through the case service with a clock 60 days back, so that deadlines spread
 * over the past (overdue) and the next year: inspections registered, assigned and (most) rectifying,
 * complaints received, accepted and investigating; lead units spread over the demo units, a third led
 * by 市生态环境局 (sthjj), half with a co-unit. Returns the open cases sthjj may report progress on.
 *
 * FerretDB (SQLite) scans a whole collection even to find a document by its `_id`, so building the
 * ledger in place would cost the square of its size: it is built in batches, and what each batch
 * wrote is parked in other collections until the end.
 */
async function seedLedger(units: Map<string, string>, count: number): Promise<{ reportable: string[] }> {
  const since = new Date(Date.now() - 60 * DAY);
  const service = new CaseService(new ManualClock(since));
  const office = actorOf((await User.findOne({ username: "staff" }).lean())!);
  const liaisons = new Map<string, Actor>();
  for (const u of await User.find({ role: "unit_user" }).lean()) liaisons.set(u.unitId!, actorOf(u));
  const codes = DEMO_UNITS.map(([code]) => code);
  const sthjj = units.get("sthjj")!;
  const day = (offset: number) => addCalendarDays(shanghaiDate(since), offset);
  const act = (id: string, type: string, payload: Record<string, unknown>, who: Actor) => service.applyEvent(id, { type, payload }, who);
  const reportable: string[] = [];

  const one = async (i: number) => {
    const lead = i % 3 === 0 ? sthjj : units.get(codes[i % codes.length]!)!;
    const co = units.get(codes[(i * 7 + 1) % codes.length]!)!;
    const coUnitIds = i % 2 && co !== lead ? [co] : [];
    const category = CATEGORIES[i % CATEGORIES.length]!;
    if (i % 5 === 4) {
      const c = await service.createCase(
        { kind: "complaint", title: `群众反映第${i}号点位夜间噪声和异味扰民`, description: "夜间施工噪声及异味明显，请求查处。", category, channel: "12369热线", complainant: { name: `群众${i}`, phone: "13800000000" } },
        office,
      );
      const id = c._id.toString();
      if (i % 20 === 9) return;
      await act(id, "ACCEPT", {}, office);
      if (i % 20 === 19) return;
      await act(id, "ASSIGN", { leadUnitId: lead, coUnitIds, deadline: day(10 + (i % 45)) }, office);
      if (lead === sthjj || coUnitIds.includes(sthjj)) reportable.push(id);
    } else {
      const c = await service.createCase(
        {
          kind: "inspection",
          ledgerNumber: `HTTP-${String(i).padStart(6, "0")}`,
          round: i % 2 ? "中央第二轮" : "省级第一轮",
          title: `第${i}号问题：部分企业污染治理设施运行不正常`,
          description: "督察发现部分企业污染治理设施未正常运行，超标排放问题时有发生，群众反映强烈。",
          category,
          goal: "治理设施稳定运行，达标排放",
          measures: "开展专项执法检查，限期整改，按月报送进展",
        },
        office,
      );
      const id = c._id.toString();
      if (i % 10 === 0) return;
      await act(id, "ASSIGN", { leadUnitId: lead, coUnitIds, deadline: day(1 + ((i * 37) % 400)), requirements: "按月报送整改进展" }, office);
      if (i % 10 === 1) return;
      await act(id, "SIGN", {}, liaisons.get(lead)!);
      if (lead === sthjj || coUnitIds.includes(sthjj)) reportable.push(id);
    }
  };
  // Complaint numbers go on from the highest of each sequence, which therefore stays.
  const lastNumbers = (docs: mongo.Document[]) => {
    const top = new Map<string, number>();
    for (const d of docs) top.set(d.name, Math.max(top.get(d.name) ?? 0, d.n));
    return (d: mongo.Document) => d.n === top.get(d.name);
  };
  const parking: [mongo.Collection, (docs: mongo.Document[]) => (d: mongo.Document) => boolean][] = [
    [Case.collection, () => () => false],
    [CaseHistory.collection, () => () => false],
    [Sequence.collection, lastNumbers],
  ];
  const lot = (c: mongo.Collection) => mongoose.connection.db!.collection(`${c.collectionName}_bench_parked`);
  await Promise.all(parking.map(([c]) => lot(c).drop().catch(() => undefined)));
  for (let from = 0; from < count; from += SEED_BATCH) {
    await pool(Math.min(SEED_BATCH, count - from), SEED_LANES, (j) => one(from + j));
    for (const [c, keeps] of parking) {
      const all = await c.find({}).toArray();
      const keep = keeps(all);
      const moving = all.filter((d) => !keep(d));
      if (moving.length === 0) continue;
      await lot(c).insertMany(moving);
      await c.deleteMany({ _id: { $in: moving.map((d) => d._id) } });
    }
  }
  for (const [c] of parking) {
    const all = await lot(c).find({}).toArray();
    for (let k = 0; k < all.length; k += 500) await c.insertMany(all.slice(k, k + 500));
    await lot(c).drop();
  }
  return { reportable };
}

async function signIn(baseUrl: string, username: string, password: string): Promise<Session> {
  const res = await fetch(`${baseUrl}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username, password }) });
  if (!res.ok) throw new Error(`login as ${username}: ${res.status} ${await res.text()}`);
  const cookie = res.headers.getSetCookie().map((c) => c.split(";")[0]!).find((c) => c.startsWith("rf.sid="));
  if (!cookie) throw new Error(`login as ${username} set no rf.sid cookie`);
  const { csrfToken } = (await res.json()) as { csrfToken: string };
  return { cookie, csrf: csrfToken };
}

async function post(baseUrl: string, s: Session, path: string): Promise<void> {
  const res = await fetch(`${baseUrl}${path}`, { method: "POST", headers: { cookie: s.cookie, "x-csrf-token": s.csrf } });
  if (!res.ok) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
}

/** How many cases a list query matches and how many pages of it the load walks (at most 10: the pages people read). */
async function pages(baseUrl: string, s: Session, query: string): Promise<{ total: number; pages: number }> {
  const res = await fetch(`${baseUrl}/api/cases?${query}`, { headers: { cookie: s.cookie } });
  if (!res.ok) throw new Error(`GET /api/cases?${query}: ${res.status} ${await res.text()}`);
  const { total, pageSize } = (await res.json()) as { total: number; pageSize: number };
  if (total === 0) throw new Error(`GET /api/cases?${query} matches no case`);
  return { total, pages: Math.min(10, Math.ceil(total / pageSize)) };
}

/** A few requests one by one before the runs: JIT, connection pools, caches. */
async function warm(baseUrl: string, t: Target): Promise<void> {
  const next = t.lane(0);
  for (let i = 0; i < 5; i++) {
    const shot = next();
    const res = await fetch(`${baseUrl}${shot.path}`, { method: shot.method, body: shot.body, headers: { cookie: t.session.cookie, "x-csrf-token": t.session.csrf, "content-type": "application/json" } });
    if (!res.ok) throw new Error(`${t.label}: ${shot.method} ${shot.path}: ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
  }
}

/**
 * One autocannon run. A slow answer is latency, not an error, so the timeout is generous. What the
 * server still works on when the run ends (autocannon drops those requests) must not weigh on the
 * next run: until a lone list request is about as fast as on the idle server, the run waits.
 * Throws, after printing what came back, unless every response was a 2xx.
 */
async function load(baseUrl: string, t: Target, run: { seconds: number; rate?: number }, idle: { session: Session; ms: number }): Promise<Run> {
  const failures: string[] = [];
  let lanes = 0;
  // Counted here: autocannon's requests.sent over-counts paced runs (it adds the rate per connection at start).
  let sent = 0;
  const result = await autocannon({
    url: baseUrl,
    connections: CONNECTIONS,
    duration: run.seconds,
    timeout: TIMEOUT_SECONDS,
    // Its correction for coordinated omission assumes a 1 ms interval at any rate (Math.ceil(1 / rate))
    // and so fills the histogram with made-up samples below each real one: report what was measured.
    ...(run.rate ? { overallRate: run.rate, ignoreCoordinatedOmission: true } : {}),
    headers: { cookie: t.session.cookie, "x-csrf-token": t.session.csrf, "content-type": "application/json" },
    setupClient: (client) => {
      const next = t.lane(lanes++ % CONNECTIONS);
      client.setRequests([
        {
          setupRequest: (req) => {
            sent++;
            return { ...req, ...next() };
          },
          onResponse: (status, body) => {
            if (status >= 300 && failures.length < 5) failures.push(`${status} ${body.slice(0, 500)}`);
          },
        },
      ]);
    },
  });
  const answered = result["2xx"] + result.non2xx;
  const open = sent - answered - result.errors;
  if (open > 0) await settle(baseUrl, idle);
  if (result.non2xx > 0 || result.errors > 0) {
    console.error(`  ${t.label}: status counts ${JSON.stringify(result.statusCodeStats)}; first failures:\n    ${failures.join("\n    ")}`);
    throw new Error(`${t.label}: ${result.non2xx} non-2xx responses and ${result.errors} errors (${result.timeouts} timeouts after ${TIMEOUT_SECONDS} s) of ${answered + result.errors} requests; the HTTP bench needs 0`);
  }
  return { result, open };
}

/**
 * Waits (at most the timeout) until three lone list requests in a row answer within twice the idle
 * time: one fast answer can slip in between writes the server is still processing.
 */
async function settle(baseUrl: string, idle: { session: Session; ms: number }): Promise<void> {
  const until = Date.now() + TIMEOUT_SECONDS * 1000;
  let quiet = 0;
  while (quiet < 3 && Date.now() < until) {
    const ms = await probe(baseUrl, idle.session);
    quiet = ms > 2 * idle.ms ? 0 : quiet + 1;
  }
}

/** Milliseconds of a lone `GET /api/cases?pageSize=1`, which reads the whole ledger on FerretDB. */
async function probe(baseUrl: string, s: Session): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${baseUrl}/api/cases?pageSize=1`, { headers: { cookie: s.cookie } });
  if (!res.ok) throw new Error(`GET /api/cases?pageSize=1: ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
  return performance.now() - t0;
}
