/** Notice routes: the inbox (units see their own), receipts, the printable document. */
import { z } from "zod";
import { LEVELS } from "../../../workflows/index.ts";
import type { Clock } from "../../clock.ts";
import { NOTICE_SORTS, NOTICE_STATES, acknowledge, acknowledgeMany, getNotice, markRead, pageNotices } from "../../notices/inbox.ts";
import { pageDigests } from "../../notices/digest.ts";
import { renderNoticeDocument } from "../../notices/render.ts";
import { qs, qsDate, qsInt, type Api } from "../api.ts";
import { noticeIdParam, ref } from "../contract.ts";
import { presentNotice } from "../present.ts";

/** The 通知 list's query: filters, then the paging contract of GET /api/cases. */
export const noticeQuery = z
  .strictObject({
    unit: qs("unit").optional(),
    state: z.enum(NOTICE_STATES, { error: `参数 state 应为：${NOTICE_STATES.join("、")}` }).optional(),
    level: z.enum(LEVELS, { error: "参数 level 不正确" }).optional(),
    inbox: z.enum(["office"], { error: "参数 inbox 只能为 office（整改办收文）" }).optional(),
    from: qsDate("from").optional(),
    to: qsDate("to").optional(),
    page: qsInt("page", 1, 100_000).default(1),
    pageSize: qsInt("pageSize", 1, 100).default(20),
    sort: z.enum(NOTICE_SORTS, { error: `参数 sort 应为：${NOTICE_SORTS.join("、")}` }).default("-issuedAt"),
  })
  .refine((q) => !q.from || !q.to || q.from <= q.to, { error: "起始日期不能晚于截止日期", path: ["from"] });

/** The 晨报 list's query. */
export const digestQuery = z.strictObject({
  day: qsDate("day").optional(),
  page: qsInt("page", 1, 100_000).default(1),
  pageSize: qsInt("pageSize", 1, 100).default(20),
});

const ackBody = z.strictObject({ ids: z.array(z.string().max(200), { error: "ids 应为通知编号的数组" }).min(1, { error: "请先勾选要签收的通知" }).max(200, { error: "一次最多签收 200 件" }) });

export function noticeRoutes(api: Api, deps: { clock: Clock }) {
  const { clock } = deps;
  api.add({
    method: "get",
    path: "/notices",
    tag: "notices",
    summary: "通知列表（单位只看到发给本单位的通知；inbox=office：整改办收文）：按类别、签收状态、单位、发出日期筛选，分页，按时间或严重程度排序",
    query: noticeQuery,
    returns: "{items, total, page, pages, pageSize}：page 超过最后一页时 items 为空，total 与 pages 照实",
    response: { schema: ref("NoticeList") },
    async handle({ actor, query }) {
      const { page, pageSize, sort, unit, inbox, ...f } = query;
      const r = await pageNotices(actor, { ...f, unitId: unit, officeInbox: inbox === "office" }, { page, pageSize, sort }, { pastEnd: "empty" });
      return { items: r.items.map(presentNotice), total: r.total, page: r.page, pages: r.pages, pageSize: r.pageSize };
    },
  });

  api.add({
    method: "get",
    path: "/digests",
    tag: "notices",
    summary: "晨间汇总（晨报）列表：整改办看全部，单位只看本单位的，领导只看自己的；每条列出接收方、日期、生成时间、各项件数和各渠道的投递状态",
    query: digestQuery,
    returns: "{items, total, page, pages, pageSize}：page 超过最后一页时 items 为空，total 与 pages 照实",
    response: { schema: ref("DigestList") },
    async handle({ actor, query }) {
      const { page, pageSize, day } = query;
      return pageDigests(actor, { day }, { page, pageSize }, "empty");
    },
  });

  api.add({
    method: "post",
    path: "/notices/ack",
    tag: "notices",
    summary: "批量签收通知（收文单位；整改办工作人员签收整改办收文）：逐件签收，结果列出每件是否成功及原因",
    roles: ["unit_user", "office_admin", "office_staff"],
    body: ackBody,
    returns: "{items: [{id, ok, message}]}",
    response: { schema: ref("Receipts") },
    async handle({ actor, body }) {
      return { items: await acknowledgeMany(body.ids, actor, clock) };
    },
  });

  api.add({
    method: "get",
    path: "/notices/:id",
    tag: "notices",
    summary: "通知详情",
    params: { id: noticeIdParam },
    returns: "the notice",
    response: { schema: ref("Notice") },
    async handle({ actor, params }) {
      return presentNotice(await getNotice(params.id!, actor));
    },
  });

  api.add({
    method: "get",
    path: "/notices/:id/document",
    tag: "notices",
    summary: "通知文书（可打印的 HTML，A4）",
    params: { id: noticeIdParam },
    returns: "text/html",
    response: { types: ["text/html"] },
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
      params: { id: noticeIdParam },
      returns: "the notice with its receipts",
      response: { schema: ref("Notice") },
      async handle({ actor, params }) {
        return presentNotice(await mark(params.id!, actor, clock));
      },
    });
  }
}
