/**
 * The office's work lists (待办): what awaits the office, by group, longest waiting first. Each group is
 * one MongoDB filter over the state the case is in and the event that brought it there (stateSince and
 * stateEvent, projected by the case service). The 首页, the 台账 and GET /api/cases (`awaiting=…`) and
 * the navigation's count all read these filters through caseFilter, which starts from what the actor
 * may see: a unit asking for a group sees only its own cases in it. docs/worklists.md defines the groups.
 */
import mongoose from "mongoose";
import { LEVELS, LEVEL_RANK, daysBetween, leafStates, shanghaiDate, type Actor } from "../../workflows/index.ts";
import { CalendarNotCovered, type WorkCalendar } from "../calendar/workdays.ts";
import { Case, CaseHistory, Notice, type CaseDoc } from "../db/models.ts";
import { caseFilter } from "./queries.ts";

export const AWAITING = ["accept", "assign", "returned", "review", "objection", "extension", "reply", "instruction"] as const;
export type Awaiting = (typeof AWAITING)[number];

const t = mongoose.trusted;

interface Group {
  label: string;
  /** What the office does with a case of the group. */
  hint: string;
  /** The states the group draws from (checked against the machines below). */
  states: string[];
  /**
   * A group about something other than the state (a 批示 awaiting 落实): its own filter, and the field that
   * says since when the case has waited in it (stateSince otherwise).
   */
  filter?: () => Record<string, unknown>;
  since?: "instructionSince";
  /** The event that brought the case into its state: only this one, or any but these. */
  by?: string;
  notBy?: string[];
}

/** The groups in the order the 首页 shows them. */
export const AWAITING_GROUPS: Record<Awaiting, Group> = {
  accept: { label: "待受理", hint: "信访件已登记，待决定受理、不予受理或转送", states: ["received"] },
  assign: { label: "待交办", hint: "督察问题已登记或导入、信访件已受理，待交办责任单位", states: ["registered", "accepted"], notBy: ["RETURN"] },
  returned: { label: "申请退回", hint: "责任单位认为不属本单位职责而退回，待重新交办", states: ["registered"], by: "RETURN" },
  review: { label: "待审核", hint: "销号审核（申请销号）与查处审核（查处结果、复查）", states: ["verifying", "reviewing"], notBy: ["OBJECTION"] },
  objection: { label: "公示异议", hint: "公示期间收到异议，回到销号审核", states: ["verifying"], by: "OBJECTION" },
  extension: { label: "待批延期", hint: "责任单位申请延期，待批准或不批准", states: ["rectifying.extensionPending", "investigating.extensionPending"] },
  reply: { label: "待答复", hint: "查处结果已审核（或不予受理），待答复信访人", states: ["replying"] },
  // A range over the (instructionSince, _id) index (models.ts): only cases with an open 批示 have a date there.
  instruction: { label: "待落实批示", hint: "分管领导的批示，待整改办记录落实情况", states: [], filter: () => ({ instructionSince: t({ $gt: new Date(0) }) }), since: "instructionSince" },
};

const KNOWN_STATES = new Set([...leafStates("inspection"), ...leafStates("complaint")]);
for (const [name, g] of Object.entries(AWAITING_GROUPS))
  for (const s of g.states) if (!KNOWN_STATES.has(s)) throw new Error(`work list ${name}: no machine has the state ${s}`);

export const isAwaiting = (x: unknown): x is Awaiting => typeof x === "string" && (AWAITING as readonly string[]).includes(x);

/** The filter of a group, before scope: see caseFilter, which adds what the actor may see. */
export function awaitingFilter(group: Awaiting): Record<string, unknown> {
  const g = AWAITING_GROUPS[group];
  if (g.filter) return g.filter();
  return {
    state: g.states.length === 1 ? g.states[0] : t({ $in: g.states }),
    ...(g.by ? { stateEvent: g.by } : g.notBy ? { stateEvent: t({ $nin: g.notBy }) } : {}),
  };
}

/** The state group a case is in (the groups by state do not overlap), or null: 待落实批示 is not a state's. */
export function groupOf(c: { state: string; stateEvent?: string | null }): Awaiting | null {
  for (const group of AWAITING) {
    const g = AWAITING_GROUPS[group];
    if (g.filter || !g.states.includes(c.state)) continue;
    const by = c.stateEvent ?? null;
    if (g.by ? by === g.by : !(g.notBy ?? []).includes(by ?? "")) return group;
  }
  return null;
}

/** An office rung fallen due on a case (the office's queue, src/notices/office-queue.ts): its limit and level. */
export interface Reminder {
  caseId: string;
  ledgerNumber: string;
  title: string;
  kind: "inspection" | "complaint";
  state: string;
  stateEvent: string | null;
  stateSince: Date | null;
  leadUnitId: string | null;
  limit: string | null;
  levelLabel: string;
  overdue: boolean;
}

