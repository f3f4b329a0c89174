/**
 * Who owes what by when, in one place: the party that must act in each state of both machines (the
 * holder), the statutory limits with the clauses they come from, and the default escalation ladder
 * that follows from the two. A rung reminds whoever holds the case when it falls due: a unit is
 * warned and scored only for time it held the case; time the office holds it produces reminders
 * to the office (and to the leader once late), never a unit's points. While a unit's request awaits
 * the office's decision (延期待批), the unit keeps working but its rungs are held: the time is the
 * office's. Pure data; deadlines.ts times it, the notices code issues it.
 */
import type { Anchor, DayUnit, Level, NoticeRule, Trigger } from "./deadlines.ts";

type Kind = "inspection" | "complaint";

/** unit: the lead unit answers for the step (co-units report progress where `coUnitsReport`); office: 整改办. */
export type Holder = "unit" | "office";
export const HOLDERS: readonly Holder[] = ["unit", "office"];
export const HOLDER_LABELS: Record<Holder, string> = { unit: "责任单位", office: "整改办" };

export interface Duty {
  /** Who must act; null once nothing is owed (closed). */
  holder: Holder | null;
  /** The step in the office's words (签收, 整改, 受理, 销号审核, …). */
  step: string;
  /** Co-units take part in this step (they report progress); the lead unit still answers for it. */
  coUnitsReport?: boolean;
  /**
   * The holder's request awaits another party's decision (延期待批): the holder's rungs are held (not issued,
   * not scored) and the decider's rungs apply, until the decision.
   */
  decision?: { by: Holder; step: string };
}

/**
 * Each state's holder. A sub-state not listed takes its parent's entry; the machines test checks
 * that every state of both machines resolves.
 */
export const DUTIES: Record<Kind, Record<string, Duty>> = {
  inspection: {
    registered: { holder: "office", step: "交办" },
    assigned: { holder: "unit", step: "签收" },
    rectifying: { holder: "unit", step: "整改", coUnitsReport: true },
    // The unit asked for more time and keeps working while the office decides; the unit's rungs wait for the decision.
    "rectifying.extensionPending": { holder: "unit", step: "整改（延期待批）", coUnitsReport: true, decision: { by: "office", step: "延期审批" } },
    verifying: { holder: "office", step: "销号审核" },
    publicizing: { holder: "office", step: "公示" },
    closed: { holder: null, step: "已销号" },
  },
  complaint: {
    received: { holder: "office", step: "受理" },
    accepted: { holder: "office", step: "交办" },
    investigating: { holder: "unit", step: "查处", coUnitsReport: true },
    "investigating.extensionPending": { holder: "unit", step: "查处（延期待批）", coUnitsReport: true, decision: { by: "office", step: "延期审批" } },
    reviewing: { holder: "office", step: "审核" },
    replying: { holder: "office", step: "答复" },
    replied: { holder: "office", step: "回访" },
    closed: { holder: null, step: "已办结" },
  },
};

/**
 * The events a unit is told of through its inbox, and the notice's level: the office's 退回 sends the case back
 * to the unit with a reason; a leader's 批示 reaches the unit with its text. Messages, not rungs: they cost
 * the unit nothing.
 */
export const TOLD_TO_UNIT: Record<Kind, Partial<Record<string, Level>>> = {
  inspection: { REJECT: "returned", INSTRUCT: "instruction" },
  complaint: { REJECT: "returned", INSTRUCT: "instruction" },
};

export const toldToUnit = (kind: Kind, eventType: string): Level | null =>
  Object.hasOwn(TOLD_TO_UNIT[kind], eventType) ? (TOLD_TO_UNIT[kind][eventType] ?? null) : null;

/** The duty of a state key ("rectifying.working" → rectifying's); null for a state the table lacks. */
export function dutyOf(kind: Kind, state: string): Duty | null {
  const table = DUTIES[kind];
  for (let key = state; key; key = key.includes(".") ? key.slice(0, key.lastIndexOf(".")) : "") if (Object.hasOwn(table, key)) return table[key]!;
  return null;
}

export const holderOf = (kind: Kind, state: string): Holder | null => dutyOf(kind, state)?.holder ?? null;

/** Who owes a decision on the holder's request in this state (the office, while an extension awaits it), or null. */
export const deciderOf = (kind: Kind, state: string): Holder | null => dutyOf(kind, state)?.decision?.by ?? null;

/** The parties a rung may remind in this state: the holder, and whoever owes a decision on its request. */
export const partiesOf = (kind: Kind, state: string): Holder[] => [holderOf(kind, state), deciderOf(kind, state)].filter((h): h is Holder => h !== null);

/**
 * Statutory limits of a complaint (《信访工作条例》2022); provinces and 生态环境信访工作办法 may set
 * stricter ones, so the machine takes them as input and keeps the ones a case was registered under.
 */
export const STATUTORY_LIMITS = {
  acceptDays: { value: 15, clause: "《信访工作条例》第二十二条：收到信访事项之日起15日内告知信访人是否受理" },
  concludeDays: { value: 60, clause: "《信访工作条例》第三十四条：信访事项应当自受理之日起60日内办结" },
  maxExtensions: { value: 1, clause: "《信访工作条例》第三十四条：情况复杂的，经批准可以适当延长办理期限" },
  maxExtensionDays: { value: 30, clause: "《信访工作条例》第三十四条：延长期限不得超过30日，并告知信访人延期理由" },
  reviewWindowDays: { value: 30, clause: "《信访工作条例》第三十五条：信访人对处理意见不服的，可以自收到书面答复之日起30日内请求复查" },
  reviewAnswerDays: { value: 30, clause: "《信访工作条例》第三十五条：复查机关应当自收到复查请求之日起30日内提出复查意见" },
} as const;

