/** The scorecard and the monthly bulletin as JSON (units: their own figures only). */
import { z } from "zod";
import type { Clock } from "../../clock.ts";
import { scorecard } from "../../notices/scorecard.ts";
import { periodOf, qs, qsDate, type Api } from "../api.ts";
import { ref } from "../contract.ts";
import { download } from "./io.ts";
import { NO_UNIT, shanghaiDate, unitScope } from "../../../workflows/index.ts";
import { unitNames } from "../../directory.ts";
import { writeBulletinXlsx } from "../../io/export/bulletin.ts";
import { XLSX_TYPE } from "../../io/export/workbook.ts";
import { CASE_FIGURES, lastMonth, MONTH } from "../../notices/bulletin.ts";
import { issueBulletin, issueSchema, issuesOfYear, readBulletin, readTrace } from "../../notices/bulletins.ts";
import { OFFICE, qsBool } from "../api.ts";

const scoreQuery = z.strictObject({ from: qsDate("from").optional(), to: qsDate("to").optional(), unit: qs("unit").optional() });
const month = z.string({ error: "参数 month 只能出现一次" }).regex(MONTH, { error: "参数 month 应为 YYYY-MM，如 2026-07" });
/** Which bulletin: an issue by id, else the month's current issue, else (or with draft=true) the live draft. */
const which = {
  month: month.optional(),
  issue: z.string({ error: "参数 issue 只能出现一次" }).regex(/^[0-9a-f]{24}$/, { error: "参数 issue 应为通报编号（24 位十六进制）" }).optional(),
  draft: qsBool("draft").optional(),
};
const bulletinQuery = z.strictObject(which);
const yearQuery = z.strictObject({ year: z.string({ error: "参数 year 只能出现一次" }).regex(/^20\d{2}$/, { error: "参数 year 应为四位年份，如 2026" }).optional() });
const traceQuery = z.strictObject({
  ...which,
  unit: qs("unit").optional(),
  figure: z.enum(CASE_FIGURES, { error: `参数 figure 应为 ${CASE_FIGURES.join("、")} 之一` }),
});

export function reportRoutes(api: Api, deps: { clock: Clock }) {
  api.add({
    method: "get",
    path: "/scorecard",
    tag: "reports",
    summary: "考评：各单位扣分、各级通知数、应专函督办的季度及每一分对应的通知和案件（单位只看到本单位）",
    query: scoreQuery,
    returns: "{from, to, units: [{unitId, unitName, points, counts, cases, specialLetters, lines}]}",
    response: { schema: ref("Scorecard") },
    async handle({ actor, query }) {
      const { from, to } = periodOf(query, shanghaiDate(deps.clock.now()));
      const unit = unitScope(actor, query.unit);
      const [scores, names] = await Promise.all([scorecard(from, to, unit), unitNames()]);
      return { from, to, units: scores.map((s) => ({ ...s, unitName: names.get(s.unitId) ?? s.unitId })) };
    },
  });

  api.add({
    method: "get",
    path: "/bulletin",
    tag: "reports",
    summary:
      "月度通报（默认上月）：已发布的读发布时保存的数字（issue 为其期号、发文机关和日期），未发布的为实时草稿（issue 为 null）；单位只看到本单位一行、名次和全市合计",
    query: bulletinQuery,
    returns: "{month, from, to, cutoff, units, rows, totals, levels, summary, issue, issues}",
    response: { schema: ref("Bulletin") },
    errors: { 404: "没有该期通报（issue 不是已发布通报的编号）" },
    async handle({ actor, query }) {
      const now = deps.clock.now();
      return readBulletin(actor, { ...query, month: query.month ?? lastMonth(now) }, now);
    },
  });

  api.add({
    method: "get",
    path: "/bulletin/cases",
    tag: "reports",
    summary: "通报某单位某项数字对应的案件：已发布的为发布时的名单，草稿为实时名单（单位只能查本单位）",
    query: traceQuery,
    returns: "{items: [{id, ledgerNumber, title, state, deadline, closedOn}]}",
    response: { schema: ref("TracedCases") },
    errors: { 404: "没有该期通报（issue 不是已发布通报的编号）" },
    async handle({ actor, query }) {
      const now = deps.clock.now();
      const unit = unitScope(actor, query.unit) ?? NO_UNIT;
      const { items } = await readTrace({ ...query, month: query.month ?? lastMonth(now) }, unit, query.figure, now);
      return { items };
    },
  });

  api.add({
    method: "get",
    path: "/exports/bulletin.xlsx",
    tag: "reports",
    summary: "导出月度通报（Excel，与打印版同样版式，另附案件明细和通知明细；单位只含本单位）",
    query: bulletinQuery,
    returns: "an .xlsx file",
    response: { types: [XLSX_TYPE] },
    errors: { 404: "没有该期通报（issue 不是已发布通报的编号）" },
    async handle({ res, actor, query }) {
      const now = deps.clock.now();
      const b = await readBulletin(actor, { ...query, month: query.month ?? lastMonth(now) }, now);
      download(res, `整改工作通报-${b.month}${b.issue ? `-${b.issue.year}年第${b.issue.number}期` : "-草稿"}.xlsx`);
      await writeBulletinXlsx(res, b, now);
      return undefined;
    },
  });

  api.add({
    method: "get",
    path: "/bulletins",
    tag: "reports",
    summary: "某年（默认今年）发布的月度通报：期号、所属月份、发文机关、日期、更正关系",
    query: yearQuery,
    returns: "{year, items: [{id, month, year, number, label, issuedOn, issuer, signer, corrects, correctedBy, note}]}",
    response: { schema: ref("BulletinIssues") },
    async handle({ query }) {
      const year = query.year ?? shanghaiDate(deps.clock.now()).slice(0, 4);
      return { year, items: await issuesOfYear(year) };
    },
  });

  api.add({
    method: "post",
    path: "/bulletins",
    tag: "reports",
    summary:
      "发布月度通报（整改办）：编第N期（按发布年度顺编）、记发文机关和日期，冻结各项数字及其案件、通知名单；同一月份已发布的不能再发布，只能发布更正（corrects 为被更正的最新一期，note 为更正说明）",
    roles: OFFICE,
    body: issueSchema,
    status: 201,
    returns: "{id, month, year, number, label, issuedOn, issuer, signer, corrects, correctedBy, note}",
    response: { schema: ref("BulletinIssue") },
    errors: { 409: "该月尚未结束、该月通报已发布（更正须针对该月最新一期），或他人同时发布了", 422: "月份格式不对、更正未写说明" },
    async handle({ actor, body }) {
      return issueBulletin(body, actor, deps.clock.now());
    },
  });
}
