/**
 * The in-app inboxes: a unit sees the notices delivered to its inbox, marks them read and
 * acknowledges them; the office's staff do the same with the office's inbox (reminders of what the
 * office itself owes); the office and leaders see every notice with its delivery state.
 */
import mongoose from "mongoose";
import { isOfficeRole, type Actor } from "../../workflows/index.ts";
import type { Clock } from "../clock.ts";
import { Notice, NoticeDelivery } from "../db/models.ts";
import { forbidden, notFound } from "../errors.ts";
import { OFFICE_INBOX, type DeliveryView, type NoticeRecord } from "./issuer.ts";

export interface NoticeFilter {
  unitId?: string;
  caseId?: string;
  level?: string;
  /** unread | read | acknowledged */
  state?: "unread" | "read" | "acknowledged";
  /** The office's own inbox only (office roles and leaders). */
  officeInbox?: boolean;
}

/** The inbox an actor answers for: a unit's own, the office's for its staff; none for leaders. */
export function inboxOf(actor: Actor): string | null {
  if (actor.role === "unit_user") return actor.unitId ?? null;
  return isOfficeRole(actor.role) ? OFFICE_INBOX : null;
}

const t = mongoose.trusted;

/** Attaches each notice's channel deliveries. */
export async function withDeliveries(notices: NoticeRecord[]): Promise<NoticeRecord[]> {
  if (!notices.length) return notices;
  const rows = await NoticeDelivery.find({ noticeId: t({ $in: notices.map((n) => n._id) }) }).lean<DeliveryView[]>();
  const by = new Map<string, DeliveryView[]>();
  for (const r of rows) by.set(r.noticeId, [...(by.get(r.noticeId) ?? []), r]);
  return notices.map((n) => ({ ...n, deliveries: by.get(n._id) ?? [] }));
}

/**
 * Superseded: a lower rung that fell due in the same pass as a higher one (recorded only). Cancelled:
 * its case moved on before the notice went out (the inbox, or every channel, says so).
 */
export function noticeState(n: NoticeRecord): "issued" | "cancelled" | "superseded" {
  if (n.supersededBy) return "superseded";
  const d = n.deliveries ?? [];
  const inbox = d.find((x) => x.channel === "inbox");
  if (inbox && inbox.status !== "skipped") return inbox.status === "cancelled" ? "cancelled" : "issued";
  return d.some((x) => x.status === "cancelled") ? "cancelled" : "issued";
}

/** The notices an actor may list, newest first, not yet run: a unit its own inbox, the office and leaders all of them. */
export function noticeListQuery(actor: Actor, f: NoticeFilter = {}, limit = 200) {
  const q: Record<string, unknown> = {};
  if (actor.role === "unit_user") q.inbox = actor.unitId ?? "-";
  else if (f.officeInbox) q.inbox = OFFICE_INBOX;
  else if (f.unitId) q.unitId = f.unitId;
  // A case shows its superseded rungs too; lists of what was sent leave them out.
  if (f.caseId) q.caseId = f.caseId;
  else q.supersededBy = null;
  if (f.level) q.level = f.level;
  if (f.state === "unread") q.readAt = null;
  if (f.state === "read") Object.assign(q, { readAt: t({ $ne: null }), ackAt: null });
  if (f.state === "acknowledged") q.ackAt = t({ $ne: null });
  return Notice.find(q).sort({ issuedAt: -1, _id: -1 }).limit(limit);
}

export async function listNotices(actor: Actor, f: NoticeFilter = {}, limit = 200): Promise<NoticeRecord[]> {
  return withDeliveries(await noticeListQuery(actor, f, limit).lean<NoticeRecord[]>());
}

export async function getNotice(id: string, actor: Actor): Promise<NoticeRecord> {
  const n = await Notice.findById(id).lean<NoticeRecord>();
  if (!n || (actor.role === "unit_user" && (!actor.unitId || n.inbox !== actor.unitId))) throw notFound("通知");
  return (await withDeliveries([n]))[0]!;
}

async function receipt(id: string, actor: Actor, clock: Clock, field: "readAt" | "ackAt"): Promise<NoticeRecord> {
  const n = await getNotice(id, actor);
  // Receipts are the addressee's: a unit's for its inbox, the office staff's for the office's.
  if (!n.inbox || n.inbox !== inboxOf(actor)) throw forbidden("只有收文方可以签收通知");
  const by = field === "readAt" ? "readBy" : "ackBy";
  const now = clock.now();
  const set: Record<string, unknown> = n[field] ? {} : { [field]: now, [by]: actor.id };
  if (field === "ackAt" && !n.readAt) Object.assign(set, { readAt: now, readBy: actor.id });
  if (Object.keys(set).length) await Notice.updateOne({ _id: id, [field]: null }, { $set: set });
  return { ...n, ...set } as NoticeRecord;
}

export const markRead = (id: string, actor: Actor, clock: Clock) => receipt(id, actor, clock, "readAt");
export const acknowledge = (id: string, actor: Actor, clock: Clock) => receipt(id, actor, clock, "ackAt");
