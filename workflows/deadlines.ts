/**
 * Deadline policy: when each rung of the escalation ladder falls due for a case, and when a
 * publicity period ends. Pure: the working-day calendar comes in as a parameter and "now" as a
 * value. Rules are data (the defaults below are seeded into the ledger and edited there).
 */
import { addCalendarDays } from "./common.ts";

export interface WorkdayCalendar {
  /** The n-th working day after `date` (before it for n < 0). Throws for a year it does not cover. */
  addWorkdays(date: string, n: number): string;
}

export type DayUnit = "workday" | "calendar";
export type Anchor = "deadline" | "assignedOn" | "acceptBy";

/** The dates a rule of each kind can count from (an inspection has no acceptance limit, a complaint no assignment date). */
export const ANCHORS: Record<"inspection" | "complaint", readonly Anchor[]> = {
  inspection: ["deadline", "assignedOn"],
  complaint: ["deadline", "acceptBy"],
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
  conclude_warning: "办结期限预警",
  conclude_overdue: "办结超期",
};

export type Recipient = "unit" | "unit_head" | "office" | "leader";

export interface NoticeRule {
  id: string;
  kind: "inspection" | "complaint";
  level: Level;
  /** States (or parent states) in which the rule applies; a case elsewhere gets no such notice. */
  states: string[];
  /** The earliest of these is when the notice falls due. */
  triggers: Trigger[];
  recipients: Recipient[];
  template: string;
  /** Scorecard points against the lead unit (negative). */
  points: number;
  clause?: string;
  enabled: boolean;
}

const before = (anchor: Anchor, days: number, unit: DayUnit = "workday"): Trigger => ({ anchor, direction: "before", days, unit });
const after = (anchor: Anchor, days: number, unit: DayUnit = "workday"): Trigger => ({ anchor, direction: "after", days, unit });
const OPEN_INSPECTION = ["assigned", "rectifying"];

/** The ladder of DOMAIN.md, as seeded. */
export const DEFAULT_RULES: NoticeRule[] = [
  { id: "inspection.sign_reminder", kind: "inspection", level: "sign_reminder", states: ["assigned"], triggers: [after("assignedOn", 2)], recipients: ["unit"], template: "notice", points: 0, enabled: true },
  { id: "inspection.due_reminder", kind: "inspection", level: "due_reminder", states: OPEN_INSPECTION, triggers: [before("deadline", 5)], recipients: ["unit"], template: "notice", points: 0, enabled: true },
  { id: "inspection.yellow", kind: "inspection", level: "yellow", states: OPEN_INSPECTION, triggers: [before("deadline", 2), { behindSchedule: true, marginPoints: 20 }], recipients: ["unit", "office"], template: "notice", points: -0.5, enabled: true },
  { id: "inspection.red", kind: "inspection", level: "red", states: OPEN_INSPECTION, triggers: [after("deadline", 0, "calendar")], recipients: ["unit", "office"], template: "notice", points: -1, enabled: true },
  { id: "inspection.supervision", kind: "inspection", level: "supervision", states: OPEN_INSPECTION, triggers: [after("deadline", 5)], recipients: ["unit_head", "office", "leader"], template: "supervision", points: -2, enabled: true },
  { id: "inspection.escalation", kind: "inspection", level: "escalation", states: OPEN_INSPECTION, triggers: [after("deadline", 15)], recipients: ["leader"], template: "notice", points: 0, enabled: true },
  { id: "complaint.accept_warning", kind: "complaint", level: "accept_warning", states: ["received"], triggers: [before("acceptBy", 3, "calendar")], recipients: ["office"], template: "notice", points: 0, clause: "《信访工作条例》第二十二条：收到信访事项之日起15日内告知是否受理", enabled: true },
  { id: "complaint.accept_overdue", kind: "complaint", level: "accept_overdue", states: ["received"], triggers: [after("acceptBy", 0, "calendar")], recipients: ["office", "leader"], template: "notice", points: 0, clause: "《信访工作条例》第二十二条", enabled: true },
  { id: "complaint.conclude_warning", kind: "complaint", level: "conclude_warning", states: ["accepted", "investigating", "reviewing", "replying"], triggers: [before("deadline", 3, "calendar")], recipients: ["unit", "office"], template: "notice", points: -0.5, clause: "《信访工作条例》第三十四条：自受理之日起60日内办结", enabled: true },
  { id: "complaint.conclude_overdue", kind: "complaint", level: "conclude_overdue", states: ["accepted", "investigating", "reviewing", "replying"], triggers: [after("deadline", 0, "calendar")], recipients: ["unit", "office"], template: "notice", points: -1, clause: "《信访工作条例》第三十四条、第三十五条（延期不超过30日）", enabled: true },
];

