/**
 * Issuing a notice: one document per key (case, rule, deadline revision), so however many sweeps,
 * workers or retries run, a notice exists once. Supervision notices are numbered 督办〔year〕N号.
 */
import { randomUUID } from "node:crypto";
import type mongoose from "mongoose";
import { z } from "zod";
import { LEVELS, LEVEL_RANK, SYSTEM, VISIBLE, holderOf, isOfficeRole, levelPoints, noticeKey, shanghaiDate, toldToUnit, TOLD_TO_UNIT, type Actor, type CaseKind, type Holder, type Level, type NoticeRule, type Timed } from "../../workflows/index.ts";
import type { Clock } from "../clock.ts";
import { Notice, NoticeDelivery, isDuplicateKey, nextSeq, type CaseDoc, type NoticeDoc } from "../db/models.ts";
import { loadCalendar } from "../calendar/workdays.ts";
import { forbidden, fromZod } from "../errors.ts";
import { loadRules } from "./rules.ts";
import { loadSettings, type OfficeSettings } from "./settings.ts";
import { sentAtOnce } from "./instant.ts";
import { loadDirectory, resolveWith, type FeishuAt, type Reach } from "./recipients.ts";
import { loadTexts, compose, type Composed } from "./texts.ts";

export interface DeliveryView {
  noticeId: string;
  channel: string;
  status: string;
  attempts?: number;
  lastError?: string | null;
  sentAt?: Date | null;
  cancelReason?: string | null;
  /** Held back by a robot's rate limit until then. */
  waitUntil?: Date | null;
  /** The office's or a leader's channel (an addressee's id); none: the unit's own. */
  recipient?: string | null;
  target?: string | null;
}
export type NoticeRecord = Omit<NoticeDoc, "document" | "reach"> & { _id: string; deliveries?: DeliveryView[]; document?: NoticeDocument | null; reach?: Reach[] };
/** A notice's document as issued (notice.document). */
export interface NoticeDocument extends Composed {
  sender: Pick<OfficeSettings, "issuerMark" | "signer" | "contactName" | "contactPhone" | "cc">;
}
const senderOf = ({ issuerMark, signer, contactName, contactPhone, cc }: OfficeSettings): NoticeDocument["sender"] => ({ issuerMark, signer, contactName, contactPhone, cc });

export const CHANNELS = ["inbox", "email", "webhook", "wecom", "dingtalk", "feishu", "sms"] as const;
export type Channel = (typeof CHANNELS)[number];
/** The inbox of the office's staff: reminders of what the office itself owes (notice.inbox). */
export const OFFICE_INBOX = "office";

/** A notice to issue: its key, the case as it stands, and what calls for it. */
export interface Issue {
  id: string;
  doc: CaseDoc;
  level: Level;
  rule: NoticeRule | null;
  dueAt: Date;
  actor: Actor;
  /** Who holds the case now: the rung reminds them, and only a unit's time costs points. */
  holder: Holder | null;
  requirement?: string;
  /** The key of the higher rung issued instead in the same pass: recorded only, never delivered or scored. */
  supersededBy?: string | null;
  /** A yellow warning raised by progress behind schedule (its text says so). */
  behindSchedule?: boolean;
  /** A notice by hand (no rule): what its level costs the unit (levelPoints), if the unit holds the case. */
  handPoints?: number;
  /** Whom a notice by hand names (a rule's own recipients otherwise). */
  recipients?: NoticeRule["recipients"];
  /** The event a notice tells of (not a rung), and the office's reason or the leader's 批示 given with it. */
  event?: string;
  reason?: string;
  instruction?: string;
}


/** What the ladder calls for: keyed by case, rule and deadline revision, so it exists once however often it is issued. */
export const ruleIssue = (doc: CaseDoc, { rule, at, holder, behindSchedule }: Timed): Issue => ({
  id: noticeKey(doc._id.toString(), rule.id, doc.deadlineRevision),
  doc,
  level: rule.level,
  rule,
  dueAt: at,
  actor: SYSTEM,
  holder,
  behindSchedule,
});

/** Numbers a supervision notice once: the number is claimed for the notice's id. */
async function numberOf(noticeId: string, issuedAt: Date): Promise<string> {
  const year = shanghaiDate(issuedAt).slice(0, 4);
  const n = await nextSeq(`supervision-${year}`, noticeId);
  return `督办〔${year}〕${n}号`;
}

