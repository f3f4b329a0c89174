/**
 * A case as a reader sees it: what the case page and GET /api/cases/:id both show beyond the stored
 * fields — the actions this user may take now (from the machine), the traffic light, each deadline
 * revision, the 公示 period's last day, the pending extension and what it means now, the timeline
 * in words and the 批示 threads. Rules are the machines' and deadlines.ts's (the 公示 of docs/domain.md#inspection, the red
 * light of docs/domain.md#overdue-now); this module only asks them.
 */
import {
  LEVEL_LABELS,
  ROLE_LABELS,
  dutyOf,
  eventLabel,
  publicityLastDay,
  PUBLICITY_DAYS,
  requestedDatePassed,
  shanghaiDate,
  stateLabel,
  type Actor,
  type CaseClock,
  type CaseKind,
  type Level,
} from "../../workflows/index.ts";
import { loadCalendar } from "../calendar/workdays.ts";
import type { CaseDoc } from "../db/models.ts";
import { unitNames } from "../directory.ts";
import { listNotices, warnedRevisions } from "../notices/inbox.ts";
import { loadSettings } from "../notices/settings.ts";
import { listAttachments, type AttachmentInfo } from "./attachments.ts";
import { sentBack, type ChainEntry } from "./history.ts";
import { instructionThreads } from "./leader.ts";
import { trafficLight } from "./queries.ts";
import type { CaseService } from "./service.ts";

/** How the history names a date an event carries. */
const DEADLINE_LABELS: Record<string, string> = { REQUEST_EXTENSION: "申请延期至", REOPEN: "新的整改时限" };

export interface DeadlineRevision {
  revision: number;
  deadline: string | null;
  /** The event that set it (ASSIGN, APPROVE_EXTENSION, REOPEN …), and the day (in China). */
  event: string;
  on: string;
  /** Working days from that day to the deadline; null when there is none or the calendar lacks the year. */
  workdays: number | null;
  current: boolean;
}

export interface PendingExtensionView {
  deadline: string;
  reason: string;
  requestedOn: string;
  /** The date asked for is already past: the office can only refuse it (requestedDateNotPast). */
  requestedDatePassed: boolean;
}

export interface PublicityView {
  since: string;
  days: number;
  /** Its last day; null when the holiday calendar does not cover it. */
  ends: string | null;
}

type Context = Record<string, unknown> & { pendingExtension?: { deadline: string; reason: string; requestedOn: string } | null };

/** Each deadline revision: which event set it, and how many working days it gave. */
export function deadlineRevisions(history: ChainEntry[], current: number, cal: { workdaysBetween(a: string, b: string): number }): DeadlineRevision[] {
  const revisions: DeadlineRevision[] = [];
  let last = 0;
  for (const h of history) {
    if (h.deadlineRevision === last) continue;
    last = h.deadlineRevision;
    const deadline = (h.snapshot?.context as { deadline?: string | null })?.deadline ?? null;
    const on = shanghaiDate(h.at);
    let workdays: number | null = null;
    try {
      workdays = deadline ? cal.workdaysBetween(on, deadline) : null;
    } catch {
      workdays = null;
    }
    revisions.push({ revision: h.deadlineRevision, deadline, event: h.type, on, workdays, current: h.deadlineRevision === current });
  }
  return revisions;
}

/** The 公示 period while it runs (an inspection item passed and publicized). */
export function publicityOf(c: CaseDoc, cal: Parameters<typeof publicityLastDay>[1]): PublicityView | null {
  const ctx = (c.context ?? {}) as CaseClock["context"];
  if (c.state !== "publicizing" || typeof ctx.publicitySince !== "string") return null;
  let ends: string | null = null;
  try {
    ends = publicityLastDay({ kind: c.kind as CaseKind, state: c.state, context: ctx }, cal);
  } catch {
    ends = null;
  }
  return { since: ctx.publicitySince, days: ctx.publicityDays ?? PUBLICITY_DAYS, ends };
}

