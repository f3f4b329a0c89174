/**
 * Reading the ledger: lists with filters, search and paging, and the figures of the dashboard.
 * Every query starts from what the actor may see (access.ts), so counts and searches never reveal
 * another unit's cases.
 */
import mongoose from "mongoose";
import { DEADLINE_STATES, leafStates, shanghaiDate, type Actor, type CaseKind } from "../../workflows/index.ts";
import { Case, type CaseDoc } from "../db/models.ts";
import { visibleFilter } from "./access.ts";

export interface CaseFilter {
  kind?: CaseKind;
  state?: string;
  unit?: string;
  category?: string;
  round?: string;
  overdue?: boolean;
  behindSchedule?: boolean;
  q?: string;
  deadlineFrom?: string;
  deadlineTo?: string;
}

export const SORTS = ["deadline", "-deadline", "updatedAt", "-updatedAt", "ledgerNumber", "-ledgerNumber", "createdAt", "-createdAt"] as const;
export type Sort = (typeof SORTS)[number];

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const t = mongoose.trusted;

/** Leaf states named by a state key: "rectifying" → its sub-states; unknown → none. */
function statesFor(state: string, kind?: CaseKind): string[] {
  const kinds: CaseKind[] = kind ? [kind] : ["inspection", "complaint"];
  return [...new Set(kinds.flatMap((k) => leafStates(k).filter((s) => s === state || s.startsWith(`${state}.`))))];
}

function deadlineBinding(kind?: CaseKind) {
  const kinds: CaseKind[] = kind ? [kind] : ["inspection", "complaint"];
  return { $or: kinds.map((k) => ({ kind: k, state: t({ $in: DEADLINE_STATES[k].flatMap((s) => statesFor(s, k)) }) })) };
}

export function caseFilter(actor: Actor, f: CaseFilter, now: Date): Record<string, unknown> {
  const and: Record<string, unknown>[] = [visibleFilter(actor)];
  if (f.kind) and.push({ kind: f.kind });
  if (f.state) and.push({ state: t({ $in: statesFor(f.state, f.kind) }) });
  if (f.unit) and.push({ $or: [{ leadUnitId: f.unit }, { coUnitIds: f.unit }] });
  if (f.category) and.push({ category: f.category });
  if (f.round) and.push({ round: f.round });
  if (f.deadlineFrom || f.deadlineTo)
    and.push({ deadline: t({ ...(f.deadlineFrom ? { $gte: f.deadlineFrom } : {}), ...(f.deadlineTo ? { $lte: f.deadlineTo } : {}) }) });
  if (f.overdue) and.push({ deadline: t({ $lt: shanghaiDate(now) }) }, deadlineBinding(f.kind));
  if (f.behindSchedule) and.push({ behindFrom: t({ $lte: now }) }, deadlineBinding(f.kind));
  if (f.q) {
    const re = t({ $regex: escapeRegex(f.q.trim()), $options: "i" });
    and.push({ $or: [{ ledgerNumber: re }, { title: re }, { description: re }] });
  }
  return { $and: and };
}


export async function listCases(actor: Actor, f: CaseFilter, paging: { page: number; pageSize: number; sort: Sort }, now: Date) {
  const filter = caseFilter(actor, f, now);
  const key = paging.sort.replace(/^-/, "");
  const dir = paging.sort.startsWith("-") ? -1 : 1;
  const [items, total] = await Promise.all([
    Case.find(filter)
      .sort({ [key]: dir, _id: dir })
      .skip((paging.page - 1) * paging.pageSize)
      .limit(paging.pageSize)
      .lean<CaseDoc[]>(),
    Case.countDocuments(filter),
  ]);
  return { items, total };
}

const ratio = (a: number, b: number) => (b === 0 ? null : Math.round((a / b) * 10_000) / 10_000);

/** Counts by state, overdue and behind schedule now; the rates of DOMAIN.md for what came in from..to. */
export async function caseStats(actor: Actor, f: { kind?: CaseKind; unit?: string; from: string; to: string }, now: Date) {
  const base = caseFilter(actor, { kind: f.kind, unit: f.unit }, now);
  const [byStateRows, overdue, behindSchedule, complaints, inspections] = await Promise.all([
    Case.aggregate<{ _id: { kind: string; state: string }; n: number }>([{ $match: base }, { $group: { _id: { kind: "$kind", state: "$state" }, n: { $sum: 1 } } }]),
    Case.countDocuments(caseFilter(actor, { kind: f.kind, unit: f.unit, overdue: true }, now)),
    Case.countDocuments(caseFilter(actor, { kind: f.kind, unit: f.unit, behindSchedule: true }, now)),
    f.kind === "inspection"
      ? []
      : Case.find({ $and: [caseFilter(actor, { kind: "complaint", unit: f.unit }, now), { receivedOn: t({ $gte: f.from, $lte: f.to }) }] }, { context: 1, state: 1 }).lean(),
    f.kind === "complaint"
      ? []
      : Case.find({ $and: [caseFilter(actor, { kind: "inspection", unit: f.unit }, now), { "context.closedOn": t({ $gte: f.from, $lte: f.to }) }] }, { context: 1 }).lean(),
  ]);
  const byState: Record<string, number> = {};
  for (const { _id, n } of byStateRows) byState[`${_id.kind}:${_id.state}`] = n;

  type C = { acceptedOn?: string | null; leadUnitId?: string | null; transferredTo?: string | null; repliedOn?: string | null; closedOn?: string | null; concludeBy?: string | null; deadline?: string | null };
  const cs = complaints.map((c) => ({ ...(c.context as C), state: c.state }));
  const received = cs.length;
  const accepted = cs.filter((c) => c.acceptedOn);
  const investigated = accepted.filter((c) => c.leadUnitId);
  const closed = accepted.filter((c) => c.state === "closed" && !c.transferredTo);
  const replied = cs.filter((c) => c.repliedOn);
  const closedOnTime = closed.filter((c) => c.closedOn && c.concludeBy && c.closedOn <= c.concludeBy);
  const ins = inspections.map((c) => c.context as C);
  const insOnTime = ins.filter((c) => c.closedOn && c.deadline && c.closedOn <= c.deadline);
  return {
    total: byStateRows.reduce((sum, r) => sum + r.n, 0),
    byState,
    overdue,
    behindSchedule,
    complaints: {
      received,
      accepted: accepted.length,
      investigated: investigated.length,
      closed: closed.length,
      replied: replied.length,
      closedOnTime: closedOnTime.length,
      rates: {
        acceptance: ratio(accepted.length, received),
        investigation: ratio(investigated.length, accepted.length),
        closure: ratio(closed.length, accepted.length),
        reply: ratio(replied.length, received),
        onTime: ratio(closedOnTime.length, closed.length),
      },
    },
    inspections: { closed: ins.length, closedOnTime: insOnTime.length, onTimeRate: ratio(insOnTime.length, ins.length) },
  };
}