/** Whose inbox a notice goes to: the unit's while it holds the case (or the office sends by hand), the office's while the office holds it. */
function addresseeOf(i: { doc: CaseDoc; holder: Holder | null; rule: NoticeRule | null }): "unit" | "office" | null {
  const recipients = i.rule?.recipients ?? ["unit", "office"];
  const namesUnit = recipients.includes("unit") || recipients.includes("unit_head");
  if (!i.rule) return i.doc.leadUnitId ? "unit" : OFFICE_INBOX;
  if (i.holder === "unit" && namesUnit && i.doc.leadUnitId) return "unit";
  // A rung on the office's time never reaches a unit, whatever its recipients say.
  if (i.holder === "office" && recipients.includes("office")) return OFFICE_INBOX;
  return null;
}

/** The channels a notice below the instant level skips (instant.ts): it waits for the morning digest there. */
const INSTANT: readonly Channel[] = ["wecom", "dingtalk", "feishu", "sms"];
export const DIGEST_REASON = "低于即时发送级别，列入晨间汇总";

/** Channels every notice records for its unit, sent or skipped; a robot or SMS is recorded only where the unit has it. */
const RECORDED: readonly Channel[] = ["inbox", "email", "webhook"];

/** A delivery's id: `<notice>:<channel>` for the unit's own channels, `<notice>:<channel>:<addressee>` for the office's or a leader's. */
export const deliveryIdOf = (noticeId: string, channel: string, recipient?: string | null) => (recipient ? `${noticeId}:${channel}:${recipient}` : `${noticeId}:${channel}`);

type Merged = { channels: Set<Channel>; mentions: string[]; sms: string[]; feishu: FeishuAt[] };
/** The reaches of one target merged (unit and unit head share the unit's robots): its channels and the mobiles each carries. */
function byTarget(reach: Reach[]): Map<string | null, Merged> {
  const out = new Map<string | null, Merged>();
  for (const r of reach) {
    if (r.recipient === "leader" && !r.target) continue;
    const t = out.get(r.target) ?? { channels: new Set<Channel>(), mentions: [], sms: [], feishu: [] };
    for (const c of r.channels) t.channels.add(c);
    t.mentions = [...new Set([...t.mentions, ...r.mentions])];
    t.sms = [...new Set([...t.sms, ...r.sms])];
    for (const p of r.feishu ?? []) if (!t.feishu.some((q) => (q.id ?? q.name) === (p.id ?? p.name))) t.feishu.push(p);
    out.set(r.target, t);
  }
  return out;
}

/**
 * One delivery document per channel and target. Writing the notice into an inbox is its delivery, so
 * the inbox is sent at issue; the unit's email and webhook are recorded always (pending where the unit
 * has them, else skipped), its robots and SMS where it has them (four skipped documents per notice
 * would say nothing). The office's and leaders' channels are pending where the rung names them and
 * they have them (约谈/通报 reaches the leaders this way). The mobiles a robot @-mentions or an SMS
 * texts are resolved now and kept on the delivery. A superseded rung has no deliveries at all.
 */
function deliveriesFor(noticeId: string, level: Level, unitId: string | null, addressee: "unit" | "office" | null, reach: Reach[], now: Date) {
  const targets = byTarget(reach);
  const unit = addressee === "unit" && unitId ? (targets.get(null) ?? { channels: new Set<Channel>(), mentions: [], sms: [], feishu: [] }) : undefined;
  const base = { noticeId, unitId, attempts: 0, lastError: null, target: null, sentAt: null, cancelReason: null, recipient: null };
  // Below the instant level a robot or SMS waits for the morning digest: recorded as skipped, saying so.
  const waits = (channel: Channel) => INSTANT.includes(channel) && !sentAtOnce(level);
  const mobilesFor = (channel: Channel, t: Merged) =>
    channel === "sms" ? { mobiles: t.sms } : channel === "wecom" || channel === "dingtalk" ? { mobiles: t.mentions } : channel === "feishu" && t.feishu.length ? { feishuAt: t.feishu } : {};
  const own = CHANNELS.filter((channel) => RECORDED.includes(channel) || unit?.channels.has(channel)).map((channel) => {
    const _id = deliveryIdOf(noticeId, channel);
    const sent = (target: string) => ({ ...base, _id, channel, status: "sent" as const, attempts: 1, target, sentAt: now });
    if (addressee === OFFICE_INBOX) return channel === "inbox" ? sent(`inbox:${OFFICE_INBOX}`) : { ...base, _id, channel, status: "skipped" as const };
    if (!unit) return { ...base, _id, channel, status: "skipped" as const };
    if (channel === "inbox") return sent(`inbox:${unitId}`);
    if (waits(channel) && unit.channels.has(channel)) return { ...base, _id, channel, status: "skipped" as const, cancelReason: DIGEST_REASON };
    return { ...base, _id, channel, status: unit.channels.has(channel) ? ("pending" as const) : ("skipped" as const), ...(unit.channels.has(channel) ? mobilesFor(channel, unit) : {}) };
  });
  const others = [...targets].flatMap(([recipient, t]) =>
    recipient === null
      ? []
      : CHANNELS.filter((c) => t.channels.has(c)).map((channel) => {
          const _id = deliveryIdOf(noticeId, channel, recipient);
          if (waits(channel)) return { ...base, _id, channel, recipient, status: "skipped" as const, cancelReason: DIGEST_REASON };
          return { ...base, _id, channel, recipient, status: "pending" as const, ...mobilesFor(channel, t) };
        }),
  );
  return [...own, ...others];
}

