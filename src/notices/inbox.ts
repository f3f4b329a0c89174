/**
 * The in-app inboxes: a unit sees the notices delivered to its inbox, marks them read and
 * acknowledges them; the office's staff do the same with the office's inbox (reminders of what the
 * office itself owes); the office and leaders see every notice with its delivery state.
 */
import mongoose from "mongoose";
import { isOfficeRole, ownUnit, type Actor } from "../../workflows/index.ts";
import type { Clock } from "../clock.ts";
import { Notice, NoticeDelivery } from "../db/models.ts";
import { AppError, forbidden, invalid, notFound } from "../errors.ts";
import { pageOf, type PastEnd } from "../paging.ts";
import { OFFICE_INBOX, type DeliveryView, type NoticeRecord } from "./issuer.ts";

export const NOTICE_STATES = ["unread", "read", "acknowledged", "unacknowledged"] as const;
export const NOTICE_SORTS = ["-issuedAt", "-severity"] as const;
export type NoticeSort = (typeof NOTICE_SORTS)[number];

export interface NoticeFilter {
  unitId?: string;
  caseId?: string;
  level?: string;
  /** unread | read (not yet acknowledged) | acknowledged | unacknowledged (unread or read) */
  state?: (typeof NOTICE_STATES)[number];
  /** Issued on or after / on or before these days (YYYY-MM-DD, Asia/Shanghai). */
  from?: string;
  to?: string;
  /** The office's own inbox only (office roles and leaders). */
  officeInbox?: boolean;
}

export interface NoticePaging {
  page: number;
  pageSize: number;
  sort: NoticeSort;
}

/** The inbox an actor answers for: a unit's own, the office's for its staff; none for leaders. */
export function inboxOf(actor: Actor): string | null {
  if (actor.role === "unit_user") return actor.unitId ?? null;
  return isOfficeRole(actor.role) ? OFFICE_INBOX : null;
}

const t = mongoose.trusted;

/**
 * Attaches each notice's channel deliveries, as the actor may see them: a unit sees how the notice reached
 * the unit and its head, not the office's or a leader's channels and people (those are the office's to see).
 */
