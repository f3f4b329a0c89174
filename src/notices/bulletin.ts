/**
 * The monthly 通报 (docs/domain.md#bulletin): per responsible unit, the cases it held in the month, those
 * closed (on time, and 长期坚持 items apart), those overdue in its hands at the cut-off, the notices it was given on its own time by level,
 * its points and its rank, with a summary paragraph written from the figures. The case figures are
 * counted in the database by one aggregation; each figure's cases are listed by the same conditions
 * (`bulletinCases`), and the notices and points are the scorecard's, so every number traces to cases.
 */
import mongoose from "mongoose";
import { LEVEL_LABELS, LEVELS, ownUnit, percentText, shanghaiDate, stateLabel, unitScope, type Actor, type CaseKind, type Level } from "../../workflows/index.ts";
import { assignedOnExpr, closedOnTimeExpr, isSet, longTermExpr, not, overdueAtCutoffExpr } from "../cases/figures.ts";
import { Case, type CaseDoc } from "../db/models.ts";
import { unitNames } from "../directory.ts";
import { loadRules } from "./rules.ts";
import { YELLOW_CARDS, scorecard, type UnitScore } from "./scorecard.ts";

export const CASE_FIGURES = ["held", "closed", "closedOnTime", "longTerm", "overdue"] as const;
export type CaseFigure = (typeof CASE_FIGURES)[number];

export const FIGURE_LABELS: Record<CaseFigure, string> = { held: "承办案件", closed: "本月办结", closedOnTime: "其中按期办结", longTerm: "其中长期坚持", overdue: "超期未办结" };

/** What each figure counts, as the bulletin's notes print it. */
export const FIGURE_DEFINITIONS: [string, string][] = [
  ["承办案件", "本月内由该单位牵头（承办）的督察问题和信访件：交办日期不晚于月末，且未在本月之前办结（销号）"],
  ["本月办结", "办结（销号）日期在本月内的案件；转送的信访件不计"],
  ["其中按期办结", "本月办结的案件中，督察问题销号日期不晚于整改时限、信访件办结日期不晚于法定办结期限（经批准延期的按延长后）"],
  ["其中长期坚持", "本月销号的长期坚持督察问题（无整改时限）：既不算按期也不算超期，单列，不计入按期办结率的分母"],
  ["超期未办结", "截至统计截止日（月末，当月为今日）已过办理时限，且仍由该单位办理（尚未申请销号或报送查处结果）的案件"],
  ["各级通知", "本月内、在该单位办理案件期间发给该单位的预警和督办通知（同批到期被取代的、整改办办理期间的提醒不计），与考评一致"],
  ["扣分与排名", "扣分为上述通知的分值之和；排名按扣分由少到多，扣分相同的按超期件数由少到多，二者都相同的名次并列"],
];

/** A month "2026-07": its first and last day, and the cut-off (its last day, or today within it). */
export function monthRange(month: string, now: Date): { from: string; to: string; cutoff: string } {
  const [y, m] = month.split("-").map(Number) as [number, number];
  const from = `${month}-01`;
  const to = new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10);
  const today = shanghaiDate(now);
  return { from, to, cutoff: [today, to].sort()[0]! };
}

export const MONTH = /^20\d{2}-(?:0[1-9]|1[0-2])$/;
export const isMonth = (s: string) => MONTH.test(s);

/** The month before the one `now` is in (a 通报 reports a finished month). */
export function lastMonth(now: Date): string {
  const [y, m] = shanghaiDate(now).split("-").map(Number) as [number, number];
  return new Date(Date.UTC(y, m - 2, 1)).toISOString().slice(0, 7);
}