/**
 * Inserts documents that may be there already (another sweep, a retry): one unordered write. Returns
 * the ids this call inserted; a duplicate key is not an error, anything else is.
 */
export async function insertNew(collection: mongoose.mongo.Collection, docs: { _id: string }[]): Promise<Set<string>> {
  const inserted = new Set(docs.map((d) => d._id));
  if (!docs.length) return inserted;
  try {
    await collection.insertMany(docs as never[], { ordered: false });
  } catch (e) {
    const errors = (e as { writeErrors?: { code?: number; index: number; err?: { code?: number } }[] }).writeErrors;
    if (!errors?.length) {
      if (!isDuplicateKey(e)) throw e;
      if (docs.length === 1) inserted.clear();
      else throw e;
    } else {
      for (const w of errors) {
        if ((w.code ?? w.err?.code) !== 11000) throw e;
        inserted.delete(docs[w.index]!._id);
      }
    }
  }
  return inserted;
}

/**
 * Issues notices in a fixed number of writes however many there are: their deliveries, the notices
 * themselves (a key issued already is left as it was), then a number for each new supervision notice.
 * Deliveries go first, so a notice never exists without its channels; a crash in between leaves
 * deliveries that the next issue of the same key completes. Returns the notices this call issued
 * (superseded ones included: they are recorded, with no deliveries).
 */
export async function issueMany(issues: Issue[], now: Date): Promise<NoticeRecord[]> {
  if (!issues.length) return [];
  const [dir, texts, settings, calendar] = await Promise.all([
    loadDirectory(issues.flatMap((i) => (i.doc.leadUnitId ? [i.doc.leadUnitId] : []))),
    loadTexts(),
    loadSettings(),
    loadCalendar(),
  ]);
  const records = issues.map((i) => {
    const { id, doc, level, rule, dueAt, actor, requirement, holder } = i;
    const superseded = i.supersededBy ?? null;
    const addressee = superseded ? null : addresseeOf(i);
    const unitName = doc.leadUnitId ? (dir.units.get(doc.leadUnitId)?.name ?? null) : null;
    const recipients = rule?.recipients ?? i.recipients ?? (i.event ? ["unit"] : ["unit", "office"]);
    // Whom the rung names, as they can be reached now (none for a superseded rung, which goes nowhere).
    const reach = superseded ? [] : resolveWith(dir, recipients, { unitId: doc.leadUnitId ?? null, unitHolds: addressee === "unit", inbox: addressee === OFFICE_INBOX ? "office" : addressee });
    // The text as it reads now, with the office's particulars now: the document stays as issued.
    const subject = { doc, level, rule, addressee: superseded ? addresseeOf(i) : addressee, unitName, requirement: requirement ?? "", behindSchedule: i.behindSchedule, reason: i.reason, instruction: i.instruction };
    const composed = compose(texts[level], subject, { office: settings.signer, calendar, issuedAt: now });
    const document: NoticeDocument = { ...composed, sender: senderOf(settings) };
    return {
      _id: id,
      caseId: doc._id.toString(),
      kind: doc.kind,
      ledgerNumber: doc.ledgerNumber,
      caseTitle: doc.title,
      ruleId: rule?.id ?? null,
      level,
      severity: LEVEL_RANK[level] ?? 0,
      revision: doc.deadlineRevision,
      unitId: doc.leadUnitId ?? null,
      holder,
      state: doc.state,
      inbox: addressee === "unit" ? (doc.leadUnitId ?? null) : addressee,
      addressee,
      recipients,
      reach,
      supersededBy: superseded,
      manual: rule === null && !i.event,
      event: i.event ?? null,
      number: null,
      deadline: doc.deadline ?? null,
      requirement: requirement ?? "",
      document,
      // What the notice costs the unit: nothing for the office's time or a superseded rung; by hand, what its level costs.
      points: holder === "unit" && !superseded ? (rule ? rule.points : (i.handPoints ?? 0)) : 0,
      dueAt,
    issuedAt: now,
    issuedBy: actor,
    readAt: null,
    readBy: null,
    ackAt: null,
    ackBy: null,
    createdAt: now,
    updatedAt: now,
    };
  });
  const deliveries = new Map(
    records.map((r) => [r._id, r.supersededBy ? [] : deliveriesFor(r._id, r.level, r.unitId, r.addressee, r.reach, now).map((d) => ({ ...d, createdAt: now, updatedAt: now }))]),
  );
  await insertNew(NoticeDelivery.collection, [...deliveries.values()].flat());
  const inserted = await insertNew(Notice.collection, records.map(({ addressee: _a, ...r }) => r));
  const issued: NoticeRecord[] = [];
  for (const { addressee: _a, ...r } of records) {
    if (!inserted.has(r._id)) continue;
    const notice = { ...(r as unknown as NoticeRecord), deliveries: deliveries.get(r._id) };
    if (r.level === "supervision" && !r.supersededBy) notice.number = await numberNotice(r._id, now);
    issued.push(notice);
  }
  return issued;
}