export async function withDeliveries(notices: NoticeRecord[], actor: Actor): Promise<NoticeRecord[]> {
  if (!notices.length) return notices;
  const rows = await NoticeDelivery.find({ noticeId: t({ $in: notices.map((n) => n._id) }) }).lean<DeliveryView[]>();
  const by = new Map<string, DeliveryView[]>();
  for (const r of rows) by.set(r.noticeId, [...(by.get(r.noticeId) ?? []), r]);
  const unit = actor.role === "unit_user";
  return notices.map((n) => {
    const deliveries = by.get(n._id) ?? [];
    return unit ? { ...n, deliveries: deliveries.filter((d) => !d.recipient), reach: (n.reach ?? []).filter((r) => r.recipient === "unit" || r.recipient === "unit_head") } : { ...n, deliveries };
  });
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

/** The filter of the notices an actor may list: a unit its own inbox, the office and leaders all of them. */
export function noticeFilter(actor: Actor, f: NoticeFilter = {}): Record<string, unknown> {
  const q: Record<string, unknown> = {};
  if (actor.role === "unit_user") q.inbox = ownUnit(actor);
  else if (f.officeInbox) q.inbox = OFFICE_INBOX;
  else if (f.unitId) q.unitId = f.unitId;
  // A case shows its superseded rungs too; lists of what was sent leave them out.
  if (f.caseId) q.caseId = f.caseId;
  else q.supersededBy = null;
  if (f.level) q.level = f.level;
  if (f.state === "unread") q.readAt = null;
  if (f.state === "read") Object.assign(q, { readAt: t({ $ne: null }), ackAt: null });
  if (f.state === "acknowledged") q.ackAt = t({ $ne: null });
  if (f.state === "unacknowledged") q.ackAt = null;
  if (f.from || f.to)
    q.issuedAt = t({
      ...(f.from ? { $gte: new Date(`${f.from}T00:00:00+08:00`) } : {}),
      ...(f.to ? { $lt: new Date(new Date(`${f.to}T00:00:00+08:00`).getTime() + 86_400_000) } : {}),
    });
  return q;
}

/**
 * The notices an actor may list, not yet run: newest first, or most severe first (then newest). Each
 * order walks an index: (inbox | unitId | level, issuedAt, _id), (inbox?, severity, issuedAt, _id).
 */
export function noticeListQuery(actor: Actor, f: NoticeFilter = {}, opts: { limit?: number; skip?: number; sort?: NoticeSort } = {}) {
  const sort: Record<string, -1> = opts.sort === "-severity" ? { severity: -1, issuedAt: -1, _id: -1 } : { issuedAt: -1, _id: -1 };
  return Notice.find(noticeFilter(actor, f))
    .sort(sort)
    .skip(opts.skip ?? 0)
    .limit(opts.limit ?? 200);
}

export async function listNotices(actor: Actor, f: NoticeFilter = {}, limit = 200): Promise<NoticeRecord[]> {
  return withDeliveries(await noticeListQuery(actor, f, { limit }).lean<NoticeRecord[]>(), actor);
}

/**
 * One page of the notices and how many match: what the 通知 page and GET /api/notices show. A page past
 * the last is empty (`pastEnd: "empty"`, the API, as listCases) or the last page (the default, the page).
 */
export async function pageNotices(actor: Actor, f: NoticeFilter, paging: NoticePaging, opts: { pastEnd?: PastEnd } = {}) {
  const total = await Notice.countDocuments(noticeFilter(actor, f));
  const { pages, page, empty } = pageOf(total, paging, opts.pastEnd);
  const items = empty ? [] : await noticeListQuery(actor, f, { limit: paging.pageSize, skip: (page - 1) * paging.pageSize, sort: paging.sort }).lean<NoticeRecord[]>();
  return { items: await withDeliveries(items, actor), total, page, pageSize: paging.pageSize, pages };
}

export async function getNotice(id: string, actor: Actor): Promise<NoticeRecord> {
  const n = await Notice.findById(id).lean<NoticeRecord>();
  if (!n || (actor.role === "unit_user" && (!actor.unitId || n.inbox !== actor.unitId))) throw notFound("通知");
  return (await withDeliveries([n], actor))[0]!;
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

/** Acknowledges several notices (批量签收通知): each as one would be; the result names each refused one and why. */
export async function acknowledgeMany(ids: string[], actor: Actor, clock: Clock): Promise<{ id: string; ok: boolean; label: string; message: string }[]> {
  if (!inboxOf(actor)) throw forbidden("只有收文方可以签收通知");
  const unique = [...new Set(ids)];
  if (!unique.length) throw invalid([{ field: "ids", message: "请先勾选要签收的通知" }]);
  if (unique.length > 200) throw invalid([{ field: "ids", message: "一次最多签收 200 件" }]);
  const out: { id: string; ok: boolean; label: string; message: string }[] = [];
  for (const id of unique) {
    try {
      const n = await acknowledge(id, actor, clock);
      out.push({ id, ok: true, label: `${n.ledgerNumber} ${n.number ?? ""}`.trim(), message: "已签收" });
    } catch (e) {
      if (!(e instanceof AppError) || e.status >= 500) throw e;
      out.push({ id, ok: false, label: id, message: e.message });
    }
  }
  return out;
}
export const acknowledge = (id: string, actor: Actor, clock: Clock) => receipt(id, actor, clock, "ackAt");

/** "<caseId>:<revision>" of the given cases' deadline revisions that drew a warning (the 台账's yellow light). */
export async function warnedRevisions(caseIds: string[]): Promise<Set<string>> {
  if (!caseIds.length) return new Set();
  const rows = await Notice.find({ caseId: t({ $in: caseIds }), level: t({ $in: ["yellow", "conclude_warning"] }) }, { caseId: 1, revision: 1 }).lean();
  return new Set(rows.map((n) => `${n.caseId}:${n.revision}`));
}
