/**
 * The published figures' rules, each written once (docs/domain.md#figures): when a case is overdue
 * (each variant, named for what it means), when it closed on time and which closed cases a 按期 rate
 * counts, which rung of the ladder ranks highest, and which unit a unit user's figures are limited to.
 * Pure. Their database counterparts (filters and aggregation expressions) are src/cases/figures.ts,
 * which must say the same.
 */
import { inState, LEVEL_RANK, DEADLINE_STATES, type Level, type NoticeRule } from "./deadlines.ts";
import { holderOf } from "./duties.ts";
import type { Actor } from "./common.ts";

type Kind = "inspection" | "complaint";

// ---- a unit's scope (docs/domain.md#roles) ------------------------------------------------------

/** A unit id no unit has: a unit user without a unit sees nothing rather than everything. */
export const NO_UNIT = "-";

/** The unit a unit user's lists and figures are limited to. */
export const ownUnit = (actor: Actor): string => actor.unitId ?? NO_UNIT;

/** The unit a report is limited to: a unit user's own, whatever was asked; for the office and leaders, the unit asked for (if any). */
export function unitScope(actor: Actor, asked?: string): string | undefined {
  return actor.role === "unit_user" ? ownUnit(actor) : asked;
}

// ---- overdue (docs/domain.md#overdue) -----------------------------------------------------------

/** What the overdue rules read of a case: the extension request awaiting the office, if any, too. */
export interface DatedCase {
  kind: Kind;
  state: string;
  deadline?: string | null;
  context?: { pendingExtension?: { deadline: string } | null } | null;
}

/** A limit is missed once the day after it begins (in China): on the limit's own day the case is still in time. */
export const missed = (limit: string | null | undefined, today: string): limit is string => !!limit && limit < today;

/** The states in which a case's `deadline` binds (DEADLINE_STATES): the ledger's notion of "still owed by that date". */
export const deadlineBinds = (c: Pick<DatedCase, "kind" | "state">) => inState(c.state, DEADLINE_STATES[c.kind]);

/**
 * The office still holds the time (docs/domain.md#extension-pending-overdue): a unit's extension request
 * awaits its decision and the date asked for has not passed. Such a case is not overdue anywhere, as its
 * rungs are held; once the date asked for has passed too, it is (approval is then impossible).
 */
export const officeHoldsTime = (c: DatedCase, today: string) => {
  const asked = c.context?.pendingExtension?.deadline;
  return !!asked && asked >= today;
};

/**
 * 超期 in the ledger (the 台账's filter and red light, the export's 超期天数, the dashboard's count, the unit's
 * home): the deadline has passed and it still binds, whoever holds the case (a complaint's acceptance limit is
 * the office's), unless the office holds the time (officeHoldsTime).
 */
export const overdueNow = (c: DatedCase, today: string) => missed(c.deadline, today) && deadlineBinds(c) && !officeHoldsTime(c, today);

/**
 * Overdue in the unit's hands: the deadline has passed while a unit holds the case (duties.ts), and the office
 * does not hold the time (officeHoldsTime). The unit table of the dashboard counts this, so a case waiting on
 * the office never counts against a unit.
 */
export const overdueInUnitHands = (c: DatedCase, today: string) => missed(c.deadline, today) && holderOf(c.kind, c.state) === "unit" && !officeHoldsTime(c, today);

/** What the bulletin's overdue reads of a case: the dates the case has kept, not its state now. */
export interface CutoffCase extends DatedCase {
  context: { assignedOn?: string | null; acceptedOn?: string | null; submittedOn?: string | null; closedOn?: string | null; pendingExtension?: { deadline: string } | null };
}

/**
 * 超期未办结 at a bulletin's cut-off: assigned by the cut-off, its deadline passed by then, and not yet
 * handed back (submitted or closed) by then. It reads dates, not the state now, so a month's figure does
 * not change when the case moves on later. A case that predates `submittedOn` and is out of the unit's
 * hands counts as handed back.
 */
