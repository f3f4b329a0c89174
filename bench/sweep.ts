/**
 * 3. Overdue sweep at scale: N cases and their schedules bulk-inserted with the raw driver, then
 * 1% / 5% / 20% of the schedules made due. Timed: the sweep's own queries — the due page it takes
 * per pass (5,000, oldest first), every due id (what all passes together read), and the changed-cases
 * query — and their explain() plans. No claim step exists: a notice is unique by its key, so two
 * sweeps over the same due case issue it once (see src/notices/issuer.ts).
 */
import mongoose from "mongoose";
import { Case, CaseSchedule } from "../src/db/models.ts";
import type { BenchContext } from "./run.ts";
import { emptyCollections, millis, rounds } from "./lib.ts";

const BATCH = 5000;
const PAGE = 5000;
const DAY = 86_400_000;

export async function benchSweep(ctx: BenchContext): Promise<void> {
  const { sizes, results } = ctx;
  const n = sizes.cases;
  const now = new Date();
  const cases = Case.collection;
  // Schedules spread evenly over a year from now, in an order unrelated to insertion; "p% due" is
  // then the sweep running at the moment by which p% of them have come (nothing rewritten between).
  const span = 365 * DAY;
  const slot = (i: number) => (i * 7919) % n;
  const nextAt = (i: number) => new Date(now.getTime() + Math.floor((slot(i) / n) * span));
  const dueBy = (pct: number) => new Date(now.getTime() + Math.floor((pct / 100) * span));
  const schedules = CaseSchedule.collection;

  // Realistic case documents: the fields and the snapshot a rectifying inspection carries.
  const caseDoc = (i: number, _id: mongoose.Types.ObjectId) => {
    const context = {
      leadUnitId: `unit-${i % 60}`,
      coUnitIds: i % 3 ? [] : [`unit-${(i + 7) % 60}`],
      requirements: "按期完成整改并报送佐证材料",
      assignedOn: "2026-03-02",
      deadline: "2026-12-31",
      deadlineRevision: 1,
      longTerm: false,
      progressPercent: i % 100,
      lastProgressOn: "2026-10-01",
      pendingExtension: null,
      extensionCount: 0,
      reopenCount: 0,
      publicityDays: 5,
      publicitySince: null,
      closedOn: null,
    };
    const old = new Date(now.getTime() - 30 * DAY);
    return {
      _id,
      kind: "inspection",
      ledgerNumber: `SCALE-${i}`,
      title: `规模测试问题${i}：某区域污染治理不到位`,
      description: "督察发现某区域存在污染治理不到位问题，群众反映强烈，需按期整改到位。",
      category: "大气",
      source: "中央生态环境保护督察",
      round: "第三轮",
      immediate: false,
      longTerm: false,
      state: "rectifying.working",
      stateValue: { rectifying: "working" },
      context,
      leadUnitId: context.leadUnitId,
      coUnitIds: context.coUnitIds,
      deadline: "2026-12-31",
      deadlineRevision: 1,
      progressPercent: i % 100,
      behindFrom: null,
      version: 3,
      historyHead: "0".repeat(64),
      createdBy: "bench",
      createdAt: old,
      updatedAt: old,
    };
  };

  console.log(`  seeding ${n.toLocaleString("en-US")} cases and schedules (raw insertMany, batches of ${BATCH})…`);
  const seedCases: number[] = [];
  const seedSchedules: number[] = [];
  for (let start = 0; start < n; start += BATCH) {
    const ids = Array.from({ length: Math.min(BATCH, n - start) }, () => new mongoose.Types.ObjectId());
    seedCases.push(await millis(() => cases.insertMany(ids.map((id, k) => caseDoc(start + k, id)), { ordered: false })));
    seedSchedules.push(
      await millis(() =>
        schedules.insertMany(
          ids.map((id, k) => ({ _id: id.toString() as never, nextAt: nextAt(start + k), version: 3, problem: null, computedAt: now })),
          { ordered: false },
        ),
      ),
    );
    if ((start / BATCH) % 20 === 19) console.log(`    ${(start + BATCH).toLocaleString("en-US")}`);
  }
  const rate = (ms: number[]) => [(n / ms.reduce((a, b) => a + b, 0)) * 1000];
  results.add("3 sweep", `seed ${n.toLocaleString("en-US")} cases (raw insertMany)`, "docs/s", rate(seedCases));
  results.add("3 sweep", `seed ${n.toLocaleString("en-US")} schedules (raw insertMany)`, "docs/s", rate(seedSchedules));

  const plans: Record<string, unknown> = {};
  for (const pct of [1, 5, 20]) {
    const at = dueBy(pct);
    let target = 0;
    for (let i = 0; i < n; i++) if (nextAt(i) <= at) target++;
    const dueFilter = { nextAt: mongoose.trusted({ $lte: at }) };
    let pageSize = 0;
    let dueCount = 0;
    const page = await rounds(sizes.rounds, () =>
      millis(async () => {
        pageSize = (await CaseSchedule.find(dueFilter, { _id: 1 }).sort({ nextAt: 1 }).limit(PAGE).lean()).length;
      }),
    );
    const every = await rounds(sizes.rounds, () =>
      millis(async () => {
        dueCount = (await CaseSchedule.find(dueFilter, { _id: 1 }).lean()).length;
      }),
    );
    if (dueCount !== target) throw new Error(`expected ${target} due, found ${dueCount}`);
    results.add("3 sweep", `${pct}% due: one pass's page (${pageSize.toLocaleString("en-US")})`, "ms", page);
    results.add("3 sweep", `${pct}% due: all ${dueCount.toLocaleString("en-US")} due ids`, "ms", every);
    const plan = await CaseSchedule.find(dueFilter, { _id: 1 }).sort({ nextAt: 1 }).limit(PAGE).explain("executionStats");
    plans[`${pct}%`] = plan;
    indexUse(results, `${pct}% due page`, plan);
  }

  // The other query of every pass: cases changed since the last one (none here, so the index answers with nothing).
  const since = new Date(now.getTime() - 5 * 60_000);
  const changedFilter = { updatedAt: mongoose.trusted({ $gte: since }) };
  const changed = await rounds(sizes.rounds, () => millis(() => Case.find(changedFilter, { _id: 1 }).sort({ updatedAt: 1 }).limit(PAGE).lean()));
  results.add("3 sweep", "changed-cases query (0 changed)", "ms", changed);
  const changedPlan = await Case.find(changedFilter, { _id: 1 }).sort({ updatedAt: 1 }).limit(PAGE).explain("executionStats");
  plans.changed = changedPlan;
  // What a scan of the collection costs on this server, for comparison with the queries above.
  const scan = await rounds(sizes.rounds, () => millis(() => schedules.find({ computedAt: { $lt: new Date(0) } }).toArray()));
  results.add("3 sweep", "full scan of case_schedules (matches none)", "ms", scan, "the cost of reading every schedule");
  // A primary-key lookup, the cheapest read the app makes (every case load, every delivery).
  const some = (await schedules.find({}, { projection: { _id: 1 }, limit: 50 }).toArray()).map((d) => d._id);
  const byId = await rounds(sizes.rounds, () => millis(() => Promise.all(some.map((id) => CaseSchedule.findById(id).lean()))));
  results.add("3 sweep", `50 primary-key lookups in case_schedules`, "ms", byId, `among ${n.toLocaleString("en-US")}`);
  plans.primaryKey = await CaseSchedule.findById(some[0]).explain("executionStats");
  console.log(`  primary-key lookup plan: ${JSON.stringify(plans.primaryKey).slice(0, 300)}`);
  results.facts.sweepPlans = plans;

  await emptyCollections([Case, CaseSchedule] as never[]);
}

