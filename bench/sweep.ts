/**
 * 3. The sweep's queries at scale: N schedules (and up to 100,000 cases) bulk-inserted, then 1% / 5%
 * / 20% of the schedules made due. Timed: the sweep's own queries (src/notices/sweep.ts: the due page
 * it takes per pass, 5,000 oldest first; the cases changed since its last pass), with the rows each
 * read against the rows it returned, from a plan that ran it (test/support/plans.ts rowsRead).
 */
import mongoose from "mongoose";
import { Case, CaseSchedule } from "../src/db/models.ts";
import { changedCases, dueSchedules } from "../src/notices/sweep.ts";
import { refreshStatistics, rowsRead } from "../test/support/plans.ts";
import { insertSyntheticCases } from "../test/support/synthetic.ts";
import type { BenchContext } from "./run.ts";
import { DAY, millis, rounds } from "./lib.ts";

const BATCH = 10_000;
const PAGE = 5000;

export async function benchSweep(ctx: BenchContext): Promise<void> {
  const { sizes, results } = ctx;
  const n = sizes.schedules;
  const caseCount = Math.min(n, 100_000);
  const now = new Date();
  // Schedules spread evenly over a year from now, in an order unrelated to insertion; "p% due" is
  // then the sweep running at the moment by which p% of them have come (nothing rewritten between).
  const span = 365 * DAY;
  const slot = (i: number) => (i * 7919) % n;
  const nextAt = (i: number) => new Date(now.getTime() + Math.floor((slot(i) / n) * span));
  const dueBy = (pct: number) => new Date(now.getTime() + Math.floor((pct / 100) * span));

  console.log(`  seeding ${n.toLocaleString("en-US")} schedules and ${caseCount.toLocaleString("en-US")} cases (raw insertMany, batches of ${BATCH})…`);
  const seedSchedules = await millis(async () => {
    for (let start = 0; start < n; start += BATCH) {
      const docs = Array.from({ length: Math.min(BATCH, n - start) }, (_, k) => ({
        _id: new mongoose.Types.ObjectId().toString(),
        nextAt: nextAt(start + k),
        version: 3,
        problem: null,
        computedAt: now,
      }));
      await CaseSchedule.collection.insertMany(docs as never[], { ordered: false });
      if ((start / BATCH) % 20 === 19) console.log(`    ${(start + BATCH).toLocaleString("en-US")}`);
    }
  });
  const seedCases = await millis(() => insertSyntheticCases(Case.collection, caseCount, { units: ["u1", "u2", "u3"], now: new Date(now.getTime() - 3600_000), prefix: "SWEEP" }));
  results.add("3 sweep", `seed ${n.toLocaleString("en-US")} schedules (raw insertMany)`, "docs/s", [(n / seedSchedules) * 1000]);
  results.add("3 sweep", `seed ${caseCount.toLocaleString("en-US")} cases (raw insertMany)`, "docs/s", [(caseCount / seedCases) * 1000]);
  // As autovacuum would within a minute of the load.
  await refreshStatistics();

  for (const pct of [1, 5, 20]) {
    const at = dueBy(pct);
    let due = 0;
    for (let i = 0; i < n; i++) if (nextAt(i) <= at) due++;
    let pageSize = 0;
    const page = await rounds(sizes.rounds, () =>
      millis(async () => {
        pageSize = (await dueSchedules(at, PAGE).lean()).length;
      }),
    );
    if (pageSize !== Math.min(PAGE, due)) throw new Error(`expected a page of ${Math.min(PAGE, due)}, found ${pageSize}`);
    results.add("3 sweep", `${pct}% due (${due.toLocaleString("en-US")}): one pass's page of ${pageSize.toLocaleString("en-US")}`, "ms", page);
    const read = await rowsRead(dueSchedules(at, PAGE) as never);
    const ratio = read.examined / Math.max(1, read.returned);
    results.goal("3 sweep", `${pct}% due page: rows read ÷ returned (${read.examined.toLocaleString("en-US")} ÷ ${read.returned.toLocaleString("en-US")}, ${read.source})`, ratio, "≤ 1.1", ratio <= 1.1);
  }

  // The other query of every pass: cases changed since the last one (1% of them here).
  const since = new Date(now.getTime() - 5 * 60_000);
  const changedCount = Math.max(1, Math.floor(caseCount / 100));
  const touched = (await Case.find({}, { _id: 1 }).limit(changedCount).lean()).map((c) => c._id);
  await Case.updateMany({ _id: mongoose.trusted({ $in: touched }) }, { $set: { updatedAt: now } });
  await refreshStatistics();
  const changed = await rounds(sizes.rounds, () => millis(() => changedCases(since, PAGE).lean()));
  results.add("3 sweep", `changed-cases query (${changedCount.toLocaleString("en-US")} of ${caseCount.toLocaleString("en-US")} changed)`, "ms", changed);
  const read = await rowsRead(changedCases(since, PAGE) as never);
  const ratio = read.examined / Math.max(1, read.returned);
  results.goal("3 sweep", `changed cases: rows read ÷ returned (${read.examined.toLocaleString("en-US")} ÷ ${read.returned.toLocaleString("en-US")})`, ratio, "≤ 1.1", ratio <= 1.1);

  // What reading every schedule costs on this server, for comparison with the queries above.
  const scan = await rounds(Math.min(2, sizes.rounds), () => millis(() => CaseSchedule.collection.find({ computedAt: { $lt: new Date(0) } }).toArray()));
  results.add("3 sweep", `full scan of ${n.toLocaleString("en-US")} schedules (matches none)`, "ms", scan, "the cost of reading every schedule");
  // A primary-key lookup, the cheapest read the app makes (every case load, every delivery).
  const some = (await CaseSchedule.collection.find({}, { projection: { _id: 1 }, limit: 50 }).toArray()).map((d) => d._id);
  const byId = await rounds(sizes.rounds, () => millis(() => Promise.all(some.map((id) => CaseSchedule.findById(id).lean()))));
  results.add("3 sweep", "50 primary-key lookups in case_schedules", "ms", byId, `among ${n.toLocaleString("en-US")}`);

  await Promise.all([Case.deleteMany({}), CaseSchedule.deleteMany({})]);
}
