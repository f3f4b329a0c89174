/**
 * Deadline policy: when each rung of the escalation ladder falls due for a case, and when a
 * publicity period ends. Pure: the working-day calendar comes in as a parameter and "now" as a
 * value. Rules are data (the defaults, with who holds each state, are in duties.ts; they are seeded
 * into the ledger and edited there).
 */
import { addCalendarDays } from "./common.ts";
import { deciderOf, holderOf, type Holder } from "./duties.ts";

export interface WorkdayCalendar {
  /** The n-th working day after `date` (before it for n < 0). Throws for a year it does not cover. */
  addWorkdays(date: string, n: number): string;
}

export type DayUnit = "workday" | "calendar";
export const ANCHOR_NAMES = ["deadline", "assignedOn", "acceptBy", "concludeBy", "extensionRequestedOn"] as const;
export type Anchor = (typeof ANCHOR_NAMES)[number];

/**
 * The dates a rule of each kind can count from (an inspection has no acceptance limit, a complaint no
 * assignment date); extensionRequestedOn is the day a pending extension request was made.
 */
export const ANCHORS: Record<"inspection" | "complaint", readonly Anchor[]> = {
  inspection: ["deadline", "assignedOn", "extensionRequestedOn"],
  complaint: ["deadline", "acceptBy", "concludeBy", "extensionRequestedOn"],
};

/** before: from the start of the day N days before the anchor; after: once N full days have passed after it. */
export type Trigger =
  | { anchor: Anchor; direction: "before" | "after"; days: number; unit: DayUnit }
  | { behindSchedule: true; marginPoints: number };

export const LEVELS = [
  "sign_reminder",
  "due_reminder",
  "yellow",
  "red",
  "supervision",
  "escalation",
  "accept_warning",
  "accept_overdue",
  "conclude_warning",
  "conclude_overdue",
  "office_due",
  "office_overdue",
  "office_extension",
  "returned",
  "instruction",
] as const;
export type Level = (typeof LEVELS)[number];

export const LEVEL_LABELS: Record<Level, string> = {
  sign_reminder: "签收提醒",
  due_reminder: "到期提醒",
  yellow: "黄色预警",
  red: "红色预警",
  supervision: "督办通知",
  escalation: "约谈/通报",
  accept_warning: "受理期限预警",
  accept_overdue: "受理超期",
  conclude_warning: "办理期限预警",
  conclude_overdue: "办理超期",
  office_due: "办结临期提醒",
  office_overdue: "办结超期提醒",
  office_extension: "延期待批提醒",
  // Not a rung: the office's 退回 told to the unit (never scored).
  returned: "退回整改通知",
  // Not a rung either: a leader's 批示 told to the unit.
  instruction: "领导批示",
};

/**
 * How far up the ladder a level stands: of the rungs of one case that fall due in the same pass,
 * only the highest is issued (the others are recorded as superseded). Equal ranks: the later rung.
 */
export const LEVEL_RANK: Record<Level, number> = {
  sign_reminder: 1,
  due_reminder: 2,
  office_due: 2,
  office_extension: 2,
  returned: 1,
  instruction: 1,
  accept_warning: 3,
  conclude_warning: 3,
  yellow: 3,
  red: 4,
  accept_overdue: 4,
  conclude_overdue: 4,
  office_overdue: 4,
  supervision: 5,
  escalation: 6,
};

export type Recipient = "unit" | "unit_head" | "office" | "leader";

export interface NoticeRule {
  id: string;
  kind: "inspection" | "complaint";
  level: Level;
  /** Who must hold the case for the rule to apply (duties.ts): a unit's rungs never fire on office time. */
  holders: Holder[];
  /** States (or parent states) in which the rule applies; a case elsewhere gets no such notice. */
  states: string[];
  /** The earliest of these is when the notice falls due. */
  triggers: Trigger[];
  recipients: Recipient[];
  /** Scorecard points against the lead unit (negative), counted only when the unit held the case. */
  points: number;
  clause?: string;
  enabled: boolean;
}

