/**
 * The published figures' rules as the database evaluates them: the filters and aggregation expressions
 * of workflows/figures.ts, one for one (docs/domain.md#figures). Every count, list, rate, export and
 * bulletin that says "overdue" or "on time" builds on these, so the lists and the numbers agree.
 */
import mongoose from "mongoose";
import { DEADLINE_STATES, holderOf, leafStates, partiesOf, CASE_KINDS, type CaseKind, type Holder } from "../../workflows/index.ts";

const t = mongoose.trusted;

// ---- aggregation building blocks ----------------------------------------------------------------

/** A field that is set (neither missing nor null). */
export const isSet = (path: unknown) => ({ $ne: [{ $ifNull: [path, null] }, null] });
export const not = (e: unknown) => ({ $not: [e] });
/** A count of the documents where all conditions hold (inside $group). */
export const countIf = (...conditions: unknown[]) => ({ $sum: { $cond: [{ $and: conditions }, 1, 0] } });

// ---- states -------------------------------------------------------------------------------------

/** Leaf states of a kind named by a state key: "rectifying" → its sub-states; unknown → none. */
export function statesFor(state: string, kind: CaseKind): string[] {
  return leafStates(kind).filter((s) => s === state || s.startsWith(`${state}.`));
}

const kindsOf = (kind?: CaseKind): readonly CaseKind[] => (kind ? [kind] : CASE_KINDS);

/** Cases in any of `states` of their own kind: each state is matched with its kind (two kinds may share a state's name). */
export function inStatesFilter(states: (kind: CaseKind) => string[], kind?: CaseKind): Record<string, unknown> {
  // Always an $or, also for one kind: it then sits beside a list's other conditions without colliding with a `kind` or `state` of its own.
  return { $or: kindsOf(kind).map((k) => ({ kind: k, state: t({ $in: [...new Set(states(k).flatMap((s) => statesFor(s, k)))] }) })) };
}

/** Leaf states of a kind whose holder (duties.ts) is `holder`. */
export const heldBy = (holder: Holder) => (k: CaseKind) => leafStates(k).filter((s) => holderOf(k, s) === holder);

/** Cases the office holds now (a filter, through the (kind, state) index). */
export const officeHoldsFilter = () => inStatesFilter(heldBy("office"));

/** Cases the office holds or owes a decision on (a unit's extension request): its work, docs/domain.md#holders. */
export const officeOwesFilter = () => inStatesFilter((k) => leafStates(k).filter((s) => partiesOf(k, s).includes("office")));

/** Whether a unit holds the case now (its state's holder in duties.ts, per kind), as an aggregation expression. */
export const UNIT_HOLDS = {
  $or: CASE_KINDS.map((k) => ({ $and: [{ $eq: ["$kind", k] }, { $in: ["$state", heldBy("unit")(k)] }] })),
};

// ---- overdue ------------------------------------------------------------------------------------

/** deadlineBinds: the case's deadline binds in its state (DEADLINE_STATES, per kind). */
export const deadlineBindsFilter = (kind?: CaseKind) => inStatesFilter((k) => DEADLINE_STATES[k], kind);

/**
 * Not officeHoldsTime: no extension request awaits the office with a date asked for not yet passed. The
 * machines keep `pendingExtension` set exactly while a request is pending, so the state need not be named.
 */
export const officeHoldsTimeNotFilter = (today: string) => ({ "context.pendingExtension.deadline": t({ $not: { $gte: today } }) });
const officeHoldsTimeExpr = (today: string) => ({ $gte: [{ $ifNull: ["$context.pendingExtension.deadline", ""] }, today] });

/** overdueNow as filter conditions (to AND with the rest of a list's filter). */
export const overdueNowFilter = (today: string, kind?: CaseKind): Record<string, unknown>[] => [{ deadline: t({ $lt: today }) }, deadlineBindsFilter(kind), officeHoldsTimeNotFilter(today)];

/** overdueInUnitHands as an aggregation expression. */
export const overdueInUnitHandsExpr = (today: string) => ({ $and: [isSet("$deadline"), { $lt: ["$deadline", today] }, UNIT_HOLDS, not(officeHoldsTimeExpr(today))] });

/** The date a case was handed to a unit: an inspection item's 交办, else a complaint's 受理. */
export const assignedOnExpr = { $ifNull: ["$context.assignedOn", "$context.acceptedOn"] };

/** overdueAtCutoff as an aggregation expression: dates the case has kept, so a past month's figure stays as it was. */
export function overdueAtCutoffExpr(cutoff: string) {
  const submittedOn = "$context.submittedOn";
  const closedOn = "$context.closedOn";
  const handedBack = {
    $or: [
      { $and: [isSet(submittedOn), { $lte: [submittedOn, cutoff] }] },
      { $and: [isSet(closedOn), { $lte: [closedOn, cutoff] }] },
      { $and: [not(isSet(submittedOn)), not(UNIT_HOLDS)] },
    ],
  };
  return { $and: [isSet("$deadline"), { $lt: ["$deadline", cutoff] }, isSet(assignedOnExpr), { $lte: [assignedOnExpr, cutoff] }, not(handedBack)] };
}

// ---- closed on time -----------------------------------------------------------------------------

/** onTimeLimit: a complaint's statutory 办结 limit, an inspection item's 整改时限. */
export const onTimeLimitExpr = { $cond: [{ $eq: ["$kind", "complaint"] }, "$context.concludeBy", "$context.deadline"] };

/** closedOnTime: closed no later than its limit (a case without a limit never is). */
export const closedOnTimeExpr = { $and: [isSet("$context.closedOn"), isSet(onTimeLimitExpr), { $lte: ["$context.closedOn", onTimeLimitExpr] }] };

/** isLongTerm: an inspection item without a deadline (长期坚持), outside every 按期 rate. */
export const longTermExpr = { $and: [{ $eq: ["$kind", "inspection"] }, not(isSet("$context.deadline"))] };
