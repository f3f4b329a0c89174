/**
 * The soak's ledger: the demo units and users, most cases bulk-loaded (test/support/synthetic.ts, each
 * with a first history entry so every chain verifies), the rest registered and walked through the case
 * service to where users act on them (they take the load's events), the units' notice channels, and a
 * schedule for every case whose time comes during the run, so the sweep issues notices throughout.
 */
import mongoose from "mongoose";
import { addCalendarDays, shanghaiDate, type Actor } from "../../workflows/index.ts";
import { rebuildCounts } from "../../src/cases/counts.ts";
import { CaseService } from "../../src/cases/service.ts";
import { ManualClock } from "../../src/clock.ts";
import { Case, CaseHistory, CaseSchedule, SweepState, Unit, User } from "../../src/db/models.ts";
import { actorOf } from "../../src/directory.ts";
import { DEMO_UNITS, seedDirectory } from "../../src/seed.ts";
import { insertSyntheticCases, walkedComplaint, walkedInspection } from "../../test/support/synthetic.ts";
import { pool } from "../../bench/lib.ts";

const DAY = 86_400_000;

/** A case the load acts on: its kind and the units that may see it. */
export interface WalkedCase {
  id: string;
  kind: "inspection" | "complaint";
  lead: string;
  co: string[];
  /** Assigned when the load starts: its units see it (a registered one waits for the office). */
  assigned: boolean;
}

export interface Ledger {
  /** unit code → unit id */
  units: Map<string, string>;
  walked: WalkedCase[];
  /** Units whose notices also go by email, by webhook (answering 200, failing a fifth, always failing). */
  channels: { email: string[]; webhookOk: string[]; webhookFlaky: string[]; webhookDead: string[] };
}

/** Unit codes whose liaisons the load signs in as; the walked cases are led by them. */
export const ACTIVE_UNITS = ["sthjj", "swj", "zjj", "cgj", "fgw", "jiaxian"];

export async function seedLedger(o: { cases: number; walked: number; password: string; webhook: (path: string) => string }): Promise<Ledger> {
  const units = await seedDirectory(o.password);
  const unitIds = DEMO_UNITS.map(([code]) => units.get(code)!);
  const now = new Date();
  await insertSyntheticCases(Case.collection, Math.max(0, o.cases - o.walked), { units: unitIds, now, prefix: "SOAK", history: CaseHistory.collection });
  // Bulk-loaded past the case service: the facet counts are built from them, as the migration does.
  await rebuildCounts();
  const walked = await walk(units, Math.min(o.walked, o.cases), now);

  const code = (c: string) => units.get(c)!;
  const channels = { email: ["sthjj", "gxj", "zjj"].map(code), webhookOk: ["swj", "scjgj"].map(code), webhookFlaky: ["cgj"].map(code), webhookDead: ["jtysj"].map(code) };
  const notify = async (ids: string[], set: Record<string, unknown>) => Unit.updateMany({ _id: mongoose.trusted({ $in: ids }) }, { $set: set });
  // The sweep's watermark: the ledger as loaded counts as seen, so the sweep reaches a case when its schedule comes (scheduleAll).
  await SweepState.updateOne({ _id: "notices" }, { $set: { lastStart: new Date() } }, { upsert: true });
  await notify(channels.email, { notify: { emails: ["liaison@unit.example"], webhookUrl: null, webhookSecret: null } });
  for (const [ids, path] of [[channels.webhookOk, "/hook/ok"], [channels.webhookFlaky, "/hook/flaky"], [channels.webhookDead, "/hook/dead"]] as const)
    await notify(ids, { notify: { emails: [], webhookUrl: o.webhook(path), webhookSecret: "soak-webhook-secret-0123456789" } });
  return { units, walked, channels };
}

/**
 * Cases registered and walked through the case service with a clock 40 days back, led by the active
 * units (half with a co-unit): most inspections assigned and signed, some only assigned (to be signed)
 * or only registered (to be assigned); complaints accepted and assigned. Deadlines fall from 20 days
 * ago to 25 days ahead (complaints: 15), so the ladder has rungs due and to come.
 */
async function walk(units: Map<string, string>, count: number, now: Date): Promise<WalkedCase[]> {
  const since = new Date(now.getTime() - 40 * DAY);
  const service = new CaseService(new ManualClock(since));
  const office = actorOf((await User.findOne({ username: "staff" }).lean())!);
  const liaison = new Map<string, Actor>();
  for (const u of await User.find({ role: "unit_user" }).lean()) liaison.set(u.unitId!, actorOf(u));
  const active = ACTIVE_UNITS.map((c) => units.get(c)!);
  // Complaints within 60 days of acceptance (信访工作条例), so at most 20 days ahead of now.
  const deadline = (i: number, kind: "inspection" | "complaint") => addCalendarDays(shanghaiDate(now), -20 + ((i * 7) % (kind === "complaint" ? 36 : 46)));
  const act = (id: string, type: string, payload: Record<string, unknown>, who: Actor) => service.applyEvent(id, { type, payload }, who);
  const out: WalkedCase[] = [];
  await pool(count, 4, async (i) => {
    const lead = active[i % active.length]!;
    const other = active[(i * 5 + 1) % active.length]!;
    const co = i % 2 && other !== lead ? [other] : [];
    if (i % 4 === 3) {
      const c = await service.createCase(walkedComplaint(i), office);
      const id = c._id.toString();
      await act(id, "ACCEPT", {}, office);
      await act(id, "ASSIGN", { leadUnitId: lead, coUnitIds: co, deadline: deadline(i, "complaint") }, office);
      out.push({ id, kind: "complaint", lead, co, assigned: true });
      return;
    }
    const c = await service.createCase(walkedInspection(i, "SOAK"), office);
    const id = c._id.toString();
    out.push({ id, kind: "inspection", lead, co, assigned: i % 10 !== 0 });
    if (i % 10 === 0) return; // registered: the office assigns it
    await act(id, "ASSIGN", { leadUnitId: lead, coUnitIds: co, deadline: deadline(i, "inspection"), requirements: "按月报送整改进展" }, office);
    if (i % 10 === 1) return; // assigned: the unit signs for it
    await act(id, "SIGN", {}, liaison.get(lead)!);
  });
  return out;
}

/**
 * A schedule for every case (seedLedger set the sweep's watermark: the loaded cases are not "changed",
 * so the sweep reaches each when its schedule comes). A tenth are due at once (as after workers were
 * down), the rest come evenly over the first `spreadMs` of the run.
 */
export async function scheduleAll(start: Date, spreadMs: number): Promise<number> {
  const ids: string[] = [];
  for await (const c of Case.find({}, { _id: 1 }).sort({ _id: 1 }).lean().cursor({ batchSize: 5000 })) ids.push(c._id.toString());
  const BATCH = 5000;
  for (let from = 0; from < ids.length; from += BATCH) {
    const docs = ids.slice(from, from + BATCH).map((_id, k) => {
      const i = from + k;
      const offset = i % 10 === 0 ? -60_000 - (i % 7) * 60_000 : ((i * 7919) % 1000) / 1000 * spreadMs;
      return { _id, nextAt: new Date(start.getTime() + offset), version: 1, problem: null, computedAt: start };
    });
    await CaseSchedule.bulkWrite(docs.map(({ _id, ...set }) => ({ updateOne: { filter: { _id }, update: { $set: set }, upsert: true } })), { ordered: false });
  }
  return ids.length;
}
