/**
 * The morning digest (docs/channels.md, 八、晨间汇总): each working morning at DIGEST_TIME every unit,
 * the office and each leader get one message of what awaits them, with counts and the first few items
 * linked. A digest is one record per recipient and day (`digests`, keyed by both): however many workers
 * and passes run, it is written once, and only the pass that wrote it queues its channels (the delivery
 * jobs notices use: retries, failure state, the robots' shared limits). It is drawn from the ledger as the
 * recipient may see it (a unit: only its own cases), and stored as listed.
 *
 * Catch-up: each sweep pass asks for today's digests. After workers were down past DIGEST_TIME, the
 * first pass back sends today's (late, once, as the ledger then stands). A working day that passed
 * entirely while they were down gets none: the next one lists the same cases as they then stand.
 */
import mongoose from "mongoose";
import { LEVEL_LABELS, shanghaiDate, type Actor, type Level } from "../../workflows/index.ts";
import type { Clock } from "../clock.ts";
import type { Config } from "../config.ts";
import { CalendarNotCovered, loadCalendar, type WorkCalendar } from "../calendar/workdays.ts";
import { deadlineBindsFilter } from "../cases/figures.ts";
import { caseFilter } from "../cases/queries.ts";
import { daysWaiting, workLists } from "../cases/worklists.ts";
import { Case, Digest, Notice, NoticeDelivery, Unit, type CaseDoc } from "../db/models.ts";
import { log } from "../log.ts";
import { pageOf, type PastEnd } from "../paging.ts";
import { ROBOTS } from "./channels.ts";
import { type DigestRecipient, digestRecipients } from "./digest-recipients.ts";
import type { PendingDelivery } from "./delivery.ts";
import { noticeFilter } from "./inbox.ts";
import { insertNew } from "./issuer.ts";
import { configured } from "./targets.ts";
import { chineseDate } from "./texts.ts";

export interface DigestSettings {
  /** HH:MM in Asia/Shanghai, or null: no digest. */
  time: string | null;
  /** "Due soon": the deadline within this many working days. */
  dueWorkdays: number;
  /** Items listed per section. */
  items: number;
}

export const digestSettings = (c: Pick<Config, "DIGEST_TIME" | "DIGEST_DUE_WORKDAYS" | "DIGEST_ITEMS">): DigestSettings => ({
  time: c.DIGEST_TIME === "off" ? null : c.DIGEST_TIME,
  dueWorkdays: c.DIGEST_DUE_WORKDAYS,
  items: c.DIGEST_ITEMS,
});

export interface DigestItem {
  caseId?: string;
  noticeId?: string;
  ledgerNumber: string;
  title: string;
  note: string;
}

export interface DigestSection {
  key: string;
  label: string;
  total: number;
  items: DigestItem[];
}

export interface DigestRecord {
  _id: string;
  day: string;
  recipient: { key: string; kind: string; name: string; unitId: string | null };
  sections: DigestSection[];
  empty: boolean;
  note: string | null;
  issuedAt: Date;
}

/** Said on a digest that something awaited but the recipient has no channel to send it to. */
export const NO_CHANNEL = "未配置接收渠道";
/** The channels a digest goes to: the group robots and email (SMS needs a template of its own; the inbox and webhook get every notice). */
export const DIGEST_CHANNELS = [...ROBOTS, "email"] as const;

export const digestId = (day: string, key: string) => `digest-${day}-${key}`;
export const isDigestId = (id: string) => id.startsWith("digest-");

const DAY = 86_400_000;
const daysAfter = (from: string, to: string) => Math.round((Date.parse(to) - Date.parse(from)) / DAY);

interface Drawn {
  now: Date;
  today: string;
  calendar: WorkCalendar;
  settings: DigestSettings;
  /** Unit names, for lists that span units (the office's, a leader's). */
  unitNames: Map<string, string> | null;
}

const CASE_FIELDS = { ledgerNumber: 1, title: 1, deadline: 1, stateSince: 1, progressPercent: 1, leadUnitId: 1 };

