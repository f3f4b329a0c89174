/** The scorecard and the monthly bulletin as JSON (units: their own figures only). */
import { z } from "zod";
import type { Clock } from "../../clock.ts";
import { scorecard } from "../../notices/scorecard.ts";
import { periodOf, qs, qsDate, type Api } from "../api.ts";
import { ref } from "../contract.ts";
import { download } from "./io.ts";
import { NO_UNIT, shanghaiDate, unitScope } from "../../../workflows/index.ts";
import { unitNames } from "../../directory.ts";
import { XLSX_TYPE, writeBulletinXlsx } from "../../io/export.ts";
import { CASE_FIGURES, bulletinCases, bulletinFor, lastMonth, MONTH } from "../../notices/bulletin.ts";

const scoreQuery = z.strictObject({ from: qsDate("from").optional(), to: qsDate("to").optional(), unit: qs("unit").optional() });
const month = z.string({ error: "参数 month 只能出现一次" }).regex(MONTH, { error: "参数 month 应为 YYYY-MM，如 2026-07" });
const bulletinQuery = z.strictObject({ month: month.optional() });
const traceQuery = z.strictObject({
  month: month.optional(),
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
    summary: "月度通报（默认上月）：各单位承办、办结、按期办结、超期、各级通知、扣分、排名及综述；单位只看到本单位一行、名次和全市合计",
    query: bulletinQuery,
    returns: "{month, from, to, cutoff, units, rows, totals, levels, summary}",
    response: { schema: ref("Bulletin") },
    async handle({ actor, query }) {
      const now = deps.clock.now();
      return bulletinFor(actor, query.month ?? lastMonth(now), now);
    },
  });

  api.add({
    method: "get",
    path: "/bulletin/cases",
    tag: "reports",
    summary: "通报某单位某项数字对应的案件（单位只能查本单位）",
    query: traceQuery,
    returns: "{items: [{id, ledgerNumber, title, state, deadline, closedOn}]}",
    response: { schema: ref("TracedCases") },
    async handle({ actor, query }) {
      const now = deps.clock.now();
      const unit = unitScope(actor, query.unit) ?? NO_UNIT;
      return { items: await bulletinCases(query.month ?? lastMonth(now), now, unit, query.figure) };
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
    async handle({ res, actor, query }) {
      const now = deps.clock.now();
      const m = query.month ?? lastMonth(now);
      download(res, `整改工作通报-${m}.xlsx`);
      await writeBulletinXlsx(res, actor, m, now);
      return undefined;
    },
  });
}