/** The conditions of the case figures for a month, as aggregation expressions (used to count and to list). */
function conditions(r: { from: string; to: string; cutoff: string }): Record<CaseFigure, unknown> {
  const closedOn = "$context.closedOn";
  const closed = { $and: [isSet(closedOn), { $gte: [closedOn, r.from] }, { $lte: [closedOn, r.to] }, not(isSet("$context.transferredTo"))] };
  return {
    held: { $and: [isSet(assignedOnExpr), { $lte: [assignedOnExpr, r.to] }, { $or: [not(isSet(closedOn)), { $gte: [closedOn, r.from] }] }] },
    closed,
    closedOnTime: { $and: [closed, closedOnTimeExpr] },
    longTerm: { $and: [closed, longTermExpr] },
    // At the cut-off, from the dates the case kept: a month's figure does not move when the case moves on later.
    overdue: overdueAtCutoffExpr(r.cutoff),
  };
}

export interface BulletinRow {
  unitId: string;
  unitName: string;
  held: number;
  closed: number;
  closedOnTime: number;
  /** Closed 长期坚持 items: neither on time nor late, outside the on-time rate. */
  longTerm: number;
  overdue: number;
  /** Notices by level, the unit's own time only (the scorecard's). */
  notices: Partial<Record<Level, number>>;
  noticeTotal: number;
  points: number;
  rank: number;
  /** Two yellow cards in the quarter of the month (up to its end). */
  specialLetter: boolean;
}

export interface Bulletin {
  month: string;
  from: string;
  to: string;
  cutoff: string;
  /** Every unit ranked (a unit sees its own row, rank and the city's totals only). */
  units: number;
  rows: BulletinRow[];
  totals: Omit<BulletinRow, "unitId" | "unitName" | "rank" | "specialLetter">;
  levels: Level[];
  summary: string;
}

/** The case figures per lead unit, counted in the database. */
async function caseFigures(r: { from: string; to: string; cutoff: string }) {
  const c = conditions(r);
  const count = (e: unknown) => ({ $sum: { $cond: [e, 1, 0] } });
  return Case.aggregate<{ _id: string } & Record<CaseFigure, number>>([
    { $match: { leadUnitId: mongoose.trusted({ $ne: null }) } },
    { $group: { _id: "$leadUnitId", held: count(c.held), closed: count(c.closed), closedOnTime: count(c.closedOnTime), longTerm: count(c.longTerm), overdue: count(c.overdue) } },
  ]);
}

/** 按期办结率 as printed: on time over the closed cases that have a limit (长期坚持 items left out). */
const onTimeText = (r: { closed: number; closedOnTime: number; longTerm: number }) => percentText(r.closedOnTime, r.closed - r.longTerm);
const points = (p: number) => (p === 0 ? "0" : `${p}`);