/** What the policy reads of a case. */
export interface CaseClock {
  kind: "inspection" | "complaint";
  state: string;
  context: {
    deadline?: string | null;
    deadlineRevision: number;
    assignedOn?: string | null;
    acceptBy?: string | null;
    concludeBy?: string | null;
    reviewCount?: number;
    progressPercent?: number;
    longTerm?: boolean;
    publicitySince?: string | null;
    publicityDays?: number;
    pendingExtension?: { requestedOn: string } | null;
    extensionGranted?: { revision: number; on: string } | null;
  };
}

/** The instant a calendar day starts in China. */
export const startOfDay = (date: string) => new Date(`${date}T00:00:00+08:00`);

function shift(cal: WorkdayCalendar, date: string, days: number, unit: DayUnit) {
  return unit === "calendar" ? addCalendarDays(date, days) : cal.addWorkdays(date, days);
}

/**
 * 序时进度: the moment the elapsed share of assignment → deadline exceeds the reported percent by
 * `marginPoints`; null when it never will (no deadline, long-term, or the margin reaches 100%).
 */
export function behindScheduleAt(c: CaseClock, marginPoints: number): Date | null {
  const ctx = c.context;
  if (!ctx.assignedOn || !ctx.deadline || ctx.longTerm) return null;
  const share = ((ctx.progressPercent ?? 0) + marginPoints) / 100;
  if (share >= 1) return null;
  const start = startOfDay(ctx.assignedOn).getTime();
  const end = startOfDay(addCalendarDays(ctx.deadline, 1)).getTime();
  return new Date(start + share * (end - start));
}

/**
 * The date an anchor names. concludeBy is the limit the office's part of a complaint must meet: the
 * 60-day 办结 limit (extended with an approved extension); in 复查 the review's answer limit; for a
 * complaint declined without acceptance, the acceptance limit, within which 不予受理 must be told.
 */
export function anchorDate(c: CaseClock, anchor: Anchor): string | null {
  const ctx = c.context;
  if (anchor === "extensionRequestedOn") return ctx.pendingExtension?.requestedOn ?? null;
  if (anchor !== "concludeBy") return ctx[anchor] ?? null;
  if ((ctx.reviewCount ?? 0) > 0) return ctx.deadline ?? null;
  return ctx.concludeBy ?? ctx.acceptBy ?? null;
}

function triggerAt(t: Trigger, c: CaseClock, cal: WorkdayCalendar): Date | null {
  if ("behindSchedule" in t) return behindScheduleAt(c, t.marginPoints);
  const anchor = anchorDate(c, t.anchor);
  if (!anchor) return null;
  return t.direction === "before"
    ? startOfDay(shift(cal, anchor, -t.days, t.unit))
    : startOfDay(addCalendarDays(shift(cal, anchor, t.days, t.unit), 1));
}

export const inState = (state: string, states: string[]) => states.some((s) => state === s || state.startsWith(`${s}.`));

export interface Timed {
  rule: NoticeRule;
  at: Date;
  /** Who holds the case, and so whom the rung reminds. */
  holder: Holder;
  /** The rung is due because progress fell behind schedule (its earliest trigger), not because of a date. */
  behindSchedule: boolean;
}
/**
 * A unit's rung that is not issued because its time was the office's: "decision" while the unit's request
 * awaits the office (issued once the office refuses it or the unit withdraws it, if still due then);
 * "granted" for a rung of an approved extension's deadline that fell due by the day of approval (it fell
 * due while the office decided, so it never fires).
 */
export interface Held extends Timed {
  why: "decision" | "granted";
}
export interface RuleProblem {
  rule: NoticeRule;
  error: Error;
}