/**
 * The office's one list (首页): each work list's cases, and beside each the office rung fallen due on it
 * (办结临期/超期, 延期待批提醒). A case with such a reminder is shown in its group even beyond the group's first
 * cases (after them, marked), so nothing due is hidden; cases with a reminder that are in no group (公示中)
 * are returned apart, by step. Nothing appears twice.
 */
export function withReminders<L extends { group: Awaiting; items: { _id: { toString(): string } }[] }>(
  lists: L[],
  steps: { step: string; items: Reminder[] }[],
): { lists: (L & { reminders: Map<string, Reminder>; extra: Reminder[] })[]; elsewhere: { step: string; items: Reminder[] }[] } {
  const shown = new Set(lists.flatMap((l) => l.items.map((c) => c._id.toString())));
  const out = lists.map((l) => ({ ...l, reminders: new Map<string, Reminder>(), extra: [] as Reminder[] }));
  const byGroup = new Map(out.map((l) => [l.group, l]));
  const elsewhere: { step: string; items: Reminder[] }[] = [];
  for (const { step, items } of steps) {
    const rest: Reminder[] = [];
    for (const r of items) {
      const list = byGroup.get(groupOf(r) as Awaiting);
      if (!list) {
        rest.push(r);
        continue;
      }
      list.reminders.set(r.caseId, r);
      if (!shown.has(r.caseId)) list.extra.push(r);
    }
    if (rest.length) elsewhere.push({ step, items: rest });
  }
  return { lists: out, elsewhere };
}

/** Every group at once: what the navigation counts. */
export function anyAwaitingFilter(): Record<string, unknown> {
  return { $or: AWAITING.map(awaitingFilter) };
}

/** Oldest first: the order of every work list. */
export const WAITING_SORT = "stateSince" as const;

/** Since when a case has waited in a group: when it entered its state, or (待落实批示) when its oldest open 批示 was written. */
export const waitingSince = (group: Awaiting, c: Pick<CaseDoc, "stateSince" | "instructionSince">): Date | null => c[AWAITING_GROUPS[group].since ?? "stateSince"] ?? null;

/** A group's first cases, longest waiting first (not yet run). */
export const awaitingQuery = (actor: Actor, group: Awaiting, now: Date, limit: number) =>
  Case.find(caseFilter(actor, { awaiting: group }, now))
    .sort({ [AWAITING_GROUPS[group].since ?? "stateSince"]: 1, _id: 1 })
    .limit(limit);

/** How many cases await the office in all groups together, of what the actor may see (not yet run): the navigation's count. */
export const awaitingCountQuery = (actor: Actor, now: Date) => {
  const scope = caseFilter(actor, {}, now);
  // Side by side, the unit's $or would be overwritten by the groups' $or.
  return Case.countDocuments(Object.keys(scope).length ? { $and: [scope, anyAwaitingFilter()] } : anyAwaitingFilter());
};

export interface WorkList {
  group: Awaiting;
  label: string;
  hint: string;
  total: number;
  items: CaseDoc[];
}

/** Each group's count and first `perGroup` cases, longest waiting first: two indexed queries per group, run together. */
export async function workLists(actor: Actor, now: Date, perGroup = 5): Promise<WorkList[]> {
  return Promise.all(
    AWAITING.map(async (group) => {
      const [total, items] = await Promise.all([Case.countDocuments(caseFilter(actor, { awaiting: group }, now)), awaitingQuery(actor, group, now, perGroup).lean<CaseDoc[]>()]);
      return { group, label: AWAITING_GROUPS[group].label, hint: AWAITING_GROUPS[group].hint, total, items };
    }),
  );
}

/**
 * How long a case has waited in its state, in working days (the office's steps are timed in working
 * days): working days after the day it arrived up to today. Where the calendar lacks a year, calendar
 * days, said so.
 */
export function daysWaiting(since: Date | null | undefined, now: Date, calendar: WorkCalendar): { n: number; label: string } | null {
  if (!since) return null;
  const [from, to] = [shanghaiDate(since), shanghaiDate(now)];
  try {
    const n = Math.max(0, calendar.workdaysBetween(from, to));
    return { n, label: n === 0 ? "不足 1 个工作日" : `${n} 个工作日` };
  } catch (e) {
    if (!(e instanceof CalendarNotCovered)) throw e;
    const n = Math.max(0, daysBetween(from, to));
    return { n, label: `${n} 天（自然日）` };
  }
}

// ------------------------------------------------------------------------------------ the unit's list

/** How soon a deadline counts as near (即将到期): the due reminder's default window. */
export const DUE_SOON_WORKDAYS = 5;

export type Urgency = "overdue" | "soon" | "rest";

