/**
 * The office's own queue (首页): cases the office holds whose office rung has fallen due (办结临期 or
 * 办结超期), and cases whose unit's request awaits the office's decision once its reminder fell due (延期待批提醒),
 * grouped by the office's step (受理, 交办, 审核, 答复, 销号审核, 公示, 延期审批). Computed live from the same
 * rules and policy as the sweep's reminders, so the list and the office's inbox agree.
 */
import { LEVEL_LABELS, anchorDate, dutyOf, ladderFor, missed, shanghaiDate, topRung, type CaseClock, type CaseKind } from "../../workflows/index.ts";
import { loadCalendar } from "../calendar/workdays.ts";
import { officeOwesFilter } from "../cases/figures.ts";
import { Case, type CaseDoc } from "../db/models.ts";
import { cachedRules } from "./rules.ts";

export interface OfficeItem {
  caseId: string;
  ledgerNumber: string;
  title: string;
  kind: CaseKind;
  /** Where the case stands: which work list it is in (worklists.ts, groupOf). */
  state: string;
  stateEvent: string | null;
  stateSince: Date | null;
  leadUnitId: string | null;
  level: string;
  levelLabel: string;
  overdue: boolean;
  /** The limit the office's step must meet. */
  limit: string | null;
  dueAt: Date;
}
export interface OfficeStep {
  step: string;
  items: OfficeItem[];
}

/** The cases the office holds or owes a decision on (not yet run): each state matched with its kind, read through the (kind, state) index. */
export const officeHeldQuery = () =>
  Case.find(officeOwesFilter(), { kind: 1, state: 1, stateEvent: 1, stateSince: 1, leadUnitId: 1, ledgerNumber: 1, title: 1, context: 1, deadline: 1, deadlineRevision: 1 });

export async function officeQueue(now: Date): Promise<OfficeStep[]> {
  const [rules, calendar, docs] = await Promise.all([cachedRules(), loadCalendar(), officeHeldQuery().lean<CaseDoc[]>()]);
  const office = rules.filter((r) => r.holders.includes("office"));
  const steps = new Map<string, OfficeItem[]>();
  for (const doc of docs) {
    const clock: CaseClock = { kind: doc.kind, state: doc.state, context: doc.context as CaseClock["context"] };
    const due = ladderFor(clock, office, calendar).timed.filter((t) => t.at <= now);
    if (!due.length) continue;
    const top = topRung(due, (t) => ({ level: t.rule.level, at: t.at }))!;
    const anchor = top.rule.triggers.find((t) => "anchor" in t);
    // A decision the office owes is due by its reminder's day (the request's day is no limit of its own).
    const limit = anchor && "anchor" in anchor ? (anchor.anchor === "extensionRequestedOn" ? shanghaiDate(new Date(top.at.getTime() - 1)) : anchorDate(clock, anchor.anchor)) : null;
    const duty = dutyOf(doc.kind, doc.state)!;
    const step = duty.decision?.by === "office" ? duty.decision.step : duty.step;
    const items = steps.get(step) ?? [];
    steps.set(step, items);
    items.push({
      caseId: doc._id.toString(),
      ledgerNumber: doc.ledgerNumber,
      title: doc.title,
      kind: doc.kind,
      state: doc.state,
      stateEvent: doc.stateEvent ?? null,
      stateSince: doc.stateSince ?? null,
      leadUnitId: doc.leadUnitId ?? null,
      level: top.rule.level,
      levelLabel: LEVEL_LABELS[top.rule.level],
      // Past the limit of the office's own step (its time, never a unit's).
      overdue: missed(limit, shanghaiDate(now)),
      limit,
      dueAt: top.at,
    });
  }
  for (const items of steps.values()) items.sort((a, b) => Number(b.overdue) - Number(a.overdue) || (a.limit ?? "").localeCompare(b.limit ?? ""));
  return [...steps].map(([step, items]) => ({ step, items }));
}
