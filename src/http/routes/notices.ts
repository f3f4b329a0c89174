/** Notice routes: the inbox (units see their own), receipts, the printable document. */
import { z } from "zod";
import { LEVELS } from "../../../workflows/index.ts";
import type { Clock } from "../../clock.ts";
import { acknowledge, getNotice, listNotices, markRead } from "../../notices/inbox.ts";
import { renderNoticeDocument } from "../../notices/render.ts";
import { qs, type Api } from "../api.ts";
import { presentNotice } from "../present.ts";

const noticeQuery = z.strictObject({
  unit: qs("unit").optional(),
  state: z.enum(["unread", "read", "acknowledged"], { error: "参数 state 应为 unread、read 或 acknowledged" }).optional(),
  level: z.enum(LEVELS, { error: "参数 level 不正确" }).optional(),
  inbox: z.enum(["office"], { error: "参数 inbox 只能为 office（整改办收文）" }).optional(),
});

export function noticeRoutes(api: Api, deps: { clock: Clock }) {
  const { clock } = deps;
  api.add({
    method: "get",
    path: "/notices",
    tag: "notices",
    summary: "通知列表（单位只看到发给本单位的通知；inbox=office：整改办收文）",
    query: noticeQuery,
    returns: "{items}",
    async handle({ actor, query }) {
      const items = await listNotices(actor, { unitId: query.unit, state: query.state, level: query.level, officeInbox: query.inbox === "office" });
      return { items: items.map(presentNotice) };
    },
  });

  api.add({
    method: "get",
    path: "/notices/:id",
    tag: "notices",
    summary: "通知详情",
    returns: "the notice",
    async handle({ actor, params }) {
      return presentNotice(await getNotice(params.id!, actor));
    },
  });

  api.add({
    method: "get",
    path: "/notices/:id/document",
    tag: "notices",
    summary: "通知文书（可打印的 HTML，A4）",
    returns: "text/html",
    async handle({ res, actor, params }) {
      const html = await renderNoticeDocument(await getNotice(params.id!, actor));
      res.type("html").send(html);
      return undefined;
    },
  });

  for (const [path, summary, mark] of [
    ["/notices/:id/read", "标记已读（收文单位）", markRead],
    ["/notices/:id/ack", "签收确认（收文单位）", acknowledge],
  ] as const) {
    api.add({
      method: "post",
      path,
      tag: "notices",
      summary,
      // Receipts are the addressee's: a unit for its inbox, the office's staff for the office's inbox;
      // leaders read notices without leaving one.
      roles: ["unit_user", "office_admin", "office_staff"],
      returns: "the notice with its receipts",
      async handle({ actor, params }) {
        return presentNotice(await mark(params.id!, actor, clock));
      },
    });
  }
}