async function caseSection(key: string, label: string, filter: Record<string, unknown>, sort: Record<string, 1 | -1>, d: Drawn, note: (c: CaseDoc) => string): Promise<DigestSection> {
  const [total, docs] = await Promise.all([Case.countDocuments(filter), Case.find(filter, CASE_FIELDS).sort(sort).limit(d.settings.items).lean<CaseDoc[]>()]);
  const unit = (c: CaseDoc) => (d.unitNames && c.leadUnitId ? `${d.unitNames.get(c.leadUnitId) ?? ""}，` : "");
  return { key, label, total, items: docs.map((c) => ({ caseId: c._id.toString(), ledgerNumber: c.ledgerNumber, title: c.title, note: `${unit(c)}${note(c)}` })) };
}

const overdueNote = (d: Drawn) => (c: CaseDoc) => `期限 ${c.deadline}，已超期 ${daysAfter(c.deadline!, d.today)} 天`;
const waitedNote = (d: Drawn) => (c: CaseDoc) => `已等待 ${daysWaiting(c.stateSince, d.now, d.calendar)?.label ?? "—"}`;
function dueNote(d: Drawn) {
  return (c: CaseDoc) => {
    if (c.deadline === d.today) return "今日到期";
    try {
      return `${c.deadline} 到期，还有 ${d.calendar.workdaysBetween(d.today, c.deadline!)} 个工作日`;
    } catch {
      return `${c.deadline} 到期`;
    }
  };
}

/** The last day of "due soon": DIGEST_DUE_WORKDAYS working days after today (calendar days where the calendar lacks the year). */
function dueUntil(d: Drawn): string {
  try {
    return d.calendar.addWorkdays(d.today, d.settings.dueWorkdays);
  } catch (e) {
    if (!(e instanceof CalendarNotCovered)) throw e;
    return new Date(Date.parse(d.today) + d.settings.dueWorkdays * DAY).toISOString().slice(0, 10);
  }
}

const overdue = (actor: Actor, d: Drawn) => caseSection("overdue", "已超期", caseFilter(actor, { overdue: true }, d.now), { deadline: 1, _id: 1 }, d, overdueNote(d));
const dueSoon = (actor: Actor, d: Drawn) =>
  caseSection(`due`, `${d.settings.dueWorkdays} 个工作日内到期`, { $and: [caseFilter(actor, { deadlineFrom: d.today, deadlineTo: dueUntil(d) }, d.now), deadlineBindsFilter()] }, { deadline: 1, _id: 1 }, d, dueNote(d));
const behind = (actor: Actor, d: Drawn) =>
  caseSection("behind", "进度滞后于序时进度", caseFilter(actor, { behindSchedule: true }, d.now), { behindFrom: 1, _id: 1 }, d, (c) => `已报进度 ${c.progressPercent ?? 0}%，期限 ${c.deadline ?? "未设"}`);

/** Notices in the recipient's inbox not yet signed for (签收), most severe first. */
async function unacknowledged(actor: Actor, d: Drawn): Promise<DigestSection> {
  const filter = noticeFilter(actor, { state: "unacknowledged", officeInbox: actor.role !== "unit_user" });
  const [total, rows] = await Promise.all([Notice.countDocuments(filter), Notice.find(filter).sort({ severity: -1, issuedAt: 1, _id: 1 }).limit(d.settings.items).lean()]);
  return {
    key: "notices",
    label: "未签收的通知",
    total,
    items: rows.map((n) => ({ noticeId: String(n._id), ledgerNumber: n.ledgerNumber, title: n.caseTitle, note: `${LEVEL_LABELS[n.level as Level] ?? n.level}${n.number ? ` ${n.number}` : ""}，${shanghaiDate(n.issuedAt)} 发出` })),
  };
}