export function pendingExtensionOf(c: CaseDoc, today: string): PendingExtensionView | null {
  const p = ((c.context ?? {}) as Context).pendingExtension;
  return p ? { deadline: p.deadline, reason: p.reason, requestedOn: p.requestedOn, requestedDatePassed: requestedDatePassed(p, today) } : null;
}

/** What an action's form says first, where the case's situation needs saying (the pending extension). */
export function actionNote(type: string, c: CaseDoc, pending: PendingExtensionView | null): string | undefined {
  if (!pending) return undefined;
  if (type === "APPROVE_EXTENSION")
    return `单位申请延期至 ${pending.deadline}（${pending.requestedOn} 申请；理由：${pending.reason}）${pending.requestedDatePassed ? "。该日期已过，不能同意，请选择不同意延期" : ""}`;
  if (type === "WITHDRAW_EXTENSION") return `撤回 ${pending.requestedOn} 提出的延期申请（申请延期至 ${pending.deadline}）；撤回后时限仍为 ${c.deadline ?? "—"}`;
  return undefined;
}

/** A form's value shown rather than applied silently: a blank 公示天数 means the case's own. */
export function actionDefaults(type: string, c: CaseDoc): Record<string, string> {
  if (type === "PASS") return { publicityDays: String(((c.context ?? {}) as CaseClock["context"]).publicityDays ?? PUBLICITY_DAYS) };
  return {};
}

export type TimelineEntry = ReturnType<typeof timelineOf>[number];

/** The history in words: who did what, from which state to which, and what the entry recorded. */
function timelineOf(c: CaseDoc, history: ChainEntry[], names: Map<string, string>, files: Map<string, AttachmentInfo & { step: string | null }>, verificationTerm: string) {
  const kind = c.kind as CaseKind;
  return history.map((h) => {
    const p = (h.payload ?? {}) as Record<string, unknown>;
    const texts = ["reason", "text", "summary", "requirements", "measures", "opinion", "note", "to"].filter((k) => typeof p[k] === "string").map((k) => p[k] as string);
    const facts: string[] = [];
    // The office's 现场核查 (验收) and the 回访 before 办结, as recorded.
    if (h.type === "PASS" && typeof p.checkedBy === "string") facts.push(`${verificationTerm}：${p.checkedBy}，${p.checkedOn}`);
    if (h.type === "CLOSE" && typeof p.visitedOn === "string") facts.push(`回访：${p.visitedOn}，${p.visitMethod}`);
    if (typeof p.violationFound === "boolean") facts.push(`是否发现环境违法行为：${p.violationFound ? "是" : "否"}`);
    if (typeof p.channel === "string" && h.type === "REPLY") facts.push(`答复方式：${p.channel}`);
    if (typeof p.satisfaction === "string") facts.push(`满意度：${p.satisfaction}`);
    if (typeof p.publicityDays === "number") facts.push(`公示天数：${p.publicityDays} 个工作日`);
    // What an approval granted: the payload has no date, the snapshot it led to has.
    const granted = (h.snapshot?.context as { deadline?: string | null } | undefined)?.deadline;
    if (h.type === "APPROVE_EXTENSION" && granted) facts.push(`时限延至 ${granted}`);
    return {
      seq: h.seq,
      at: h.at,
      typeLabel: eventLabel(h.type),
      actor: h.actor.name ?? h.actor.id,
      role: ROLE_LABELS[h.actor.role],
      unit: h.actor.unitId ? names.get(h.actor.unitId) : null,
      from: h.from ? stateLabel(kind, h.from) : null,
      to: stateLabel(kind, h.to),
      texts,
      facts,
      progressPercent: typeof p.percent === "number" && kind === "inspection" ? p.percent : null,
      deadline: typeof p.deadline === "string" ? p.deadline : null,
      // A date the unit asked for is not a deadline until the office approves it.
      deadlineLabel: DEADLINE_LABELS[h.type] ?? "时限",
      files: (Array.isArray(p.attachmentIds) ? (p.attachmentIds as string[]) : []).map((a) => files.get(a)).filter((f) => f !== undefined),
    };
  });
}