/** What the policy reads of a case. */
export interface CaseClock {
  kind: "inspection" | "complaint";
  state: string;
  context: {
    deadline?: string | null;
    deadlineRevision: number;
    assignedOn?: string | null;
    acceptBy?: string | null;
    progressPercent?: number;
    longTerm?: boolean;
    publicitySince?: string | null;
    publicityDays?: number;
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

function triggerAt(t: Trigger, c: CaseClock, cal: WorkdayCalendar): Date | null {
  const ctx = c.context;
  if ("behindSchedule" in t) return behindScheduleAt(c, t.marginPoints);
  const anchor = ctx[t.anchor];
  if (!anchor) return null;
  return t.direction === "before"
    ? startOfDay(shift(cal, anchor, -t.days, t.unit))
    : startOfDay(addCalendarDays(shift(cal, anchor, t.days, t.unit), 1));
}

export const inState = (state: string, states: string[]) => states.some((s) => state === s || state.startsWith(`${s}.`));

export interface Timed {
  rule: NoticeRule;
  at: Date;
}
export interface RuleProblem {
  rule: NoticeRule;
  error: Error;
}

/** When each applicable rule falls due for this case at its current deadline revision. */
export function ladderFor(c: CaseClock, rules: NoticeRule[], cal: WorkdayCalendar): { timed: Timed[]; problems: RuleProblem[] } {
  const timed: Timed[] = [];
  const problems: RuleProblem[] = [];
  for (const rule of rules) {
    if (!rule.enabled || rule.kind !== c.kind || !inState(c.state, rule.states)) continue;
    try {
      const times = rule.triggers.map((t) => triggerAt(t, c, cal)).filter((d): d is Date => d !== null);
      if (times.length) timed.push({ rule, at: new Date(Math.min(...times.map((d) => d.getTime()))) });
    } catch (error) {
      problems.push({ rule, error: error as Error });
    }
  }
  return { timed: timed.sort((a, b) => a.at.getTime() - b.at.getTime()), problems };
}

/** The end of a publicity period: once `publicityDays` full working days have passed after it began. */
export function publicityEndsAt(c: CaseClock, cal: WorkdayCalendar): Date | null {
  const { publicitySince, publicityDays } = c.context;
  if (c.kind !== "inspection" || c.state !== "publicizing" || !publicitySince) return null;
  return startOfDay(addCalendarDays(cal.addWorkdays(publicitySince, publicityDays ?? 5), 1));
}

/** The key that makes a notice unique: one per case, rule and deadline revision. */
export const noticeKey = (caseId: string, ruleId: string, revision: number) => `${caseId}-${ruleId}-r${revision}`;

/** States in which a case's deadline binds: past it, the case is overdue. */
export const DEADLINE_STATES: Record<CaseClock["kind"], string[]> = {
  inspection: ["assigned", "rectifying"],
  complaint: ["received", "accepted", "investigating", "reviewing", "replying"],
};

/** The behind-schedule margin of the kind's rules (the first enabled rule that has one), or null. */
export function behindMargin(kind: CaseClock["kind"], rules: NoticeRule[]): number | null {
  for (const r of rules) {
    if (!r.enabled || r.kind !== kind) continue;
    for (const t of r.triggers) if ("behindSchedule" in t) return t.marginPoints;
  }
  return null;
}
