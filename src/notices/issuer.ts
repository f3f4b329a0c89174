/**
 * Issuing a notice: one document per key (case, rule, deadline revision), so however many sweeps,
 * workers or retries run, a notice exists once. Supervision notices are numbered 督办〔year〕N号.
 */
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { LEVELS, isOfficeRole, noticeKey, shanghaiDate, type Actor, type Level, type NoticeRule } from "../../workflows/index.ts";
import type { Clock } from "../clock.ts";
import { Notice, NoticeDelivery, Unit, isDuplicateKey, nextSeq, type CaseDoc, type NoticeDoc } from "../db/models.ts";
import { forbidden, fromZod } from "../errors.ts";

export interface DeliveryView {
  noticeId: string;
  channel: string;
  status: string;
  attempts?: number;
  lastError?: string | null;
  sentAt?: Date | null;
  cancelReason?: string | null;
}
export type NoticeRecord = NoticeDoc & { _id: string; deliveries?: DeliveryView[] };
export const CHANNELS = ["inbox", "email", "webhook"] as const;
export type Channel = (typeof CHANNELS)[number];

interface Issue {
  doc: CaseDoc;
  level: Level;
  rule: NoticeRule | null;
  dueAt: Date;
  actor: Actor;
  requirement?: string;
}

/** Numbers a supervision notice once: the number is claimed for the notice's id. */
async function numberOf(noticeId: string, issuedAt: Date): Promise<string> {
  const year = shanghaiDate(issuedAt).slice(0, 4);
  const n = await nextSeq(`supervision-${year}`, noticeId);
  return `督办〔${year}〕${n}号`;
}

/** A unit's notify settings, read once per sweep pass. */
export type UnitChannels = Map<string, Promise<{ emails: number; webhook: boolean }>>;

function channelsOf(unitId: string, units: UnitChannels) {
  let found = units.get(unitId);
  if (!found) {
    found = Unit.findById(unitId, { notify: 1 })
      .lean()
      .then((u) => ({ emails: u?.notify?.emails?.length ?? 0, webhook: !!u?.notify?.webhookUrl }));
    units.set(unitId, found);
  }
  return found;
}

/**
 * One delivery document per channel: pending where the unit has the channel (the inbox always), skipped
 * elsewhere, and skipped on every channel when the rule does not name the unit (约谈/通报 goes to leaders).
 */
async function deliveriesFor(noticeId: string, unitId: string | null, recipients: readonly string[], units: UnitChannels) {
  const toUnit = recipients.includes("unit") || recipients.includes("unit_head");
  const unit = unitId && toUnit ? await channelsOf(unitId, units) : null;
  const has: Record<Channel, unknown> = { inbox: unit, email: unit?.emails, webhook: unit?.webhook };
  return CHANNELS.map((channel) => ({ _id: `${noticeId}:${channel}`, noticeId, channel, unitId, status: (has[channel] ? "pending" : "skipped") as "pending" | "skipped" }));
}

/** Inserts what is missing in one write; a repeat (another sweep, a retry) finds them there already. */
async function insertDeliveries(docs: Awaited<ReturnType<typeof deliveriesFor>>) {
  try {
    await NoticeDelivery.insertMany(docs, { ordered: false });
  } catch (e) {
    const errors = (e as { writeErrors?: { code?: number; err?: { code?: number } }[] }).writeErrors;
    const allDuplicates = errors?.length && errors.every((w) => (w.code ?? w.err?.code) === 11000);
    if (!allDuplicates && !isDuplicateKey(e)) throw e;
  }
}

async function issue({ doc, level, rule, dueAt, actor, requirement }: Issue, id: string, now: Date, units: UnitChannels = new Map()): Promise<NoticeRecord | null> {
  const unitId = doc.leadUnitId ?? null;
  const record = {
    _id: id,
    caseId: doc._id.toString(),
    kind: doc.kind,
    ledgerNumber: doc.ledgerNumber,
    caseTitle: doc.title,
    ruleId: rule?.id ?? null,
    level,
    revision: doc.deadlineRevision,
    unitId,
    recipients: rule?.recipients ?? ["unit", "office"],
    manual: rule === null,
    deadline: doc.deadline ?? null,
    requirement: requirement ?? "",
    points: rule?.points ?? 0,
    dueAt,
    issuedAt: now,
    issuedBy: actor,
  };
  // Deliveries first: a notice never exists without its channels (orphan deliveries of a notice that
  // failed to be written are completed when the next sweep issues it again).
  const deliveries = await deliveriesFor(id, unitId, record.recipients, units);
  await insertDeliveries(deliveries);
  try {
    await Notice.create(record);
  } catch (e) {
    if (isDuplicateKey(e)) return null;
    throw e;
  }
  const issued = { ...(record as unknown as NoticeRecord), deliveries };
  if (level === "supervision") {
    const number = await numberOf(id, now);
    await Notice.updateOne({ _id: id }, { $set: { number } });
    return { ...issued, number };
  }
  return issued;
}

/** A notice the ladder calls for; null when it was already issued for this case, rule and revision. */
export function issueFromRule(doc: CaseDoc, rule: NoticeRule, dueAt: Date, now: Date, units?: UnitChannels): Promise<NoticeRecord | null> {
  const system: Actor = { id: "system", name: "系统", role: "system", unitId: null };
  return issue({ doc, level: rule.level, rule, dueAt, actor: system }, noticeKey(doc._id.toString(), rule.id, doc.deadlineRevision), now, units);
}

export const manualNoticeSchema = z.object({
  level: z.enum(LEVELS, { error: "请选择通知类别" }),
  requirement: z.string({ error: "请填写督办要求" }).trim().min(1, { error: "请填写督办要求" }).max(5000, { error: "督办要求不能超过 5000 个字" }),
});

/** Office staff issue a notice by hand (e.g. a 督办通知 before the ladder would). */
export async function issueByHand(doc: CaseDoc, input: unknown, actor: Actor, clock: Clock): Promise<NoticeRecord> {
  if (!isOfficeRole(actor.role)) throw forbidden("只有整改办可以发出督办通知");
  const parsed = manualNoticeSchema.safeParse(input);
  if (!parsed.success) throw fromZod(parsed.error);
  const now = clock.now();
  const id = `${doc._id.toString()}-manual-${randomUUID()}`;
  return (await issue({ doc, level: parsed.data.level, rule: null, dueAt: now, actor, requirement: parsed.data.requirement }, id, now))!;
}