/** A notice as a 批示 names it: its level and number. */
export const noticeLabel = (n: { level: string; number?: string | null }) => `${LEVEL_LABELS[n.level as Level] ?? n.level}${n.number ? ` ${n.number}` : ""}`;

/** The case's 批示 with their 落实, each with the notice it was written on (named when this reader sees that notice). */
function instructionsOf(history: ChainEntry[], notices: { _id: string; level: string; number?: string | null }[]) {
  return instructionThreads(history).map((i) => {
    const on = i.noticeId ? notices.find((n) => n._id === i.noticeId) : undefined;
    return { ...i, notice: i.noticeId ? { id: i.noticeId, label: on ? noticeLabel(on) : "通知" } : null };
  });
}

/**
 * What a reader who sent an action from an older version of the case is told: the entries since that
 * version, and what they typed — in its form again where the action is still open, else shown to copy.
 */
export function staleNote(timeline: { seq: number; at: Date; typeLabel: string; actor: string }[], sent: { type?: string; values?: Record<string, unknown>; staleFrom?: number }, open: { type: string }[]) {
  const since = timeline.filter((h) => h.seq > (sent.staleFrom ?? 0));
  const typed = Object.entries(sent.values ?? {})
    .filter(([k, v]) => !["_csrf", "expectedVersion", "existingAttachmentIds"].includes(k) && typeof v === "string" && v.trim())
    .map(([, v]) => String(v));
  return {
    since: since.map((h) => ({ at: h.at, what: `${h.actor}：${h.typeLabel}` })),
    action: sent.type ? eventLabel(sent.type) : "",
    stillOpen: open.some((f) => f.type === sent.type),
    typed,
  };
}

/** A case as `actor` may see it now (access checked by getCase: another unit's case is a 404). */
export async function caseView(service: CaseService, caseId: string, actor: Actor, now: Date) {
  const c = await service.getCase(caseId, actor);
  const id = c._id.toString();
  const [history, notices, attachments, names, calendar, settings, warned] = await Promise.all([
    service.history(id),
    listNotices(actor, { caseId: id }),
    listAttachments(id),
    unitNames(),
    loadCalendar(),
    loadSettings(),
    warnedRevisions([id]),
  ]);
  // Each file named with the step that brought it (two "after.png" from two reports read apart).
  const stepOf = new Map<string, string>();
  for (const h of history) {
    const ids = ((h.payload ?? {}) as { attachmentIds?: unknown }).attachmentIds;
    if (Array.isArray(ids)) for (const a of ids) if (typeof a === "string" && !stepOf.has(a)) stepOf.set(a, `${eventLabel(h.type)} ${shanghaiDate(h.at)}`);
  }
  const files = new Map(attachments.map((a) => [a.id, { ...a, step: stepOf.get(a.id) ?? null }]));
  const pendingExtension = pendingExtensionOf(c, shanghaiDate(now));
  return {
    case: c,
    history,
    notices,
    /** Each with the step that brought it. */
    attachments: [...files.values()],
    names,
    verificationTerm: settings.verificationTerm,
    allowedEvents: service.allowedEvents(c, actor),
    blockedEvents: service.blockedEvents(c, actor),
    light: trafficLight(c, now, warned),
    revisions: deadlineRevisions(history, c.deadlineRevision, calendar),
    publicity: publicityOf(c, calendar),
    pendingExtension,
    holderStep: dutyOf(c.kind as CaseKind, c.state),
    sentBack: sentBack(history),
    timeline: timelineOf(c, history, names, files, settings.verificationTerm),
    instructions: instructionsOf(history, notices),
  };
}

export type CaseView = Awaited<ReturnType<typeof caseView>>;
