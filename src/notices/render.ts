/** Notice documents from the handlebars templates in views/notices (all user text escaped). */
import { readFileSync } from "node:fs";
import Handlebars from "handlebars";
import { LEVEL_LABELS, shanghaiDate, type Level } from "../../workflows/index.ts";
import { type WorkCalendar, loadCalendar } from "../calendar/workdays.ts";
import { NoticeRuleModel, Unit } from "../db/models.ts";
import type { NoticeRecord } from "./issuer.ts";

const hbs = Handlebars.create();
const templates = new Map<string, HandlebarsTemplateDelegate>();
function template(name: string) {
  let t = templates.get(name);
  if (!t) {
    t = hbs.compile(readFileSync(new URL(`../../views/notices/${name}.hbs`, import.meta.url), "utf8"), { strict: false });
    templates.set(name, t);
  }
  return t;
}

/** 2026-07-08 → 2026年7月8日 */
export function chineseDate(date: string): string {
  const [y, m, d] = date.split("-").map(Number);
  return `${y}年${m}月${d}日`;
}

export interface RenderContext {
  office: string;
  unitName: string;
  calendar: WorkCalendar;
  clause?: string;
}

/** Full working days that passed between the deadline and the day of issue, when the calendar knows them. */
function overdueWorkdays(cal: WorkCalendar, deadline: string | null, issuedOn: string): number | null {
  if (!deadline || issuedOn <= deadline) return null;
  try {
    return cal.workdaysBetween(deadline, cal.addCalendarDays(issuedOn, -1)) || null;
  } catch {
    return null;
  }
}

/** Five working days to reply; seven calendar days where the calendar does not reach. */
function replyBy(cal: WorkCalendar, issuedOn: string): string {
  try {
    return cal.addWorkdays(issuedOn, 5);
  } catch {
    return cal.addCalendarDays(issuedOn, 7);
  }
}

export function renderNotice(n: NoticeRecord, ctx: RenderContext): string {
  const issuedOn = shanghaiDate(n.issuedAt);
  const data = {
    office: ctx.office,
    unitName: ctx.unitName,
    number: n.number,
    level: n.level,
    levelLabel: LEVEL_LABELS[n.level as Level] ?? n.level,
    ledgerNumber: n.ledgerNumber,
    caseTitle: n.caseTitle,
    deadlineText: n.deadline ? chineseDate(n.deadline) : "（长期坚持）",
    overdueDays: overdueWorkdays(ctx.calendar, n.deadline ?? null, issuedOn),
    requirement: n.requirement,
    clause: ctx.clause,
    replyByText: chineseDate(replyBy(ctx.calendar, issuedOn)),
    issuedText: chineseDate(issuedOn),
  };
  return template(n.level === "supervision" ? "supervision" : "notice")(data);
}

/** A one-line subject for email and webhook messages. */
export function noticeSubject(n: NoticeRecord): string {
  const label = LEVEL_LABELS[n.level as Level] ?? n.level;
  return `【${label}】${n.number ? `${n.number} ` : ""}${n.ledgerNumber} ${n.caseTitle}`;
}

/** The document of a stored notice, with its unit's name, its rule's legal clause and today's calendar. */
export async function renderNoticeDocument(n: NoticeRecord, office: string): Promise<string> {
  const [unit, rule, calendar] = await Promise.all([
    n.unitId ? Unit.findById(n.unitId, { name: 1 }).lean() : null,
    n.ruleId ? NoticeRuleModel.findById(n.ruleId, { clause: 1 }).lean() : null,
    loadCalendar(),
  ]);
  return renderNotice(n, { office, unitName: unit?.name ?? "整改办", calendar, clause: rule?.clause ?? undefined });
}
