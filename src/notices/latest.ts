/** The latest notice per case that an actor may know of (what the ledger export shows). */
import mongoose from "mongoose";
import { LEVEL_LABELS, rungOrder, shanghaiDate, type Actor, type Level } from "../../workflows/index.ts";
import { Notice, NoticeDelivery } from "../db/models.ts";

const t = mongoose.trusted;

/** Latest notice per case that this actor may know of: a unit's own inbox; for others every notice that went out (not cancelled, not superseded). */
export async function latestNotice(ids: string[], actor: Actor) {
  const notices = (await Notice.find({ caseId: t({ $in: ids }) }, { caseId: 1, level: 1, issuedAt: 1, inbox: 1, supersededBy: 1 }).lean()).filter((n) => !n.supersededBy);
  if (!notices.length) return new Map<string, { level: string; on: string }>();
  const deliveries = await NoticeDelivery.find({ noticeId: t({ $in: notices.map((n) => String(n._id)) }), channel: "inbox" }, { noticeId: 1, status: 1, unitId: 1 }).lean();
  const inbox = new Map(deliveries.map((d) => [d.noticeId, d]));
  const visible = notices.filter((n) => {
    const d = inbox.get(String(n._id));
    if (actor.role === "unit_user") return !!actor.unitId && n.inbox === actor.unitId;
    return d?.status !== "cancelled";
  });
  // The latest; of notices issued in the same pass, the highest rung.
  const first = (a: (typeof visible)[number], b: (typeof visible)[number]) =>
    b.issuedAt.getTime() - a.issuedAt.getTime() || rungOrder({ level: a.level as Level, at: a.issuedAt }, { level: b.level as Level, at: b.issuedAt });
  const best = new Map<string, (typeof visible)[number]>();
  for (const n of visible) {
    const prior = best.get(n.caseId);
    if (!prior || first(n, prior) < 0) best.set(n.caseId, n);
  }
  return new Map([...best].map(([caseId, n]) => [caseId, { level: LEVEL_LABELS[n.level as Level] ?? n.level, on: shanghaiDate(n.issuedAt) }]));
}
