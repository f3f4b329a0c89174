/**
 * The 通知 page: filters (level, receipt state, unit, issue dates), paging and order by time or
 * severity, from the same query schema and pageNotices as GET /api/notices; a unit acknowledges one
 * notice or several at once. The printable document is the API's renderer.
 */
import express from "express";
import { LEVEL_LABELS, LEVELS, isSevere, type Level } from "../../../workflows/index.ts";
import { unitNames } from "../../directory.ts";
import { CHANNEL_LABELS } from "../../notices/channels.ts";
import type { NoticeRecord } from "../../notices/issuer.ts";
import { RECIPIENT_LABELS, reachText } from "../../notices/recipients.ts";
import { acknowledge, acknowledgeMany, getNotice, noticeState, pageNotices } from "../../notices/inbox.ts";
import { renderNoticeDocument } from "../../notices/render.ts";
import { assertCsrf } from "../auth.ts";
import { pageDigests } from "../../notices/digest.ts";
import { digestQuery, noticeQuery } from "../routes/notices.ts";
import type { PageDeps } from "./index.ts";
import { actorOf, formOf, pageQuery, refusal, render, safePath, strs } from "./render.ts";

const STATES = [
  ["unacknowledged", "未签收"],
  ["unread", "未读"],
  ["read", "已读未签收"],
  ["acknowledged", "已签收"],
] as const;
const SORTS = [
  ["-issuedAt", "发出时间（新的在前）"],
  ["-severity", "严重程度（重的在前）"],
] as const;

const hhmm = (d: Date) => new Date(d).toLocaleTimeString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false, hour: "2-digit", minute: "2-digit" });

/**
 * Each channel of a notice as the list shows it: 已发送, 等待 (a robot's rate limit, until when),
 * 待发送, 失败 with the provider's reason, 已撤销; a channel not set up (skipped) is left out. Then
 * each named recipient that no channel reaches (未配置接收渠道).
 */
type DeliveryState = Pick<NonNullable<NoticeRecord["deliveries"]>[number], "status" | "lastError" | "cancelReason" | "waitUntil" | "attempts">;
/** One delivery's state as a line says it: 已发送, 失败 with the reason, 已撤销, 等待 (until when), 待发送 / 待重试. */
export function deliveryState(d: DeliveryState): { cls: string; text: string } {
  if (d.status === "sent") return { cls: "ok", text: "已发送" };
  if (d.status === "failed") return { cls: "failed", text: `失败：${d.lastError ?? "原因不明"}` };
  if (d.status === "cancelled") return { cls: "muted", text: `已撤销：${d.cancelReason ?? ""}` };
  if (d.waitUntil) return { cls: "waiting", text: `等待（服务商限额，约 ${hhmm(d.waitUntil)} 发出）` };
  return { cls: "waiting", text: (d.attempts ?? 0) > 0 ? `待重试（已试 ${d.attempts} 次：${d.lastError ?? ""}）` : "待发送" };
}
const channelLabel = (channel: string) => CHANNEL_LABELS[channel] ?? (channel === "email" ? "邮件" : channel === "webhook" ? "推送" : channel);

export function channelLines(n: NoticeRecord) {
  const names = new Map((n.reach ?? []).filter((r) => r.target).map((r) => [r.target!, r.name]));
  const lines = (n.deliveries ?? [])
    .filter((d) => d.status !== "skipped" && d.channel !== "inbox")
    .map((d) => {
      const who = d.recipient ? (d.recipient === "office" ? RECIPIENT_LABELS.office : (names.get(d.recipient) ?? RECIPIENT_LABELS.leader)) : "";
      return { label: `${channelLabel(d.channel)}${who ? `（${who}）` : ""}`, ...deliveryState(d) };
    });
  const missing = (n.reach ?? []).filter((r) => r.missing).map((r) => ({ label: reachText(r, CHANNEL_LABELS).split("：")[0]!, cls: "failed", text: r.missing! }));
  return [...lines, ...missing];
}

