/**
 * Notice documents from the handlebars templates in views/notices (all text escaped): the 督办通知 as a
 * 公文 with its 回执, every other level as a one-page notice. A notice carries its document as issued
 * (notice.document); one issued before documents were stored is composed from today's text.
 */
import { readFileSync } from "node:fs";
import Handlebars from "handlebars";
import { LEVEL_LABELS, shanghaiDate, type CaseKind, type Level } from "../../workflows/index.ts";
import { loadCalendar } from "../calendar/workdays.ts";
import mongoose from "mongoose";
import { NoticeRuleModel, Unit, User } from "../db/models.ts";
import type { NoticeDocument, NoticeRecord } from "./issuer.ts";
import { loadSettings } from "./settings.ts";
import { loadTexts, chineseDate, compose } from "./texts.ts";

export { chineseDate };

const hbs = Handlebars.create();
// The screen-only 打印/返回 bar of a document opened in the browser (never in a mailed copy).
hbs.registerPartial("toolbar", readFileSync(new URL("../../views/notices/toolbar.hbs", import.meta.url), "utf8"));
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
  /** Who signed for it in the app (the 回执 shows it received). */
  acknowledgedBy?: string | null;
  /** Opened in the browser: the page 返回 leads to (adds the 打印/返回 bar, hidden in print). */
  back?: string;
}

/** Width in full-width characters: CJK and full-width punctuation 1, Latin letters and digits ½. */
const widthOf = (s: string) => [...s].reduce((w, ch) => w + ((ch.codePointAt(0) ?? 0) >= 0x2e80 ? 1 : 0.5), 0);

/** 3号 (16 pt) 仿宋, or a size smaller when the text would not fit on one page (see supervision.hbs). Lines in mm. */
const FITS = [
  { cls: "", perLine: 28, line: 10.2, title: 10.9, titlePerLine: 20 },
  { cls: "fit-1", perLine: 29, line: 8.82, title: 9.88, titlePerLine: 21 },
  { cls: "fit-2", perLine: 31, line: 7.94, title: 9.17, titlePerLine: 22 },
  { cls: "fit-3", perLine: 34, line: 7.23, title: 8.47, titlePerLine: 24 },
];

/**
 * The body size that keeps a 督办通知 on its one page: the first whose lines fit between the title and
 * the 抄送 (positions in mm as laid out in supervision.hbs, rounded up). Past the smallest, the text
 * runs on to a second page rather than shrink further.
 */
export function fitOf(doc: Pick<NoticeDocument, "title" | "paragraphs" | "to" | "sender">): string {
  const annotation = doc.sender.contactName || doc.sender.contactPhone ? 1 : 0;
  const bottom = 297 - 35 - (doc.sender.cc ? Math.ceil(widthOf(`抄送：${doc.sender.cc}。`) / 24) * 7.8 + 2 : 0) - 3;
  for (const f of FITS) {
    const titleLines = Math.ceil(widthOf(doc.title) / f.titlePerLine);
    const top = 30 + 9.3 + 4 + 0.8 + 4.9 + f.line + 2 * f.line + titleLines * f.title + f.line;
    const lines = 1 + doc.paragraphs.reduce((n, p) => n + Math.ceil((widthOf(p) + 2) / f.perLine), 0) + 3 + annotation;
    if (top + lines * f.line <= bottom) return f.cls;
  }
  return FITS.at(-1)!.cls;
}

/** The 发文机关标志 in red on one line of the 版心 (156 mm ≈ 442 pt): at most 26 pt. */
const markSize = (mark: string) => Math.min(26, Math.floor((442 / Math.max(1, widthOf(mark))) * 10) / 10);

const TITLE_TAIL = /的?[\u4e00-\u9fa5]{0,4}(通知|通报|建议)$/u;

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
    // A 公文 title breaks between words: its closing "的督办通知" stays on one line.
    titleHead: doc.title.replace(TITLE_TAIL, ""),
    titleTail: TITLE_TAIL.exec(doc.title)?.[0] ?? "",
    to: doc.to,
    paragraphs: doc.paragraphs,
    sender: doc.sender,
    contact,
    issuedText: chineseDate(issuedOn),
    replyByText: chineseDate(doc.replyBy),
    receipt: opts.receipt !== false,
    acknowledged: n.ackAt ? { at: new Date(n.ackAt).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false }), by: opts.acknowledgedBy ?? null } : null,
    fit: n.level === "supervision" ? fitOf(doc) : "",
    markSize: markSize(doc.sender.issuerMark),
    back: opts.back ?? null,
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
  const signer = n.ackBy && mongoose.isObjectIdOrHexString(n.ackBy) ? await User.findById(n.ackBy, { displayName: 1 }).lean() : null;
  return renderNotice(n, await documentOf(n), { acknowledgedBy: signer?.displayName ?? null, ...opts });
}