/** Why this rung is held (not issued, not scored) while the case stands as it does, or null when it may fire. */
export function heldBecause(c: CaseClock, t: Pick<Timed, "at" | "holder">): Held["why"] | null {
  const holder = holderOf(c.kind, c.state);
  if (t.holder !== holder) return null;
  const decider = deciderOf(c.kind, c.state);
  if (decider && decider !== holder) return "decision";
  const granted = c.context.extensionGranted;
  if (holder === "unit" && granted && granted.revision === c.context.deadlineRevision && t.at < startOfDay(addCalendarDays(granted.on, 1))) return "granted";
  return null;
}

/**
 * When each applicable rule falls due for this case at its current deadline revision: the rules of its
 * kind whose states include the case's and whose holders include whoever holds the case now, or whoever
 * owes a decision on the holder's request (whose rungs then remind the decider). The holder's rungs on
 * the office's time come back as `held`, not `timed`.
 */
export function ladderFor(c: CaseClock, rules: NoticeRule[], cal: WorkdayCalendar): { timed: Timed[]; held: Held[]; problems: RuleProblem[] } {
  const timed: Timed[] = [];
  const held: Held[] = [];
  const problems: RuleProblem[] = [];
  const holder = holderOf(c.kind, c.state);
  if (!holder) return { timed, held, problems };
  const decider = deciderOf(c.kind, c.state);
  for (const rule of rules) {
    if (!rule.enabled || rule.kind !== c.kind || !inState(c.state, rule.states)) continue;
    const holders = rule.holders ?? [];
    const party = decider && holders.includes(decider) ? decider : holders.includes(holder) ? holder : null;
    if (!party) continue;
    try {
      const times = rule.triggers.map((t) => ({ t, at: triggerAt(t, c, cal) })).filter((x): x is { t: Trigger; at: Date } => x.at !== null);
      if (!times.length) continue;
      const first = times.reduce((a, b) => (b.at < a.at ? b : a));
      const rung: Timed = { rule, at: first.at, holder: party, behindSchedule: "behindSchedule" in first.t };
      const why = heldBecause(c, rung);
      if (why) held.push({ ...rung, why });
      else timed.push(rung);
    } catch (error) {
      problems.push({ rule, error: error as Error });
    }
  }
  return { timed: timed.sort((a, b) => a.at.getTime() - b.at.getTime()), held, problems };
}

/** The 公示 period of an inspection item passed without a number of its own, in working days. */
export const PUBLICITY_DAYS = 5;

/** The last day of a publicity period (`publicityDays` working days from the day it began), while it runs. */
export function publicityLastDay(c: CaseClock, cal: WorkdayCalendar): string | null {
  const { publicitySince, publicityDays } = c.context;
  if (c.kind !== "inspection" || c.state !== "publicizing" || !publicitySince) return null;
  return cal.addWorkdays(publicitySince, publicityDays ?? PUBLICITY_DAYS);
}

/** The end of a publicity period: once `publicityDays` full working days have passed after it began. */
export function publicityEndsAt(c: CaseClock, cal: WorkdayCalendar): Date | null {
  const last = publicityLastDay(c, cal);
  return last === null ? null : startOfDay(addCalendarDays(last, 1));
}

/** The key that makes a notice unique: one per case, rule and deadline revision. */
export const noticeKey = (caseId: string, ruleId: string, revision: number) => `${caseId}-${ruleId}-r${revision}`;

/**
 * States in which a case's `deadline` binds: past it, the case is overdue. A complaint's deadline is its
 * acceptance limit, then its 60-day limit, then the unit's 办理时限; once the unit hands it back, the
 * office's limit is the statutory one (the office's queue and reminders watch that), not the unit's date.
 */
export const DEADLINE_STATES: Record<CaseClock["kind"], string[]> = {
  inspection: ["assigned", "rectifying"],
  complaint: ["received", "accepted", "investigating"],
};

/** The behind-schedule margin of the kind's rules (the first enabled rule that has one), or null. */
export function behindMargin(kind: CaseClock["kind"], rules: NoticeRule[]): number | null {
  for (const r of rules) {
    if (!r.enabled || r.kind !== kind) continue;
    for (const t of r.triggers) if ("behindSchedule" in t) return t.marginPoints;
  }
  return null;
}
