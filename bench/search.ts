/**
 * Search pages only: `bash scripts/with-services.sh npx tsx bench/search.ts [--cases 10000] [--rounds 25]`.
 * Loads a synthetic ledger (test/support/synthetic.ts) into its own database (`<db>_search`, dropped
 * first), then sends `GET /api/cases?q=…` through the real app, one request at a time, for common and
 * rare words, as the office and as a unit. Per word: the median wall time of a request and the CPU that
 * PostgreSQL and FerretDB spent per request (from /proc). Sequential and small, so that it can run back
 * to back against another checkout of the code on a shared machine.
 */
import { parseArgs } from "node:util";
import mongoose from "mongoose";
import { rebuildCounts } from "../src/cases/counts.ts";
import { connectDb, disconnectDb, ensureIndexes } from "../src/db/connection.ts";
import { Case } from "../src/db/models.ts";
import { makeWorld } from "../test/support/fixtures.ts";
import { makeUsers, signIn, testApp } from "../test/support/http.ts";
import { insertSyntheticCases } from "../test/support/synthetic.ts";
import { refreshStatistics } from "../test/support/plans.ts";
import { cpuSeconds } from "./lib.ts";

const { values } = parseArgs({ options: { cases: { type: "string", default: "10000" }, rounds: { type: "string", default: "25" }, label: { type: "string", default: "" } } });
const CASES = Number(values.cases);
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

const base = new URL(process.env.MONGODB_URI!);
base.pathname = `/${base.pathname.slice(1) || "rectiflow"}_search`;
await connectDb(base.toString());
await mongoose.connection.dropDatabase();
await ensureIndexes();
const w = await makeWorld();
await makeUsers(w);
await insertSyntheticCases(Case.collection, CASES, { units: Object.values(w.units), now: w.clock.now() });
await rebuildCounts();
await refreshStatistics({ vacuum: true });
const t = testApp(w);
const who = { office: await signIn(t.app, "staff"), unit: await signIn(t.app, "lead") };


const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const cpuOf = (before: ReturnType<typeof cpuSeconds>, after: ReturnType<typeof cpuSeconds>, cls: string) =>
  [...after].filter(([, v]) => v.cls === cls).reduce((sum, [pid, v]) => sum + v.s - (before.get(pid)?.s ?? 0), 0);

console.log(`search pages, ${CASES} cases, ${ROUNDS} rounds${values.label ? `, ${values.label}` : ""}`);
console.log("actor  | word | matches | wall p50 ms | PostgreSQL ms/req | FerretDB ms/req");
for (const [actor, client] of Object.entries(who))
  for (const [word, share] of WORDS) {
    const url = `/api/cases?q=${encodeURIComponent(word)}&sort=-updatedAt`;
    const first = await client.get(url).expect(200);
    const walls: number[] = [];
    const cpu0 = cpuSeconds();
    for (let i = 0; i < ROUNDS; i++) {
      const t0 = performance.now();
      await client.get(url).expect(200);
      walls.push(performance.now() - t0);
    }
    const cpu1 = cpuSeconds();
    const per = (cls: string) => ((cpuOf(cpu0, cpu1, cls) * 1000) / ROUNDS).toFixed(1);
    console.log(`${actor} | ${word} (${share}) | ${first.body.total}${first.body.totalCapped ? "+" : ""} | ${median(walls).toFixed(1)} | ${per("PostgreSQL")} | ${per("FerretDB")}`);
  }
await t.close();
await disconnectDb();
process.exit(0);
