/**
 * The dashboard's and the metrics' figures, computed in the database: counts by state, overdue now and
 * behind schedule, the rates of docs/domain.md#rates, the per-unit table, the monthly trend. Each starts
 * from the list's filter (queries.ts, caseFilter: what the actor may see) and counts with the database
 * form of the figures' rules (figures.ts).
 */
import mongoose from "mongoose";
import { rate, shanghaiDate, type Actor, type CaseKind } from "../../workflows/index.ts";
import { Case } from "../db/models.ts";
import { visibleFilter } from "./access.ts";
import { closedOnTimeExpr, countIf, isSet, longTermExpr, overdueInUnitHandsExpr } from "./figures.ts";
import { caseFilter, combine } from "./queries.ts";

const t = mongoose.trusted;

/**
 * Counts by state, overdue now (docs/domain.md#overdue) and behind schedule; the rates of docs/domain.md#rates
 * for what came in from..to. Computed in the database.
 */
export async function caseStats(actor: Actor, f: { kind?: CaseKind; unit?: string; from: string; to: string }, now: Date) {
  const base = caseFilter(actor, { kind: f.kind, unit: f.unit }, now);
  const within = (field: string, kind: CaseKind) => combine([caseFilter(actor, { kind, unit: f.unit }, now), { [field]: t({ $gte: f.from, $lte: f.to }) }]);
  const [byStateRows, overdue, behindSchedule, [complaints], [inspections]] = await Promise.all([
    Case.aggregate<{ _id: { kind: string; state: string }; n: number }>([{ $match: base }, { $group: { _id: { kind: "$kind", state: "$state" }, n: { $sum: 1 } } }]),
    Case.countDocuments(caseFilter(actor, { kind: f.kind, unit: f.unit, overdue: true }, now)),
    Case.countDocuments(caseFilter(actor, { kind: f.kind, unit: f.unit, behindSchedule: true }, now)),
    f.kind === "inspection" ? [undefined] : Case.aggregate<ComplaintCounts>([{ $match: within("receivedOn", "complaint") }, { $group: COMPLAINT_COUNTS }]),
    f.kind === "complaint" ? [undefined] : Case.aggregate<InspectionCounts>([{ $match: within("context.closedOn", "inspection") }, { $group: INSPECTION_COUNTS }]),
  ]);
  const byState: Record<string, number> = {};
  for (const { _id, n } of byStateRows) byState[`${_id.kind}:${_id.state}`] = n;
  return { total: byStateRows.reduce((sum, r) => sum + r.n, 0), byState, overdue, behindSchedule, ...rateFigures(complaints, inspections) };
}

export type RateFigures = ReturnType<typeof rateFigures>;

/** The rates of docs/domain.md#rates from their counts (none: all zero). */
function rateFigures(complaints?: ComplaintCounts, inspections?: InspectionCounts) {
  const c = complaints ?? { received: 0, accepted: 0, investigated: 0, closed: 0, replied: 0, closedOnTime: 0, answered: 0, satisfied: 0 };
  const i = inspections ?? { closed: 0, closedOnTime: 0, longTerm: 0 };
  return {
    complaints: {
      received: c.received,
      accepted: c.accepted,
      investigated: c.investigated,
      closed: c.closed,
      replied: c.replied,
      closedOnTime: c.closedOnTime,
      answered: c.answered,
      satisfied: c.satisfied,
      rates: {
        acceptance: rate(c.accepted, c.received),
        investigation: rate(c.investigated, c.accepted),
        closure: rate(c.closed, c.accepted),
        reply: rate(c.replied, c.received),
        onTime: rate(c.closedOnTime, c.closed),
        satisfaction: rate(c.satisfied, c.answered),
      },
    },
    // 长期坚持 items are closed but neither on time nor late: counted apart, outside the rate's denominator.
    inspections: { closed: i.closed, closedOnTime: i.closedOnTime, longTerm: i.longTerm, onTimeRate: rate(i.closedOnTime, i.closed - i.longTerm) },
  };
}

/**
 * caseStats' rates for the period, overall (`units` not given: one entry, keyed "") or for each of
 * `units` (a unit's cases are those it leads or co-handles, as caseStats' unit filter), in one
 * aggregation per kind whatever the number of units. Every unit of `units` gets an entry.
 */
export async function rateFiguresByUnit(actor: Actor, f: { from: string; to: string }, now: Date, units?: string[]): Promise<Map<string, RateFigures>> {
  const pipeline = (field: string, kind: CaseKind, group: Record<string, unknown>) => {
    const match = combine([caseFilter(actor, { kind }, now), { [field]: t({ $gte: f.from, $lte: f.to }) }, ...(units ? [{ unitIds: t({ $in: units }) }] : [])]);
    // A case counts once for each of its units (lead and co-units) among those asked for.
    const perUnit = units ? [{ $unwind: "$unitIds" }, { $match: { unitIds: t({ $in: units }) } }] : [];
    return [{ $match: match }, ...perUnit, { $group: { ...group, _id: units ? "$unitIds" : null } }];
  };
  const [complaints, inspections] = await Promise.all([
    Case.aggregate<ComplaintCounts & { _id: string | null }>(pipeline("receivedOn", "complaint", COMPLAINT_COUNTS)),
    Case.aggregate<InspectionCounts & { _id: string | null }>(pipeline("context.closedOn", "inspection", INSPECTION_COUNTS)),
  ]);
  const key = (id: string | null) => id ?? "";
  const c = new Map(complaints.map((r) => [key(r._id), r]));
  const i = new Map(inspections.map((r) => [key(r._id), r]));
  return new Map((units ?? [""]).map((u) => [u, rateFigures(c.get(u), i.get(u))]));
}

