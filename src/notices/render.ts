/**
 * Notice documents from the handlebars templates in views/notices (all text escaped): the 督办通知 as a
 * 公文 with its 回执, every other level as a one-page notice. A notice carries its document as issued
 * (notice.document); one issued before documents were stored is composed from today's text.
 */
import { readFileSync } from "node:fs";
import Handlebars from "handlebars";
import { LEVEL_LABELS, shanghaiDate, type CaseKind, type Level } from "../../workflows/index.ts";
import { loadCalendar } from "../calendar/workdays.ts";
import { NoticeRuleModel, Unit } from "../db/models.ts";
import type { NoticeDocument, NoticeRecord } from "./issuer.ts";
import { loadSettings } from "./settings.ts";
import { loadTexts, chineseDate, compose } from "./texts.ts";

export { chineseDate };

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

export interface RenderOptions {
  /** The 回执 page of a 督办通知 (default: with it). */
  receipt?: boolean;
}

/** The HTML of a notice whose document is at hand. */
export function renderNotice(n: NoticeRecord, doc: NoticeDocument, opts: RenderOptions = {}): string {
  const issuedOn = shanghaiDate(n.issuedAt);
  const contact = [doc.sender.contactName && `联系人：${doc.sender.contactName}`, doc.sender.contactPhone && `联系电话：${doc.sender.contactPhone}`].filter(Boolean).join("，");
  const data = {
    level: n.level,
    levelLabel: LEVEL_LABELS[n.level as Level] ?? n.level,
    number: n.number,
    kindLabel: n.kind === "complaint" ? "信访编号" : "台账编号",
    ledgerNumber: n.ledgerNumber,
    caseTitle: n.caseTitle,
    title: doc.title,
    to: doc.to,
    paragraphs: doc.paragraphs,
    sender: doc.sender,
    contact,
    issuedText: chineseDate(issuedOn),
    replyByText: chineseDate(doc.replyBy),
    receipt: opts.receipt !== false,
    acknowledged: n.ackAt ? new Date(n.ackAt).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false }) : null,
  };
  return template(n.level === "supervision" ? "supervision" : "notice")(data);
}

/** A one-line subject for email and webhook messages. */
export function noticeSubject(n: NoticeRecord): string {
  const label = LEVEL_LABELS[n.level as Level] ?? n.level;
  return `【${label}】${n.number ? `${n.number} ` : ""}${n.ledgerNumber} ${n.caseTitle}`;
}

/** The notice's document: as issued, or (for a notice issued before documents were stored) composed now. */
export async function documentOf(n: NoticeRecord): Promise<NoticeDocument> {
  if (n.document) return n.document;
  const [unit, rule, calendar, texts, settings] = await Promise.all([
    n.unitId ? Unit.findById(n.unitId, { name: 1 }).lean() : null,
    n.ruleId ? NoticeRuleModel.findById(n.ruleId, { clause: 1, triggers: 1 }).lean() : null,
    loadCalendar(),
    loadTexts(),
    loadSettings(),
  ]);
  const level = n.level as Level;
  const composed = compose(
    texts[level],
    {
      doc: { kind: n.kind as CaseKind, state: n.state ?? "", ledgerNumber: n.ledgerNumber, title: n.caseTitle, deadline: n.deadline ?? null, receivedOn: null, progressPercent: 0, context: { deadline: n.deadline ?? null, deadlineRevision: n.revision } },
      level,
      rule: rule ? { triggers: rule.triggers as never, clause: rule.clause ?? undefined } : null,
      addressee: n.inbox === "office" ? "office" : n.unitId ? "unit" : null,
      unitName: unit?.name ?? null,
      requirement: n.requirement ?? "",
    },
    { office: settings.signer, calendar, issuedAt: n.issuedAt },
  );
  const { issuerMark, signer, contactName, contactPhone, cc } = settings;
  return { ...composed, sender: { issuerMark, signer, contactName, contactPhone, cc } };
}

/** The printable document of a stored notice. */
export async function renderNoticeDocument(n: NoticeRecord, opts: RenderOptions = {}): Promise<string> {
  return renderNotice(n, await documentOf(n), opts);
}