export function noticePages(deps: PageDeps): express.Router {
  const router = express.Router();

  async function showNotices(req: express.Request, res: express.Response, ack: { rows?: { label: string; ok: boolean; message: string }[]; error?: string } = {}, status = 200) {
    const actor = actorOf(res)!;
    const { query: q, errors: filterErrors } = pageQuery(noticeQuery, req.query as Record<string, unknown>);
    const { page, pageSize, sort, unit, ...f } = q;
    const [list, names] = await Promise.all([pageNotices(actor, { ...f, unitId: unit }, { page, pageSize, sort }), unitNames()]);
    const params = (p: number) => new URLSearchParams({ ...Object.fromEntries(Object.entries({ ...f, unit, sort }).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)])), page: String(p) });
    render(
      req,
      res,
      "notices",
      {
        title: "通知",
        q,
        filtered: filterErrors.length > 0 || unit !== undefined || Object.values(f).some((v) => v !== undefined),
        filterErrors,
        levels: LEVELS.map((l) => ({ v: l, l: LEVEL_LABELS[l], selected: l === q.level })),
        states: STATES.map(([v, l]) => ({ v, l, selected: v === q.state })),
        sorts: SORTS.map(([v, l]) => ({ v, l, selected: v === q.sort })),
        units: actor.role === "unit_user" ? [] : [...names].map(([id, name]) => ({ id, name, selected: id === unit })),
        items: list.items.map((n) => ({
          ...n,
          id: n._id,
          levelLabel: LEVEL_LABELS[n.level as Level] ?? n.level,
          severe: isSevere(n.level),
          unit: n.unitId ? names.get(n.unitId) : "整改办",
          cancelled: noticeState(n) === "cancelled",
          channels: channelLines(n),
        })),
        total: list.total,
        pageNo: list.page,
        pages: list.pages,
        prev: list.page > 1 ? `/notices?${params(list.page - 1)}` : null,
        next: list.page < list.pages ? `/notices?${params(list.page + 1)}` : null,
        back: `/notices?${params(list.page)}`,
        ack,
      },
      status === 200 && filterErrors.length ? 422 : status,
    );
  }

  router.get("/notices", async (req, res) => {
    await showNotices(req, res);
  });

  /** 批量签收: the ticked notices, each acknowledged as one would be. */
  router.post("/notices/ack", async (req, res) => {
    assertCsrf(req);
    const body = formOf(req);
    const back = typeof body.back === "string" && body.back.startsWith("/notices?") ? body.back : "/notices";
    try {
      const rows = await acknowledgeMany(strs(body, "ids"), actorOf(res)!, deps.clock);
      Object.defineProperty(req, "query", { value: Object.fromEntries(new URLSearchParams(back.slice(back.indexOf("?") + 1))) });
      await showNotices(req, res, { rows });
    } catch (e) {
      const { status, errors } = refusal(e);
      await showNotices(req, res, { error: errors.ids ?? errors._form }, status);
    }
  });

  router.post("/notices/:id/ack", async (req, res) => {
    assertCsrf(req);
    await acknowledge(String(req.params.id), actorOf(res)!, deps.clock);
    const asked = safePath(req.body?.back, "/notices");
    const back = asked.startsWith("/notices") ? asked : "/notices";
    res.redirect(303, back);
  });

  /** 通知 › 晨报: the morning digests the actor may see (GET /api/digests's query and function). */
  router.get("/notices/digests", async (req, res) => {
    const actor = actorOf(res)!;
    const { query: q, errors: filterErrors } = pageQuery(digestQuery, req.query as Record<string, unknown>);
    const list = await pageDigests(actor, { day: q.day }, { page: q.page, pageSize: q.pageSize });
    const { pages } = list;
    const link = (p: number) => `/notices/digests?${new URLSearchParams({ ...(q.day ? { day: q.day } : {}), page: String(p) })}`;
    const KINDS: Record<string, string> = { unit: "单位", office: "整改办", leader: "领导" };
    render(
      req,
      res,
      "digests",
      {
        title: "晨报（每日待办汇总）",
        q,
        filterErrors,
        items: list.items.map((d) => ({
          ...d,
          who: `${d.recipient.name}${d.recipient.kind !== "office" ? `（${KINDS[d.recipient.kind] ?? d.recipient.kind}）` : ""}`,
          listed: d.sections.map((s) => ({ label: s.label, total: s.total, none: s.total === 0 })),
          channels: d.deliveries.map((x) => ({ label: channelLabel(x.channel), ...deliveryState(x) })),
        })),
        total: list.total,
        pageNo: list.page,
        pages,
        prev: list.page > 1 ? link(list.page - 1) : null,
        next: list.page < pages ? link(list.page + 1) : null,
      },
      filterErrors.length ? 422 : 200,
    );
  });

  router.get("/notices/:id/print", async (req, res) => {
    const notice = await getNotice(String(req.params.id), actorOf(res)!);
    const html = await renderNoticeDocument(notice, { receipt: req.query.receipt !== "0", back: `/cases/${notice.caseId}` });
    res.type("html").send(html);
  });

  return router;
}