/** What awaits one recipient now, section by section, as it may see it. */
export async function digestSections(r: Pick<DigestRecipient, "kind" | "unitId" | "actor">, now: Date, calendar: WorkCalendar, settings: DigestSettings): Promise<DigestSection[]> {
  const today = shanghaiDate(now);
  const spansUnits = r.kind !== "unit";
  const unitNames = spansUnits ? new Map((await Unit.find({}, { name: 1 }).lean()).map((u) => [u._id.toString(), u.name])) : null;
  const d: Drawn = { now, today, calendar, settings, unitNames };
  const a = r.actor;
  if (r.kind === "unit") {
    // Only the lead unit signs for a case (签收).
    const sign = caseSection("sign", "待签收", { leadUnitId: r.unitId, state: "assigned" }, { stateSince: 1, _id: 1 }, d, waitedNote(d));
    return Promise.all([overdue(a, d), sign, dueSoon(a, d), behind(a, d), unacknowledged(a, d)]);
  }
  if (r.kind === "office") {
    const lists = await workLists(a, now, settings.items);
    const groups = lists.map((l) => ({
      key: `awaiting-${l.group}`,
      label: l.label,
      total: l.total,
      items: l.items.map((c) => ({ caseId: c._id.toString(), ledgerNumber: c.ledgerNumber, title: c.title, note: waitedNote(d)(c) })),
    }));
    return [...groups, await overdue(a, d), await unacknowledged(a, d)];
  }
  return Promise.all([overdue(a, d), dueSoon(a, d), behind(a, d)]);
}

/** The channels a recipient has for a digest now. */
const channelsOf = (r: Pick<DigestRecipient, "robots" | "emails">) => DIGEST_CHANNELS.filter((c) => (c === "email" ? r.emails.length > 0 : configured(r.robots, c)));

/** The digest's delivery documents: pending on each channel the recipient has; none when nothing awaits. */
function deliveriesOf(rec: DigestRecord, r: DigestRecipient, now: Date) {
  if (rec.empty) return [];
  return channelsOf(r).map((channel) => ({
    _id: `${rec._id}:${channel}`,
    noticeId: rec._id,
    channel,
    unitId: r.unitId,
    status: "pending" as const,
    attempts: 0,
    lastError: null,
    target: null,
    sentAt: null,
    cancelReason: null,
    createdAt: now,
    updatedAt: now,
  }));
}

export interface DigestRun {
  day: string;
  /** Why no digest is due now (off, before the time, not a working day, the calendar lacks the year), or null. */
  skipped: string | null;
  issued: DigestRecord[];
}

export class DigestIssuer {
  constructor(
    private readonly settings: DigestSettings,
    private readonly clock: Clock,
    /** Called with the pending deliveries of the digests this run wrote. */
    private readonly onIssued: (deliveries: PendingDelivery[]) => Promise<unknown> = async () => {},
  ) {}

  /** Writes today's digests that are due and missing (one per recipient), and hands their channels to the queue. */
  async run(): Promise<DigestRun> {
    const now = this.clock.now();
    const day = shanghaiDate(now);
    const skip = (skipped: string): DigestRun => ({ day, skipped, issued: [] });
    if (!this.settings.time) return skip("off");
    if (now < new Date(`${day}T${this.settings.time}:00+08:00`)) return skip("before the digest time");
    const calendar = await loadCalendar();
    try {
      if (!calendar.isWorkday(day)) return skip("not a working day");
    } catch (e) {
      if (!(e instanceof CalendarNotCovered)) throw e;
      return skip(e.message);
    }
    const have = new Set((await Digest.find({ day }, { recipient: 1 }).lean<Pick<DigestRecord, "recipient">[]>()).map((x) => x.recipient.key));
    const missing = (await digestRecipients()).filter((r) => !have.has(r.key));
    const issued: DigestRecord[] = [];
    const pending: PendingDelivery[] = [];
    for (const r of missing) {
      const sections = await digestSections(r, now, calendar, this.settings);
      const empty = sections.every((s) => s.total === 0);
      const rec: DigestRecord = {
        _id: digestId(day, r.key),
        day,
        recipient: { key: r.key, kind: r.kind, name: r.name, unitId: r.unitId },
        sections,
        empty,
        note: !empty && !channelsOf(r).length ? NO_CHANNEL : null,
        issuedAt: now,
      };
      // Deliveries first, as notices: a digest never exists without its channels.
      const deliveries = deliveriesOf(rec, r, now);
      await insertNew(NoticeDelivery.collection, deliveries);
      if (!(await insertNew(Digest.collection, [rec])).has(rec._id)) continue;
      issued.push(rec);
      pending.push(...deliveries.map((x) => ({ noticeId: x.noticeId, channel: x.channel, status: x.status })));
    }
    if (pending.length) await this.onIssued(pending);
    if (issued.length) log.info({ day, digests: issued.length, deliveries: pending.length }, "morning digests issued");
    return { day, skipped: null, issued };
  }
}