const before = (anchor: Anchor, days: number, unit: DayUnit = "workday"): Trigger => ({ anchor, direction: "before", days, unit });
const after = (anchor: Anchor, days: number, unit: DayUnit = "workday"): Trigger => ({ anchor, direction: "after", days, unit });
const UNIT_INSPECTION = ["assigned", "rectifying"];
const EXTENSION_DECISION = STATUTORY_LIMITS.maxExtensions.clause;
const OFFICE_INSPECTION = ["verifying", "publicizing"];
const OFFICE_COMPLAINT = ["accepted", "reviewing", "replying"];
const ACCEPT = STATUTORY_LIMITS.acceptDays.clause;
const CONCLUDE = STATUTORY_LIMITS.concludeDays.clause;

/**
 * The ladder of docs/domain.md#ladder, as seeded (then edited by the office admin). Each rule names the holders it
 * applies to: the unit's rungs fire while a unit holds the case; the office's while the office holds it.
 * A complaint's 60-day limit spans both: the unit is told about its 办理时限, the office about the
 * statutory limit while it reviews and replies.
 */
export const DEFAULT_RULES: NoticeRule[] = [
  { id: "inspection.sign_reminder", kind: "inspection", level: "sign_reminder", holders: ["unit"], states: ["assigned"], triggers: [after("assignedOn", 2)], recipients: ["unit"], points: 0, enabled: true },
  { id: "inspection.due_reminder", kind: "inspection", level: "due_reminder", holders: ["unit"], states: UNIT_INSPECTION, triggers: [before("deadline", 5)], recipients: ["unit"], points: 0, enabled: true },
  { id: "inspection.yellow", kind: "inspection", level: "yellow", holders: ["unit"], states: UNIT_INSPECTION, triggers: [before("deadline", 2), { behindSchedule: true, marginPoints: 20 }], recipients: ["unit", "office"], points: -0.5, enabled: true },
  { id: "inspection.red", kind: "inspection", level: "red", holders: ["unit"], states: UNIT_INSPECTION, triggers: [after("deadline", 0, "calendar")], recipients: ["unit", "office"], points: -1, enabled: true },
  { id: "inspection.supervision", kind: "inspection", level: "supervision", holders: ["unit"], states: UNIT_INSPECTION, triggers: [after("deadline", 5)], recipients: ["unit_head", "office", "leader"], points: -2, enabled: true },
  { id: "inspection.escalation", kind: "inspection", level: "escalation", holders: ["unit"], states: UNIT_INSPECTION, triggers: [after("deadline", 15)], recipients: ["leader"], points: 0, enabled: true },
  { id: "inspection.office_due", kind: "inspection", level: "office_due", holders: ["office"], states: OFFICE_INSPECTION, triggers: [before("deadline", 2)], recipients: ["office"], points: 0, enabled: true },
  { id: "inspection.office_overdue", kind: "inspection", level: "office_overdue", holders: ["office"], states: OFFICE_INSPECTION, triggers: [after("deadline", 0, "calendar")], recipients: ["office", "leader"], points: 0, enabled: true },
  { id: "inspection.extension_decision", kind: "inspection", level: "office_extension", holders: ["office"], states: ["rectifying.extensionPending"], triggers: [after("extensionRequestedOn", 2)], recipients: ["office"], points: 0, enabled: true },
  { id: "complaint.accept_warning", kind: "complaint", level: "accept_warning", holders: ["office"], states: ["received"], triggers: [before("acceptBy", 3, "calendar")], recipients: ["office"], points: 0, clause: ACCEPT, enabled: true },
  { id: "complaint.accept_overdue", kind: "complaint", level: "accept_overdue", holders: ["office"], states: ["received"], triggers: [after("acceptBy", 0, "calendar")], recipients: ["office", "leader"], points: 0, clause: ACCEPT, enabled: true },
  { id: "complaint.conclude_warning", kind: "complaint", level: "conclude_warning", holders: ["unit"], states: ["investigating"], triggers: [before("deadline", 3, "calendar")], recipients: ["unit", "office"], points: -0.5, clause: CONCLUDE, enabled: true },
  { id: "complaint.conclude_overdue", kind: "complaint", level: "conclude_overdue", holders: ["unit"], states: ["investigating"], triggers: [after("deadline", 0, "calendar")], recipients: ["unit", "office"], points: -1, clause: `${CONCLUDE}；${STATUTORY_LIMITS.maxExtensionDays.clause}`, enabled: true },
  { id: "complaint.office_due", kind: "complaint", level: "office_due", holders: ["office"], states: OFFICE_COMPLAINT, triggers: [before("concludeBy", 3, "calendar")], recipients: ["office"], points: 0, clause: CONCLUDE, enabled: true },
  { id: "complaint.extension_decision", kind: "complaint", level: "office_extension", holders: ["office"], states: ["investigating.extensionPending"], triggers: [after("extensionRequestedOn", 2)], recipients: ["office"], points: 0, clause: EXTENSION_DECISION, enabled: true },
  { id: "complaint.office_overdue", kind: "complaint", level: "office_overdue", holders: ["office"], states: OFFICE_COMPLAINT, triggers: [after("concludeBy", 0, "calendar")], recipients: ["office", "leader"], points: 0, clause: CONCLUDE, enabled: true },
];