type ComplaintCounts = { received: number; accepted: number; investigated: number; closed: number; replied: number; closedOnTime: number; answered: number; satisfied: number };
type InspectionCounts = { closed: number; closedOnTime: number; longTerm: number };

/**
 * The rates' counts over complaints received in the period (docs/domain.md#rates: 受理率, 查处率, 结案率, 回复率,
 * 按期办结率; 满意率: 满意 and 基本满意 over those who answered at the 回访, 未表态 left out).
 */
const COMPLAINT_COUNTS = {
  _id: null,
  received: { $sum: 1 },
  accepted: countIf(isSet("$context.acceptedOn")),
  investigated: countIf(isSet("$context.acceptedOn"), isSet("$context.leadUnitId")),
  closed: countIf(isSet("$context.acceptedOn"), { $eq: ["$state", "closed"] }, { $not: [isSet("$context.transferredTo")] }),
  replied: countIf(isSet("$context.repliedOn")),
  closedOnTime: countIf(isSet("$context.acceptedOn"), { $eq: ["$state", "closed"] }, { $not: [isSet("$context.transferredTo")] }, closedOnTimeExpr),
  answered: countIf({ $in: [{ $ifNull: ["$context.satisfaction", null] }, ["满意", "基本满意", "不满意"]] }),
  satisfied: countIf({ $in: [{ $ifNull: ["$context.satisfaction", null] }, ["满意", "基本满意"]] }),
};

/** 按期整改率's counts over inspection items closed in the period; 长期坚持 items apart. */
const INSPECTION_COUNTS = { _id: null, closed: { $sum: 1 }, closedOnTime: countIf(closedOnTimeExpr), longTerm: countIf(longTermExpr) };

export interface UnitFigures {
  unitId: string;
  cases: number;
  /** Overdue now in the unit's hands (docs/domain.md#overdue-in-unit-hands): the office's time is not the unit's. */
  overdue: number;
  closed: number;
  onTime: number;
  /** Closed 长期坚持 items: outside the on-time rate. */
  longTerm: number;
  /** onTime ÷ (closed − longTerm), null when nothing is rated. */
  onTimeRate: number | null;
}

/** Per lead unit: cases, overdue now while the unit holds them, closed, closed on time (the office dashboard's unit table). Computed in the database. */
export async function unitFigures(now: Date): Promise<UnitFigures[]> {
  const rows = await Case.aggregate<{ _id: string; cases: number; overdue: number; closed: number; onTime: number; longTerm: number }>([
    { $match: { leadUnitId: t({ $ne: null }) } },
    {
      $group: {
        _id: "$leadUnitId",
        cases: { $sum: 1 },
        overdue: countIf(overdueInUnitHandsExpr(shanghaiDate(now))),
        closed: countIf({ $eq: ["$state", "closed"] }, isSet("$context.closedOn")),
        onTime: countIf({ $eq: ["$state", "closed"] }, closedOnTimeExpr),
        longTerm: countIf({ $eq: ["$state", "closed"] }, isSet("$context.closedOn"), longTermExpr),
      },
    },
  ]);
  return rows.map(({ _id, ...r }) => ({ unitId: _id, ...r, onTimeRate: rate(r.onTime, r.closed - r.longTerm) }));
}

/** Cases registered and closed per month over the twelve months up to now (YYYY-MM, Asia/Shanghai), of what the actor may see. */
export async function monthlyTrend(actor: Actor, now: Date): Promise<{ months: string[]; created: number[]; closed: number[] }> {
  const first = new Date(`${shanghaiDate(now).slice(0, 7)}-01T00:00:00Z`);
  const months = Array.from({ length: 12 }, (_, i) => new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() - 11 + i, 1)).toISOString().slice(0, 7));
  const visible = visibleFilter(actor);
  const [created, closed] = await Promise.all([
    Case.aggregate<{ _id: string; n: number }>([
      { $match: combine([visible, { createdAt: t({ $gte: new Date(`${months[0]}-01T00:00:00+08:00`) }) }]) },
      { $group: { _id: { $dateToString: { format: "%Y-%m", date: "$createdAt", timezone: "+08:00" } }, n: { $sum: 1 } } },
    ]),
    Case.aggregate<{ _id: string; n: number }>([
      { $match: combine([visible, { "context.closedOn": t({ $gte: `${months[0]}-01` }) }]) },
      { $group: { _id: { $substrCP: ["$context.closedOn", 0, 7] }, n: { $sum: 1 } } },
    ]),
  ]);
  const per = (rows: { _id: string; n: number }[]) => months.map((m) => rows.find((r) => r._id === m)?.n ?? 0);
  return { months, created: per(created), closed: per(closed) };
}

/** How many cases there are per kind and state, all units together (the metrics). */
export async function casesByKindAndState(): Promise<{ kind: string; state: string; n: number }[]> {
  const rows = await Case.aggregate<{ _id: { kind: string; state: string }; n: number }>([{ $group: { _id: { kind: "$kind", state: "$state" }, n: { $sum: 1 } } }]);
  return rows.map((r) => ({ ...r._id, n: r.n }));
}
