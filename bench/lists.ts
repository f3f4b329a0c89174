/**
 * Ledger pages one at a time: `bash scripts/with-services.sh npx tsx bench/lists.ts [--set search|filters]
 * [--cases 10000] [--rounds 25] [--reuse]`. Loads a synthetic ledger (test/support/synthetic.ts) into its own
 * database (`<db>_lists`, dropped first), then sends `GET /api/cases` through the real app (in this
 * process), one request at a time, as the office and as a unit: for common and rare search words
 * (`search`), or for every filter × sort of bench 5 (`filters`). Per query: the median wall time of a
 * request and the CPU that this process (the app), PostgreSQL and FerretDB spent per request. Sequential
 * and small, so that it finds the costly queries that bench 5's load averages over, and can run back to
 * back against another checkout of the code on a shared machine.
 */
import { parseArgs } from "node:util";
import mongoose from "mongoose";
import { rebuildCounts } from "../src/cases/counts.ts";
import { connectDb, disconnectDb, ensureIndexes } from "../src/db/connection.ts";
import { Case, Unit } from "../src/db/models.ts";
import { CaseService } from "../src/cases/service.ts";
import { ManualClock } from "../src/clock.ts";
import { WORLD_UNITS, makeWorld, type World } from "../test/support/fixtures.ts";
import { makeUsers, signIn, testApp } from "../test/support/http.ts";
import { insertSyntheticCases } from "../test/support/synthetic.ts";
import { refreshStatistics } from "../test/support/plans.ts";
import { addCalendarDays, shanghaiDate } from "../workflows/index.ts";
import { SORTS } from "../src/cases/queries.ts";
import { listFilters } from "./http.ts";
import { cpuSeconds } from "./lib.ts";

const { values } = parseArgs({ options: { reuse: { type: "boolean", default: false }, set: { type: "string", default: "search" }, cases: { type: "string", default: "10000" }, rounds: { type: "string", default: "25" }, label: { type: "string", default: "" } } });
const CASES = Number(values.cases);
const WORLD_START = "2026-03-02T09:00:00+08:00";
const ROUNDS = Number(values.rounds);

/** Words of the synthetic ledger, from everywhere to nowhere (share of the ledger in brackets). */
const WORDS: [string, string][] = [
  ["治理不到位", "every title"],
  ["锅炉", "1 in 5 titles"],
  ["污水直排", "1 in 10 descriptions"],
  ["城东新区", "1 in 13 descriptions"],
  ["西山村矿山", "1 in 130"],
  ["问题1234", "1 title"],
  ["ZY-0004321", "1 ledger number"],
  ["不存在的词", "none"],
  ["锅", "one character: the regex"],
];

// One database per size: with --reuse, one this script loaded before is used as it is (a 100,000-case load takes minutes).
const base = new URL(process.env.MONGODB_URI!);
base.pathname = `/${base.pathname.slice(1) || "rectiflow"}_lists_${CASES}`;
await connectDb(base.toString());
const reused = values.reuse && (await Case.estimatedDocumentCount()) === CASES;
let w: Pick<World, "clock" | "service" | "units">;
if (reused) {
  w = await worldOf(WORLD_START);
  // The counts as this checkout keeps them (another may have kept them otherwise).
  await rebuildCounts();
} else {
  await mongoose.connection.dropDatabase();
  await ensureIndexes();
  w = await makeWorld(WORLD_START);
  await makeUsers(w as World);
  await insertSyntheticCases(Case.collection, CASES, { units: Object.values(w.units), now: w.clock.now() });
  await rebuildCounts();
  await refreshStatistics({ vacuum: true });
}
const t = testApp(w as World);
const who = { office: await signIn(t.app, "staff"), unit: await signIn(t.app, "lead") };


const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const cpuOf = (before: ReturnType<typeof cpuSeconds>, after: ReturnType<typeof cpuSeconds>, cls: string) =>
  [...after].filter(([, v]) => v.cls === cls).reduce((sum, [pid, v]) => sum + v.s - (before.get(pid)?.s ?? 0), 0);

/** The world of a database loaded before: its units by name, as makeWorld made them. */
async function worldOf(start: string): Promise<Pick<World, "clock" | "service" | "units">> {
  const id = async (name: string) => (await Unit.findOne({ name }).lean())!._id.toString();
  const clock = new ManualClock(start);
  const [lead, co, other] = await Promise.all(WORLD_UNITS.map(id));
  return { clock, service: new CaseService(clock), units: { lead: lead!, co: co!, other: other! } };
}

const day = (offset: number) => addCalendarDays(shanghaiDate(w.clock.now()), offset);
const queries: [string, string][] =
  values.set === "filters"
    ? Object.entries(listFilters(Object.values(w.units)[0]!, day)).flatMap(([name, f]) => SORTS.map((sort): [string, string] => [`${f}&sort=${sort}`, `${name} × ${sort}`]))
    : WORDS.map(([word, share]) => [`q=${encodeURIComponent(word)}&sort=-updatedAt`, `${word} (${share})`]);

console.log(`ledger pages (${values.set}), ${CASES} cases, ${ROUNDS} rounds${values.label ? `, ${values.label}` : ""}`);
console.log("actor | query | matches | wall p50 ms | app ms/req | PostgreSQL ms/req | FerretDB ms/req");
for (const [actor, client] of Object.entries(who))
  for (const [query, label] of queries) {
    const url = `/api/cases?${query}&pageSize=50`;
    const first = await client.get(url).expect(200);
    const walls: number[] = [];
    const cpu0 = cpuSeconds();
    const app0 = process.cpuUsage();
    for (let i = 0; i < ROUNDS; i++) {
      const t0 = performance.now();
      await client.get(url).expect(200);
      walls.push(performance.now() - t0);
    }
    const app = process.cpuUsage(app0);
    const cpu1 = cpuSeconds();
    const per = (cls: string) => ((cpuOf(cpu0, cpu1, cls) * 1000) / ROUNDS).toFixed(1);
    console.log(`${actor} | ${label} | ${first.body.total}${first.body.totalCapped ? "+" : ""} | ${median(walls).toFixed(1)} | ${((app.user + app.system) / 1000 / ROUNDS).toFixed(1)} | ${per("PostgreSQL")} | ${per("FerretDB")}`);
  }
await t.close();
await disconnectDb();
process.exit(0);