// ------------------------------------------------------------------------------------ as sent

/** The digest as a robot or an email says it: a subject, a paragraph per section with its first items linked, the link to the whole. */
export function digestText(rec: DigestRecord, publicUrl: string): { subject: string; paragraphs: string[]; link: string } {
  const base = publicUrl.replace(/\/+$/, "");
  const linkOf = (i: DigestItem) => (i.caseId ? `${base}/cases/${encodeURIComponent(i.caseId)}` : `${base}/notices/${encodeURIComponent(i.noticeId ?? "")}/print`);
  const paragraphs = rec.sections
    .filter((s) => s.total > 0)
    .map((s) =>
      [
        `${s.label}：${s.total} 件`,
        ...s.items.map((i, n) => `${n + 1}. ${i.ledgerNumber} ${i.title}（${i.note}）${linkOf(i)}`),
        ...(s.total > s.items.length ? [`……另有 ${s.total - s.items.length} 件`] : []),
      ].join("\n"),
    );
  const total = rec.sections.reduce((n, s) => n + s.total, 0);
  return { subject: `【每日待办】${rec.recipient.name} ${chineseDate(rec.day)}（共 ${total} 项）`, paragraphs, link: `${base}/` };
}

/** A stored digest (for the delivery job). */
export const findDigest = (id: string) => Digest.findById(id).lean<DigestRecord>();

// ------------------------------------------------------------------------------------ who sees which

/** A digest as the 晨报 list shows it: whom, which day, when, the count per section, each channel's delivery. */
export interface DigestView {
  id: string;
  day: string;
  recipient: { kind: string; name: string };
  issuedAt: Date;
  empty: boolean;
  note: string | null;
  sections: { key: string; label: string; total: number }[];
  deliveries: { channel: string; status: string; attempts: number; sentAt: Date | null; waitUntil: Date | null; lastError: string | null; target: string | null }[];
}

/**
 * The digests an actor may see: the office all of them; a unit its own only; a leader the digests of
 * the leader of 接收渠道 who bears their name (accounts and 接收渠道 leaders are not linked otherwise).
 */
export function digestFilter(actor: Actor): Record<string, unknown> {
  if (actor.role === "office_admin" || actor.role === "office_staff") return {};
  if (actor.role === "unit_user") return { "recipient.kind": "unit", "recipient.unitId": actor.unitId ?? "-" };
  if (actor.role === "leader") return { "recipient.kind": "leader", "recipient.name": actor.name ?? "-" };
  return { _id: "-" };
}

/** One page of the digests the actor may see, newest day first. */
export async function pageDigests(actor: Actor, f: { day?: string }, paging: { page: number; pageSize: number }, pastEnd?: PastEnd) {
  const filter = { ...digestFilter(actor), ...(f.day ? { day: f.day } : {}) };
  const total = await Digest.countDocuments(filter);
  const { pages, page, empty } = pageOf(total, paging, pastEnd);
  const rows = empty ? [] : await Digest.find(filter).sort({ day: -1, _id: 1 }).skip((page - 1) * paging.pageSize).limit(paging.pageSize).lean<DigestRecord[]>();
  const deliveries = rows.length ? await NoticeDelivery.find({ noticeId: mongoose.trusted({ $in: rows.map((r) => r._id) }) }).sort({ _id: 1 }).lean() : [];
  const items: DigestView[] = rows.map((r) => ({
    id: r._id,
    day: r.day,
    recipient: { kind: r.recipient.kind, name: r.recipient.name },
    issuedAt: r.issuedAt,
    empty: r.empty,
    note: r.note,
    sections: r.sections.map((s) => ({ key: s.key, label: s.label, total: s.total })),
    deliveries: deliveries
      .filter((d) => d.noticeId === r._id)
      .map((d) => ({ channel: d.channel, status: d.status, attempts: d.attempts ?? 0, sentAt: d.sentAt ?? null, waitUntil: d.waitUntil ?? null, lastError: d.lastError ?? null, target: d.target ?? null })),
  }));
  return { items, total, page, pages, pageSize: paging.pageSize };
}
