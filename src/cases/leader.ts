/**
 * 领导批示 and the leader's desk. A 批示 thread is read from the history (the one builder: the case page and
 * GET /api/cases/:id through the case view, the office's 待落实批示, a leader's own on their 首页); the desk is
 * what a leader sees first (docs/domain.md#leader-desk).
 */
import mongoose from "mongoose";
import { LEVEL_RANK, daysBetween, overdueNow, shanghaiDate, type Actor } from "../../workflows/index.ts";
import { Case, CaseHistory, Notice, type CaseDoc } from "../db/models.ts";
import { caseFilter } from "./queries.ts";

const t = mongoose.trusted;

/** A 批示 as its history tells it: who wrote what, on which notice, and the office's 落实 once recorded. */
export interface InstructionThread {
  caseId: string;
  n: number;
  at: Date;
  by: { id: string; name: string };
  text: string;
  noticeId: string | null;
  done: { at: Date; by: string; text: string } | null;
}

type Entry = { caseId: string; seq: number; type: string; at: Date; actor: { id: string; name?: string | null }; payload?: unknown };

/**
 * The 批示 of a case's history and their 落实, oldest first. A 批示 is numbered in the order written (as the
 * machine numbers it), so the entries must be one case's, in order, or several cases' sorted by case and seq.
 */
export function instructionThreads(entries: Entry[]): InstructionThread[] {
  const out: InstructionThread[] = [];
  const byCase = new Map<string, InstructionThread[]>();
  for (const e of entries) {
    const p = (e.payload ?? {}) as { text?: unknown; noticeId?: unknown; instruction?: unknown };
    const list = byCase.get(e.caseId) ?? [];
    byCase.set(e.caseId, list);
    if (e.type === "INSTRUCT") {
      const t = { caseId: e.caseId, n: list.length + 1, at: e.at, by: { id: e.actor.id, name: e.actor.name ?? e.actor.id }, text: String(p.text ?? ""), noticeId: typeof p.noticeId === "string" ? p.noticeId : null, done: null };
      list.push(t);
      out.push(t);
    } else if (e.type === "CARRY_OUT") {
      const t = list.find((i) => i.n === p.instruction);
      if (t) t.done = { at: e.at, by: e.actor.name ?? e.actor.id, text: String(p.text ?? "") };
    }
  }
  return out;
}

/** The history entries of 批示 and 落实 of some cases, by case and in order (not yet run; through the caseId index). */
const instructionEntriesQuery = (caseIds: string[]) =>
  CaseHistory.find({ caseId: t({ $in: caseIds }), type: t({ $in: ["INSTRUCT", "CARRY_OUT"] }) }, { caseId: 1, seq: 1, type: 1, at: 1, actor: 1, payload: 1 }).sort({ caseId: 1, seq: 1 });

/** The open 批示 of the cases in the office's 待落实批示 list, by case id. */
export async function openInstructions(cases: CaseDoc[]): Promise<Map<string, InstructionThread[]>> {
  const ids = cases.filter((c) => c.instructionSince).map((c) => c._id.toString());
  const out = new Map<string, InstructionThread[]>();
  if (!ids.length) return out;
  for (const i of instructionThreads(await instructionEntriesQuery(ids).lean<Entry[]>())) if (!i.done) out.set(i.caseId, [...(out.get(i.caseId) ?? []), i]);
  return out;
}

/**
 * A leader's own 批示, for their home: those awaiting 落实 (oldest first) and the latest carried out, on the
 * cases they instructed most recently (the sparse index on instructedBy).
 */