/** Claims a supervision notice's number (once: a repeat finds the claim) and writes it on the notice. */
async function numberNotice(id: string, issuedAt: Date): Promise<string> {
  const number = await numberOf(id, issuedAt);
  await Notice.updateOne({ _id: id }, { $set: { number } });
  return number;
}

/** Supervision notices still without a number, oldest first (not yet run). */
export const unnumberedQuery = (limit: number) => Notice.find({ level: "supervision", number: null, supersededBy: null }, { _id: 1, issuedAt: 1 }).sort({ issuedAt: 1, _id: 1 }).limit(limit);

/**
 * Numbers the supervision notices a crash left unnumbered (issued, then the process died before its
 * number was written): a repeat issue of the same key stops at the notice already there, so the sweep
 * finishes them. The number is the one claimed for the notice, if the claim was made before the crash.
 */
export async function numberUnnumbered(limit = 100): Promise<number> {
  const left = await unnumberedQuery(limit).lean();
  for (const n of left) await numberNotice(String(n._id), n.issuedAt);
  return left.length;
}

const isEventLevel = (l: Level) => Object.values(TOLD_TO_UNIT).some((t) => Object.values(t).includes(l));
/** The levels the office may issue by hand: every rung's, not a 退回整改通知 (which comes from a 退回 alone). */
export const MANUAL_LEVELS = LEVELS.filter((l) => !isEventLevel(l)) as [Level, ...Level[]];

export const manualNoticeSchema = z.object({
  level: z.enum(MANUAL_LEVELS, { error: "请选择通知类别" }),
  requirement: z.string({ error: "请填写督办要求" }).max(5000, { error: "督办要求不能超过 5000 个字" }).regex(VISIBLE, { error: "请填写督办要求" }).trim(),
});

/** Office staff issue a notice by hand (e.g. a 督办通知 before the ladder would). */
export async function issueByHand(doc: CaseDoc, input: unknown, actor: Actor, clock: Clock): Promise<NoticeRecord> {
  if (!isOfficeRole(actor.role)) throw forbidden("只有整改办可以发出督办通知");
  const parsed = manualNoticeSchema.safeParse(input);
  if (!parsed.success) throw fromZod(parsed.error);
  const now = clock.now();
  const id = `${doc._id.toString()}-manual-${randomUUID()}`;
  const holder = holderOf(doc.kind as CaseKind, doc.state);
  const rules = await loadRules();
  const handPoints = levelPoints(rules, doc.kind as CaseKind, parsed.data.level);
  // A 督办通知 by hand reaches whom the ladder's 督办 rung names (the unit head, the leader), not only the unit.
  const recipients = rules.find((r) => r.kind === doc.kind && r.level === parsed.data.level)?.recipients;
  const [notice] = await issueMany([{ id, doc, level: parsed.data.level, rule: null, dueAt: now, actor, holder, requirement: parsed.data.requirement, handPoints, recipients }], now);
  return notice!;
}

/**
 * Tells the lead unit of an event that the machines' table names (toldToUnit: the office's 退回 with its
 * reason, a leader's 批示 with its text) in its inbox and channels. Keyed by the history entry, so a retried
 * command issues it once. No rung: its holder is none, and it never scores.
 */

export async function issueForEvent(doc: CaseDoc, entry: { seq: number; type: string; actor: Actor; at: Date; payload: unknown }, now: Date): Promise<NoticeRecord | null> {
  const level = toldToUnit(doc.kind as CaseKind, entry.type);
  if (!level || !doc.leadUnitId) return null;
  const { reason, text } = (entry.payload ?? {}) as { reason?: unknown; text?: unknown };
  const id = `${doc._id.toString()}-event-${entry.seq}`;
  const told = entry.type === "INSTRUCT" ? { instruction: typeof text === "string" ? text : "" } : { reason: typeof reason === "string" ? reason : "" };
  const [notice] = await issueMany([{ id, doc, level, rule: null, dueAt: entry.at, actor: entry.actor, holder: null, event: entry.type, ...told }], now);
  return notice ?? null;
}
