/** The in-app inbox: a unit sees its own notices, marks them read and acknowledges them. */
import mongoose from "mongoose";
import type { Actor } from "../../workflows/index.ts";
import type { Clock } from "../clock.ts";
import { Notice } from "../db/models.ts";
import { notFound } from "../errors.ts";
import type { NoticeRecord } from "./issuer.ts";

export interface NoticeFilter {
  unitId?: string;
  level?: string;
  /** unread | read | acknowledged */
  state?: "unread" | "read" | "acknowledged";
}

function visible(actor: Actor): Record<string, unknown> {
  if (actor.role === "unit_user") return { unitId: actor.unitId ?? "-", "deliveries.inbox.status": "sent" };
  return {};
}

export async function listNotices(actor: Actor, f: NoticeFilter = {}, limit = 200): Promise<NoticeRecord[]> {
  const q: Record<string, unknown> = { state: "issued", ...visible(actor) };
  if (f.unitId && actor.role !== "unit_user") q.unitId = f.unitId;
  if (f.level) q.level = f.level;
  if (f.state === "unread") q.readAt = null;
  if (f.state === "read") Object.assign(q, { readAt: mongoose.trusted({ $ne: null }), ackAt: null });
  if (f.state === "acknowledged") q.ackAt = mongoose.trusted({ $ne: null });
  return Notice.find(q).sort({ issuedAt: -1 }).limit(limit).lean<NoticeRecord[]>();
}

export async function getNotice(id: string, actor: Actor): Promise<NoticeRecord> {
  const n = await Notice.findOne({ _id: id, ...visible(actor) }).lean<NoticeRecord>();
  if (!n) throw notFound("通知");
  return n;
}

async function receipt(id: string, actor: Actor, clock: Clock, field: "readAt" | "ackAt"): Promise<NoticeRecord> {
  const n = await getNotice(id, actor);
  if (actor.role !== "unit_user") return n; // only the addressee leaves receipts
  const by = field === "readAt" ? "readBy" : "ackBy";
  const now = clock.now();
  const set: Record<string, unknown> = n[field] ? {} : { [field]: now, [by]: actor.id };
  if (field === "ackAt" && !n.readAt) Object.assign(set, { readAt: now, readBy: actor.id });
  if (Object.keys(set).length) await Notice.updateOne({ _id: id, [field]: null }, { $set: set });
  return { ...n, ...set } as NoticeRecord;
}

export const markRead = (id: string, actor: Actor, clock: Clock) => receipt(id, actor, clock, "readAt");
export const acknowledge = (id: string, actor: Actor, clock: Clock) => receipt(id, actor, clock, "ackAt");