export async function leaderInstructions(leader: Actor, limit = 20): Promise<{ open: (InstructionThread & { c: CaseDoc })[]; done: (InstructionThread & { c: CaseDoc })[] }> {
  const cases = await Case.find({ instructedBy: leader.id }).sort({ updatedAt: -1 }).limit(limit).lean<CaseDoc[]>();
  if (!cases.length) return { open: [], done: [] };
  const byId = new Map(cases.map((c) => [c._id.toString(), c]));
  const mine = instructionThreads(await instructionEntriesQuery([...byId.keys()]).lean<Entry[]>())
    .filter((i) => i.by.id === leader.id)
    .map((i) => ({ ...i, c: byId.get(i.caseId)! }));
  return {
    open: mine.filter((i) => !i.done).sort((a, b) => a.at.getTime() - b.at.getTime()),
    done: mine.filter((i) => i.done).sort((a, b) => b.done!.at.getTime() - a.done!.at.getTime()).slice(0, limit),
  };
}

/** An overdue or escalated case on the leader's desk: days overdue, 督办 count, and whether 约谈/通报 was issued. */
export interface DeskCase {
  c: CaseDoc;
  overdueDays: number;
  supervisions: number;
  escalated: boolean;
}

/**
 * What a leader sees first (docs/domain.md#leader-desk): open cases overdue now (overdueNow) or under 督办
 * (a 督办通知 or 约谈/通报 not superseded), by lead unit; 约谈/通报 first, then most days overdue. Units with an
 * escalated case first, then the most such cases. `limit` bounds the overdue cases read and the other cases
 * under 督办; their notices are counted in the database, never read.
 */
export async function leaderDesk(actor: Actor, now: Date, limit = 200): Promise<{ unitId: string | null; cases: DeskCase[] }[]> {
  const today = shanghaiDate(now);
  const overdue = await Case.find(caseFilter(actor, { overdue: true }, now)).sort({ deadlineSort: 1, _id: 1 }).limit(limit).lean<CaseDoc[]>();
  const knownIds = overdue.map((c) => c._id.toString());
  // Counted in the database per case (督办通知 and 约谈/通报 rank highest; the (supersededBy, severity, issuedAt)
  // index): the overdue cases' own, and the other cases under 督办, latest first, up to `limit`.
  const supervised = (caseIds: Record<string, unknown>, latest?: number) =>
    Notice.aggregate<{ _id: string; n: number; escalated: boolean }>([
      { $match: { supersededBy: null, severity: t({ $gte: LEVEL_RANK.supervision }), caseId: t(caseIds) } },
      { $group: { _id: "$caseId", n: { $sum: 1 }, escalated: { $max: { $eq: ["$level", "escalation"] } }, last: { $max: "$issuedAt" } } },
      ...(latest ? [{ $sort: { last: -1 as const, _id: 1 as const } }, { $limit: latest }] : []),
    ]);
  const [own, others] = await Promise.all([knownIds.length ? supervised({ $in: knownIds }) : [], supervised({ $nin: knownIds }, limit)]);
  const more = others.map((x) => x._id).filter((id) => mongoose.isObjectIdOrHexString(id));
  const escalatedOpen = more.length ? await Case.find({ ...caseFilter(actor, {}, now), _id: t({ $in: more }), state: t({ $ne: "closed" }) }).lean<CaseDoc[]>() : [];
  const counts = new Map([...own, ...others].map((x) => [x._id, { n: x.n, escalated: x.escalated }]));
  const units = new Map<string | null, DeskCase[]>();
  for (const c of [...overdue, ...escalatedOpen]) {
    const k = counts.get(c._id.toString());
    const late = overdueNow({ kind: c.kind as "inspection", state: c.state, deadline: c.deadline, context: c.context as never }, today);
    const card = { c, overdueDays: late ? daysBetween(c.deadline!, today) : 0, supervisions: k?.n ?? 0, escalated: k?.escalated ?? false };
    units.set(c.leadUnitId ?? null, [...(units.get(c.leadUnitId ?? null) ?? []), card]);
  }
  const rows = [...units].map(([unitId, cases]) => ({
    unitId,
    cases: cases.sort((a, b) => Number(b.escalated) - Number(a.escalated) || b.overdueDays - a.overdueDays || b.supervisions - a.supervisions),
  }));
  const escalations = (r: { cases: DeskCase[] }) => r.cases.filter((x) => x.escalated).length;
  return rows.sort((a, b) => escalations(b) - escalations(a) || b.cases.length - a.cases.length);
}
