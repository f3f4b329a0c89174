/**
 * 1. Event application: progress reports through the case service (load → machine → history entry
 *    → projection) against the raw driver doing what a naive design does in one call: an
 *    optimistic `findOneAndUpdate({_id, version}, {$set, $push: {history}})` on a copy of the same
 *    case documents with the same indexes (a copy, because the ledger's cases keep their history in
 *    case_history).
 * 2. Machine cost: the pure part of the same events (restore the snapshot from JSON, transition).
 * Both sides run the same number of events over the same cases with the same concurrency.
 */
import mongoose from "mongoose";
import { restore, step, type Actor, type CaseEvent, type StateValue } from "../workflows/index.ts";
import { CaseService } from "../src/cases/service.ts";
import { Case, CaseHistory, CaseSchedule, Sequence, Unit } from "../src/db/models.ts";
import { createUnit } from "../src/directory.ts";
import type { BenchContext } from "./run.ts";
import { lanes, perSecond, pool, rounds } from "./lib.ts";

/** Requests in flight at once, as from a busy office. */
const CONCURRENCY = Number(process.env.BENCH_LANES ?? 8);
const RAW = "bench_raw_cases";

export async function benchEngine(ctx: BenchContext): Promise<void> {
  const { sizes, results } = ctx;
  const service = new CaseService();
  const name = "基准测试牵头单位";
  const lead = (await Unit.findOne({ name }).lean()) ?? (await createUnit({ name }));
  const leadId = lead!._id.toString();
  const office: Actor = { id: "bench-office", name: "整改办", role: "office_staff", unitId: null };
  const unit: Actor = { id: "bench-unit", name: "联络员", role: "unit_user", unitId: leadId };

  // Few events per case, as in life: the cases are many, each is touched now and then.
  // A multiple of the lanes, so that each case belongs to one lane (no self-inflicted conflicts).
  const caseCount = Math.max(1, Math.round(sizes.events / 4 / CONCURRENCY)) * CONCURRENCY;
  const ids: string[] = [];
  await pool(caseCount, CONCURRENCY, async (i) => {
    const c = await service.createCase(
      { kind: "inspection", ledgerNumber: `BENCH-${i}`, round: "基准测试", title: `基准测试问题${i}`, description: "压力测试用问题描述", category: "大气" },
      office,
    );
    const id = c._id.toString();
    await service.applyEvent(id, { type: "ASSIGN", payload: { leadUnitId: leadId, deadline: "2030-12-31" } }, office);
    await service.applyEvent(id, { type: "SIGN" }, unit);
    ids[i] = id;
  });
  const raw = mongoose.connection.db!.collection<{ _id: mongoose.Types.ObjectId; version: number; history?: unknown[] }>(RAW);
  await raw.drop().catch(() => undefined);
  await raw.insertMany((await Case.find({ _id: mongoose.trusted({ $in: ids }) }).lean()) as never[]);
  // The indexes of the ledger's cases too: a naive design would list and sort its cases the same way,
  // and every index costs each update on either side.
  for (const [key, options] of Case.schema.indexes()) await raw.createIndex(key as never, options as never);

  const payload = (n: number) => ({ percent: n % 100, text: `第${n}次报送：完成现场整治，正在复核`, attachmentIds: [] });
  let serial = 0;
  const serviceRun = () =>
    perSecond(sizes.events, () =>
      lanes(sizes.events, CONCURRENCY, (i) => service.applyEvent(ids[i % ids.length]!, { type: "REPORT_PROGRESS", payload: payload(serial++) }, unit)),
    );

  // The raw side: the same snapshot change and entry shape in one conditional update per event,
  // with the version the caller already holds (as a client of optimistic concurrency does).
  const versions = new Map<string, number>();
  for (const d of await raw.find({}, { projection: { version: 1 } }).toArray()) versions.set(String(d._id), d.version);
  const rawOne = async (id: string) => {
    const version = versions.get(id)!;
    const n = serial++;
    const at = new Date();
    const entry = { seq: version + 1, type: "REPORT_PROGRESS", actor: unit, at, payload: payload(n) };
    const updated = await raw.findOneAndUpdate(
      { _id: new mongoose.Types.ObjectId(id), version },
      { $set: { progressPercent: n % 100, "context.progressPercent": n % 100, updatedAt: at }, $inc: { version: 1 }, $push: { history: entry } },
      { returnDocument: "after" },
    );
    if (!updated) throw new Error("raw update lost a race: lanes must not share a case");
    versions.set(id, version + 1);
  };
  const rawRun = () => perSecond(sizes.events, () => lanes(sizes.events, CONCURRENCY, (i) => rawOne(ids[i % ids.length]!)));

  const svc: number[] = [];
  const drv: number[] = [];
  // Interleaved, so a noisy moment on the shared machine hits both sides alike.
  await rounds(sizes.rounds, async (r) => {
    const a = await serviceRun();
    const b = await rawRun();
    if (r >= 0) {
      svc.push(a);
      drv.push(b);
    }
    return a;
  });
  results.add("1 events", "case service: events applied", "events/s", svc, `${ids.length} cases, ${CONCURRENCY} concurrent`);
  results.add("1 events", "raw findOneAndUpdate + $push", "events/s", drv, "same cases (a copy), same concurrency");
  const ratios = svc.map((s, i) => s / drv[i]!);
  const ratio = results.add("1 events", "ratio service ÷ raw", "×", ratios);
  results.goal("1 events", "event application ratio", ratio.median, "≥ 0.5", ratio.median >= 0.5);

  // 2. The machine alone, on the snapshots the service restores.
  // The cases this bench walked to 整改中 (other sections may leave cases of their own in the bench database).
  const docs = await Case.find({ _id: mongoose.trusted({ $in: ids }) }).limit(200).lean();
  const pure = await rounds(sizes.rounds, async () => {
    const n = Math.max(20_000, sizes.events * 10);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const d = docs[i % docs.length]!;
      const snap = restore("inspection", d.stateValue as StateValue, d.context);
      const event = { type: "REPORT_PROGRESS", ...payload(i), actor: unit, at: new Date().toISOString() } as CaseEvent;
      if (!step("inspection", snap, event)) throw new Error("the machine refused a progress report");
    }
    return n / ((performance.now() - t0) / 1000);
  });
  const machine = results.add("2 machine", "restore + transition (pure)", "events/s", pure);
  const share = svc.map((s) => (s / machine.median) * 100);
  results.add("2 machine", "machine share of a service call", "%", share, "time in the machine ÷ time per service call (at the service's concurrency)");

  await Promise.all([Case.deleteMany({}), CaseHistory.deleteMany({}), CaseSchedule.deleteMany({}), Sequence.deleteMany({}), raw.drop()]);
}