/**
 * Keys examined ÷ documents returned from a MongoDB executionStats plan. FerretDB 1.x answers
 * explain() with its SQLite plan and pushdown flags instead; then the figure is recorded as such.
 */
function indexUse(results: BenchContext["results"], label: string, plan: unknown): void {
  const p = plan as { executionStats?: { totalKeysExamined: number; nReturned: number }; queryPlanner?: unknown; filterPushdown?: boolean };
  const stats = p.executionStats;
  if (stats) {
    const ratio = stats.nReturned ? stats.totalKeysExamined / stats.nReturned : stats.totalKeysExamined;
    const ixscan = JSON.stringify(p.queryPlanner).includes("IXSCAN");
    results.goal("3 sweep", `${label}: keys examined ÷ returned${ixscan ? " (IXSCAN)" : " (no IXSCAN)"}`, ratio, "≤ 1.1", ixscan && ratio <= 1.1);
    return;
  }
  const text = JSON.stringify(p.queryPlanner ?? p);
  const scan = /SCAN/.test(text) && !/USING INDEX/.test(text);
  console.log(`  ${label}: explain() on this server: filterPushdown=${p.filterPushdown}, plan ${text.slice(0, 200)}`);
  results.goal("3 sweep", `${label}: index scan (server reports ${scan ? "a full SCAN, filter not pushed down" : "no plan"})`, 0, "index scan, keys ÷ returned ≤ 1.1", false);
}