export function overdueAtCutoff(c: CutoffCase, cutoff: string): boolean {
  const x = c.context;
  const assignedOn = x.assignedOn ?? x.acceptedOn ?? null;
  if (!missed(c.deadline, cutoff) || !assignedOn || assignedOn > cutoff) return false;
  const handedBack = (x.submittedOn && x.submittedOn <= cutoff) || (x.closedOn && x.closedOn <= cutoff) || (!x.submittedOn && holderOf(c.kind, c.state) !== "unit");
  return !handedBack;
}

// ---- closed on time (docs/domain.md#on-time) ----------------------------------------------------

/** What the on-time rules read of a closed case. */
export interface ClosedCase {
  kind: Kind;
  context: { deadline?: string | null; concludeBy?: string | null; closedOn?: string | null; longTerm?: boolean };
}

/**
 * The limit a closed case is judged against: an inspection item's 整改时限 (as extended); a complaint's
 * statutory 办结 limit (60 days from acceptance, as extended), not the unit's own 办理时限.
 */
export const onTimeLimit = (c: ClosedCase): string | null => (c.kind === "complaint" ? c.context.concludeBy : c.context.deadline) ?? null;

/** A 长期坚持 item without a deadline: neither on time nor late, outside every 按期 rate's denominator (counted apart). */
export const isLongTerm = (c: ClosedCase) => c.kind === "inspection" && onTimeLimit(c) === null;

/** Closed no later than its limit. A case with no limit (长期坚持) is never on time, nor late. */
export const closedOnTime = (c: ClosedCase) => {
  const limit = onTimeLimit(c);
  return !!c.context.closedOn && limit !== null && c.context.closedOn <= limit;
};

/** A rate: part ÷ whole, to four decimals; null when the whole is 0 (nothing to rate). */
export const rate = (part: number, whole: number): number | null => (whole === 0 ? null : Math.round((part / whole) * 10_000) / 10_000);

/** A rate as the bulletin prints it ("87.5%"), "—" when nothing is rated. */
export const percentText = (part: number, whole: number) => (whole ? `${Math.round((part / whole) * 1000) / 10}%` : "—");

// ---- the ladder's rungs (docs/domain.md#ladder) -------------------------------------------------

export interface Rung {
  level: Level;
  at: Date;
}

/**
 * The order of rungs, highest first: the higher level (LEVEL_RANK); of equal rank, the later one.
 * Of several rungs of a case due together only the first in this order is issued.
 */
export const rungOrder = (a: Rung, b: Rung) => LEVEL_RANK[b.level] - LEVEL_RANK[a.level] || b.at.getTime() - a.at.getTime();

/** The highest of some rungs (rungOrder). */
export function topRung<T>(items: T[], rung: (t: T) => Rung): T | undefined {
  return items.reduce<T | undefined>((best, t) => (best === undefined || rungOrder(rung(t), rung(best)) < 0 ? t : best), undefined);
}

// ---- the scorecard (docs/domain.md#scorecard) ---------------------------------------------------

/**
 * What a level costs a unit when a notice of it is issued by hand: the points of the kind's rule of that
 * level that applies on the unit's time (the enabled one first), so a 督办通知 by hand counts like one the
 * ladder issues; 0 for a level no such rule has. Whether it counts at all (the unit held the case, the rung
 * was not superseded) is decided as for any notice.
 */
export function levelPoints(rules: NoticeRule[], kind: Kind, level: Level): number {
  const own = rules.filter((r) => r.kind === kind && r.level === level && (r.holders ?? []).includes("unit"));
  return (own.find((r) => r.enabled) ?? own[0])?.points ?? 0;
}

/** A level that marks the case as in trouble (红色预警 and above, and the office's and complaints' overdue rungs): lists highlight it. */
export const isSevere = (level: Level | string) => (LEVEL_RANK[level as Level] ?? 0) >= LEVEL_RANK.red;