/** The 通报 of a month over every unit (`levels`: the levels a unit can be given on its own time, in ladder order). */
export async function bulletin(month: string, now: Date, levels: Level[]): Promise<Bulletin> {
  const range = monthRange(month, now);
  const quarterStart = `${month.slice(0, 4)}-${String(Math.floor((Number(month.slice(5, 7)) - 1) / 3) * 3 + 1).padStart(2, "0")}-01`;
  const [figures, scores, quarter, names] = await Promise.all([caseFigures(range), scorecard(range.from, range.to), scorecard(quarterStart, range.to), unitNames()]);
  const byUnit = new Map<string, UnitScore>(scores.map((s) => [s.unitId, s]));
  const letters = new Set(quarter.filter((s) => s.lines.filter((l) => YELLOW_CARDS.includes(l.level as Level)).length >= 2).map((s) => s.unitId));
  const ids = new Set([...figures.filter((f) => f.held || f.closed || f.overdue).map((f) => f._id), ...scores.map((s) => s.unitId)]);
  const fig = new Map(figures.map((f) => [f._id, f]));
  const rows: BulletinRow[] = [...ids].map((unitId) => {
    const f = fig.get(unitId);
    const s = byUnit.get(unitId);
    const notices = Object.fromEntries(levels.map((l) => [l, s?.counts[l] ?? 0])) as Partial<Record<Level, number>>;
    return {
      unitId,
      unitName: names.get(unitId) ?? unitId,
      held: f?.held ?? 0,
      closed: f?.closed ?? 0,
      closedOnTime: f?.closedOnTime ?? 0,
      longTerm: f?.longTerm ?? 0,
      overdue: f?.overdue ?? 0,
      notices,
      noticeTotal: s?.lines.length ?? 0,
      points: s?.points ?? 0,
      rank: 0,
      specialLetter: letters.has(unitId),
    };
  });
  // Fewest points lost first, then fewest overdue; equal on both, equal rank.
  rows.sort((a, b) => b.points - a.points || a.overdue - b.overdue || a.unitName.localeCompare(b.unitName, "zh-CN"));
  rows.forEach((r, i) => {
    const prev = rows[i - 1];
    r.rank = prev && prev.points === r.points && prev.overdue === r.overdue ? prev.rank : i + 1;
  });
  const sum = (k: CaseFigure | "noticeTotal") => rows.reduce((n, r) => n + r[k], 0);
  const totals = {
    held: sum("held"),
    closed: sum("closed"),
    closedOnTime: sum("closedOnTime"),
    longTerm: sum("longTerm"),
    overdue: sum("overdue"),
    noticeTotal: sum("noticeTotal"),
    notices: Object.fromEntries(levels.map((l) => [l, rows.reduce((n, r) => n + (r.notices[l] ?? 0), 0)])) as Partial<Record<Level, number>>,
    points: Math.round(rows.reduce((n, r) => n + r.points, 0) * 10) / 10,
  };
  const b: Bulletin = { month, ...range, units: rows.length, rows, totals, levels, summary: "" };
  b.summary = summaryOf(b);
  return b;
}

export const monthText = (month: string) => `${month.slice(0, 4)}年${Number(month.slice(5, 7))}月`;
const dateText = (d: string) => `${Number(d.slice(5, 7))}月${Number(d.slice(8, 10))}日`;
const levelsText = (counts: Partial<Record<Level, number>>) =>
  Object.entries(counts)
    .filter(([, n]) => n)
    .map(([l, n]) => `${LEVEL_LABELS[l as Level]}${n}份`)
    .join("、");

/** The city's paragraph: totals, then the units that stand out, by name. */
export function summaryOf(b: Bulletin): string {
  const t = b.totals;
  const parts = [
    `${monthText(b.month)}，全市${b.units}个责任单位共承办督察整改和信访案件${t.held}件，本月办结${t.closed}件，其中按期办结${t.closedOnTime}件${t.longTerm ? `、长期坚持${t.longTerm}件` : ""}（按期办结率${onTimeText(t)}${t.longTerm ? "，长期坚持事项不计" : ""}）；截至${dateText(b.cutoff)}，超期未办结${t.overdue}件。`,
    t.noticeTotal
      ? `本月在责任单位办理期间发出预警督办通知${t.noticeTotal}份（${levelsText(t.notices)}），合计扣${points(-t.points)}分。`
      : "本月未向责任单位发出预警督办通知。",
  ];
  const clean = b.rows.filter((r) => r.points === 0 && r.overdue === 0).map((r) => r.unitName);
  // Up to eight are named in full; a longer list names five "等N个单位", as 通报 write it.
  const named = clean.length > 8 ? `${clean.slice(0, 5).join("、")}等${clean.length}个单位` : clean.length > 1 ? `${clean.join("、")}共${clean.length}个单位` : clean.join("");
  if (clean.length) parts.push(`${named}本月无扣分、无超期，予以肯定。`);
  const worst = b.rows.filter((r) => r.points < 0).slice(-3).reverse();
  if (worst.length) parts.push(`${worst.map((r) => `${r.unitName}（扣${points(-r.points)}分${r.overdue ? `，超期${r.overdue}件` : ""}）`).join("、")}扣分较多，请加大整改力度，按期完成。`);
  const letters = b.rows.filter((r) => r.specialLetter).map((r) => r.unitName);
  if (letters.length) parts.push(`${letters.join("、")}本季度已收到两次以上黄牌，应予专函督办。`);
  return parts.join("");
}

