/**
 * Composing: a text filled for one notice. A text is plain sentences with placeholders in braces
 * ({编号}, {期限}, …) filled from the case at issue; a paragraph whose placeholders are all empty is left
 * out. The composed text is stored on the notice when it is issued, so a document reads the same
 * however the texts change later.
 */
import { anchorDate, daysBetween, dutyOf, missed, shanghaiDate, type CaseClock, type CaseKind, type Level, type NoticeRule } from "../../../workflows/index.ts";
import type { WorkCalendar } from "../../calendar/workdays.ts";
import type { CaseDoc } from "../../db/models.ts";
import { KNOWN, type NoticeText } from "./defaults.ts";

/** 2026-07-08 → 2026年7月8日 */
export function chineseDate(date: string): string {
  const [y, m, d] = date.split("-").map(Number);
  return `${y}年${m}月${d}日`;
}

/**
 * A span of days as a person says it: "1天" when no working day lies in it (a Saturday deadline passed
 * yesterday) or every day was one, "9天（7个工作日）" otherwise (documents; pages put spaces between); working days unknown (a year the
 * calendar lacks): the days alone.
 */
export function daysPhrase(days: number, workdays: number | null, space = ""): string {
  if (workdays === null || workdays === 0 || workdays === days) return `${days}${space}天`;
  return `${days}${space}天（${workdays}${space}个工作日）`;
}

/** A count the calendar may not know (a year it lacks): "—" rather than a guess. */
function counted(f: () => number): string {
  try {
    return String(f());
  } catch {
    return "—";
  }
}

function countedOrNull(f: () => number): number | null {
  try {
    return f();
  } catch {
    return null;
  }
}

/** What a notice is about, as the texts name it. */
export interface NoticeSubject {
  doc: Pick<CaseDoc, "kind" | "state" | "ledgerNumber" | "title" | "deadline" | "receivedOn" | "progressPercent"> & { context: unknown };
  level: Level;
  rule: Pick<NoticeRule, "triggers" | "clause"> | null;
  /** Whose inbox it goes to: a unit's, the office's, or none (the leader reads it). */
  addressee: "unit" | "office" | null;
  unitName: string | null;
  requirement: string;
  /** The yellow warning came from progress behind schedule rather than the approaching deadline. */
  behindSchedule?: boolean;
  /** The office's reason, for a notice that tells of its 退回. */
  reason?: string;
  /** The leader's words, for a notice that tells of a 批示. */
  instruction?: string;
}

export interface ComposeContext {
  office: string;
  calendar: WorkCalendar;
  issuedAt: Date;
}

export interface Composed {
  title: string;
  paragraphs: string[];
  /** The limit the notice is about (YYYY-MM-DD), if any. */
  limit: string | null;
  /** The date by which the addressee is asked to 签收 or answer. */
  replyBy: string;
  /** 主送: whom it is addressed to (a unit's name, 整改办, 分管领导). */
  to: string;
}

/** The limit a notice is about and its name: the date its rule counts from (the case's deadline for a sign reminder). */
function limitOf(s: NoticeSubject): { limit: string | null; name: string } {
  const ctx = s.doc.context as CaseClock["context"];
  const clock: CaseClock = { kind: s.doc.kind, state: s.doc.state, context: ctx };
  const trigger = s.rule?.triggers.find((t) => "anchor" in t);
  const anchor = trigger && "anchor" in trigger ? trigger.anchor : "deadline";
  const deadlineName = s.doc.kind === "inspection" ? "整改时限" : (ctx.reviewCount ?? 0) > 0 ? "复查答复期限" : "办理时限";
  if (anchor === "acceptBy") return { limit: ctx.acceptBy ?? null, name: "受理期限" };
  if (anchor === "concludeBy") return { limit: anchorDate(clock, "concludeBy"), name: (ctx.reviewCount ?? 0) > 0 ? "复查答复期限" : ctx.concludeBy ? "法定办结期限" : "受理期限" };
  return { limit: s.doc.deadline ?? null, name: deadlineName };
}