export interface UnitCard {
  c: CaseDoc;
  urgency: Urgency;
  /** Calendar days past the deadline (while the unit holds the case), and working days. */
  overdueDays: number;
  overdueWorkdays: number | null;
  /** 督办通知 and 约谈/通报 issued on the case (not superseded). */
  supervisions: number;
  /** Working days left to the deadline, when it is near (null for a case that is only warned). */
  daysLeft: number | null;
  /** The office's reason, when its last step sent the case back (退回整改). */
  sentBack: { reason: string; at: Date } | null;
}

/** The events by which the office sends a case back to the unit's work (退回整改, 退回重新查处). */
const SENT_BACK = ["REJECT"];

/**
 * A unit's open cases where its user can act, most urgent first: overdue or under 督办 (most days
 * overdue, then most 督办), then due within DUE_SOON_WORKDAYS working days or warned (nearest deadline),
 * then the rest (nearest deadline; none last). `light`: the case's traffic light (queries.trafficLight).
 */
export function byUrgency(
  cases: { c: CaseDoc; light: string | null }[],
  supervisionsOf: Map<string, number>,
  reasons: Map<string, { reason: string; at: Date }>,
  now: Date,
  calendar: WorkCalendar,
): UnitCard[] {
  const today = shanghaiDate(now);
  const workdays = (from: string, to: string) => {
    try {
      return calendar.workdaysBetween(from, to);
    } catch (e) {
      if (e instanceof CalendarNotCovered) return null;
      throw e;
    }
  };
  const cards = cases.map(({ c, light }): UnitCard => {
    const id = c._id.toString();
    const overdue = light === "red" && !!c.deadline;
    const overdueDays = overdue ? daysBetween(c.deadline!, today) : 0;
    const supervisions = supervisionsOf.get(id) ?? 0;
    const left = light && c.deadline && c.deadline >= today ? workdays(today, c.deadline) : null;
    const near = left !== null && left <= DUE_SOON_WORKDAYS;
    const soon = near || light === "yellow";
    return {
      c,
      urgency: overdue || supervisions > 0 ? "overdue" : soon ? "soon" : "rest",
      overdueDays,
      overdueWorkdays: overdue ? workdays(c.deadline!, today) : null,
      supervisions,
      daysLeft: near ? left : null,
      sentBack: c.stateEvent && SENT_BACK.includes(c.stateEvent) ? (reasons.get(id) ?? null) : null,
    };
  });
  const rank: Record<Urgency, number> = { overdue: 0, soon: 1, rest: 2 };
  return cards.sort(
    (a, b) =>
      rank[a.urgency] - rank[b.urgency] ||
      b.overdueDays - a.overdueDays ||
      b.supervisions - a.supervisions ||
      (a.c.deadline ?? "~").localeCompare(b.c.deadline ?? "~") ||
      a.c.ledgerNumber.localeCompare(b.c.ledgerNumber),
  );
}

/** Events that carry a reason the next party must read: 退回 (by the unit or the office) and 公示异议. */
const WITH_REASON = ["REJECT", "RETURN", "OBJECTION"];

/**
 * The reason of the event that brought each case into its state, where that event carries one (退回整改,
 * 申请退回, 公示异议): one read of their history entries of that type, the latest winning.
 */
export async function arrivalReasons(cases: CaseDoc[]): Promise<Map<string, { reason: string; at: Date }>> {
  const arrived = cases.filter((c) => c.stateEvent && WITH_REASON.includes(c.stateEvent));
  if (!arrived.length) return new Map();
  const entries = await CaseHistory.find({ caseId: t({ $in: arrived.map((c) => c._id.toString()) }), type: t({ $in: WITH_REASON }) }, { caseId: 1, seq: 1, type: 1, at: 1, payload: 1 })
    .sort({ caseId: 1, seq: 1 })
    .lean();
  const eventOf = new Map(arrived.map((c) => [c._id.toString(), c.stateEvent]));
  return new Map(entries.filter((e) => eventOf.get(e.caseId) === e.type).map((e) => [e.caseId, { reason: String((e.payload as { reason?: unknown })?.reason ?? ""), at: e.at }]));
}

/** How many 督办通知 and 约谈/通报 each case has had (not superseded). */
export async function supervisionCounts(caseIds: string[]): Promise<Map<string, number>> {
  if (!caseIds.length) return new Map();
  const rows = await Notice.find({ caseId: t({ $in: caseIds }), level: t({ $in: SUPERVISION_LEVELS }), supersededBy: null }, { caseId: 1 }).lean();
  const n = new Map<string, number>();
  for (const r of rows) n.set(r.caseId, (n.get(r.caseId) ?? 0) + 1);
  return n;
}

const SUPERVISION_LEVELS = LEVELS.filter((l) => LEVEL_RANK[l] >= LEVEL_RANK.supervision);