/** A unit's own paragraph: its figures, its rank among all, and the city's totals — no other unit named. */
export function unitSummary(b: Bulletin, row: BulletinRow | undefined, unitName: string): string {
  const t = b.totals;
  const own = row
    ? `${monthText(b.month)}，你单位承办案件${row.held}件，本月办结${row.closed}件，其中按期办结${row.closedOnTime}件${row.longTerm ? `、长期坚持${row.longTerm}件` : ""}；截至${dateText(b.cutoff)}，超期未办结${row.overdue}件。本月在你单位办理期间收到预警督办通知${row.noticeTotal}份${row.noticeTotal ? `（${levelsText(row.notices)}）` : ""}，扣${points(-row.points)}分，在全市${b.units}个责任单位中排名第${row.rank}。${row.specialLetter ? "本季度已收到两次以上黄牌，将予专函督办。" : ""}`
    : `${monthText(b.month)}，${unitName}本月没有承办案件，也未收到预警督办通知。`;
  return `${own}全市共承办案件${t.held}件，本月办结${t.closed}件，超期未办结${t.overdue}件。`;
}

/** The cases behind one case figure of one unit (not yet run): the aggregation's own condition, through the lead-unit index. */
export function bulletinCasesQuery(month: string, now: Date, unitId: string, figure: CaseFigure) {
  const c = conditions(monthRange(month, now));
  return Case.find({ leadUnitId: unitId, $expr: mongoose.trusted(c[figure] as object) }, { kind: 1, ledgerNumber: 1, title: 1, state: 1, deadline: 1, context: 1 }).sort({ ledgerNumber: 1 });
}

export interface TracedCase {
  id: string;
  ledgerNumber: string;
  title: string;
  state: string;
  deadline: string | null;
  closedOn: string | null;
}

export async function bulletinCases(month: string, now: Date, unitId: string, figure: CaseFigure): Promise<TracedCase[]> {
  const docs = await bulletinCasesQuery(month, now, unitId, figure).lean<CaseDoc[]>();
  return docs.map((d) => ({
    id: d._id.toString(),
    ledgerNumber: d.ledgerNumber,
    title: d.title,
    state: stateLabel(d.kind as CaseKind, d.state),
    deadline: d.deadline ?? null,
    closedOn: (d.context as { closedOn?: string | null }).closedOn ?? null,
  }));
}

/** The levels that can count against a unit: those of rules applying on the unit's time, in ladder order. */
export async function unitLevels(): Promise<Level[]> {
  const rules = await loadRules();
  const used = new Set(rules.filter((r) => r.holders.includes("unit")).map((r) => r.level));
  return LEVELS.filter((l) => used.has(l));
}

/**
 * The 通报 as an actor may see it. Office and leaders: every unit, ranked, and the city's paragraph that
 * names units. A unit: its own row, its rank among all and the city's totals — a rank and totals
 * identify no other unit, while their rows and the named paragraph would (docs/domain.md#roles: a unit
 * never sees another unit's numbers).
 */
export async function bulletinFor(actor: Actor, month: string, now: Date): Promise<Bulletin & { monthText: string }> {
  return visibleTo(actor, await bulletin(month, now, await unitLevels()));
}

/** A computed or stored 通报 cut to what `actor` may see (bulletinFor's rule; issued bulletins are cut at read time). */
export async function visibleTo(actor: Actor, b: Bulletin): Promise<Bulletin & { monthText: string }> {
  const text = monthText(b.month);
  if (actor.role !== "unit_user") return { ...b, monthText: text };
  const own = b.rows.find((r) => r.unitId === unitScope(actor));
  const names = await unitNames();
  return { ...b, monthText: text, rows: own ? [own] : [], summary: unitSummary(b, own, names.get(ownUnit(actor)) ?? "你单位") };
}