/** The values of every placeholder for this notice. */
export function placeholderValues(s: NoticeSubject, text: Pick<NoticeText, "replyDays">, c: ComposeContext): Record<string, string> & { _limit: string; _replyBy: string } {
  const cal = c.calendar;
  const today = shanghaiDate(c.issuedAt);
  const ctx = s.doc.context as CaseClock["context"] & { receivedOn?: string | null; pendingExtension?: { deadline: string; requestedOn: string } | null };
  const { limit, name } = limitOf(s);
  const inspection = s.doc.kind === "inspection";
  const replyBy = (() => {
    try {
      return cal.addWorkdays(today, text.replyDays);
    } catch {
      return cal.addCalendarDays(today, Math.ceil((text.replyDays * 7) / 5));
    }
  })();
  const step = dutyOf(s.doc.kind as CaseKind, s.doc.state)?.step.replace(/（.*）$/, "") ?? "";
  const values: Record<string, string> = {
    收文单位: s.addressee === "office" ? "整改办" : s.addressee === "unit" ? (s.unitName ?? "") : "分管领导",
    责任单位: s.unitName ?? "",
    职责: inspection ? "牵头负责" : "承办",
    事项类别: inspection ? "督察反馈问题整改任务" : "环境信访事项",
    事项: s.doc.title,
    编号类别: inspection ? "台账编号" : "信访编号",
    编号: s.doc.ledgerNumber,
    环节: step === "签收" ? "签收和整改" : step,
    时限名称: name,
    期限: limit ? chineseDate(limit) : "（长期坚持，未设时限）",
    剩余工作日: limit && limit > today ? counted(() => cal.workdaysBetween(today, limit)) : "0",
    剩余天数: limit && limit > today ? String(daysBetween(today, limit)) : "0",
    // Days after the limit up to and including the day of issue, as 超期天数 counts them.
    超期工作日: missed(limit, today) ? counted(() => cal.workdaysBetween(limit, today)) : "0",
    超期天数: missed(limit, today) ? String(daysBetween(limit, today)) : "0",
    剩余时长: limit && limit > today ? daysPhrase(daysBetween(today, limit), countedOrNull(() => cal.workdaysBetween(today, limit))) : "0天",
    超期时长: missed(limit, today) ? daysPhrase(daysBetween(limit, today), countedOrNull(() => cal.workdaysBetween(limit, today))) : "0天",
    交办日期: ctx.assignedOn ? chineseDate(ctx.assignedOn) : "",
    收到日期: (ctx.receivedOn ?? s.doc.receivedOn) ? chineseDate((ctx.receivedOn ?? s.doc.receivedOn)!) : "",
    进度: String(s.doc.progressPercent ?? 0),
    预警原因: s.behindSchedule ? `已报送的进度（${s.doc.progressPercent ?? 0}%）明显滞后于序时进度` : "临近期限尚未完成",
    签收提示: s.doc.state === "assigned" ? "该事项尚未签收，请先在系统中签收。" : "",
    答复工作日: String(text.replyDays),
    答复期限: chineseDate(replyBy),
    督办要求: s.requirement,
    申请延期至: ctx.pendingExtension?.deadline ? chineseDate(ctx.pendingExtension.deadline) : "",
    申请日期: ctx.pendingExtension?.requestedOn ? chineseDate(ctx.pendingExtension.requestedOn) : "",
    退回理由: s.reason ?? "",
    批示内容: s.instruction ?? "",
    依据: s.rule?.clause ? `依据：${s.rule.clause}。`.replace(/。。$/, "。") : "",
    发文机关: c.office,
    发文日期: chineseDate(today),
  };
  values.时限情况 = !limit ? "" : missed(limit, today) ? `已超期${values.超期时长}` : limit === today ? "今日到期" : `距期限还有${values.剩余时长}`;
  return Object.assign(values, { _limit: limit ?? "", _replyBy: replyBy });
}

const fill = (template: string, values: Record<string, string>) => template.replace(/\{([^{}\n]+)\}/g, (m, name: string) => (KNOWN.has(name) ? (values[name] ?? "") : m));

/** A text filled for one notice: paragraphs by line, those left empty by their placeholders dropped. */
export function compose(text: Pick<NoticeText, "title" | "body" | "replyDays">, s: NoticeSubject, c: ComposeContext): Composed {
  const values = placeholderValues(s, text, c);
  const paragraphs = text.body
    .split(/\r?\n/)
    .map((line) => fill(line, values).trim())
    .filter((line) => line.length > 0);
  return { title: fill(text.title, values).trim(), paragraphs, limit: values._limit || null, replyBy: values._replyBy, to: values.收文单位 ?? "" };
}
