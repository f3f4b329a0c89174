/** The scorecard and the monthly bulletin as JSON (units: their own figures only). */
import { z } from "zod";
import type { Clock } from "../../clock.ts";
import { scorecard } from "../../notices/scorecard.ts";
import { qs, qsDate, type Api } from "../api.ts";
import { periodOf, unitNames } from "../pages/reports.ts";

const scoreQuery = z.strictObject({ from: qsDate("from").optional(), to: qsDate("to").optional(), unit: qs("unit").optional() });

export function reportRoutes(api: Api, deps: { clock: Clock }) {
  api.add({
    method: "get",
    path: "/scorecard",
    tag: "reports",
    summary: "考评：各单位扣分、各级通知数、应专函督办的季度及每一分对应的通知和案件（单位只看到本单位）",
    query: scoreQuery,
    returns: "{from, to, units: [{unitId, unitName, points, counts, cases, specialLetters, lines}]}",
    async handle({ actor, query }) {
      const { from, to } = periodOf(query, deps.clock.now());
      const unit = actor.role === "unit_user" ? (actor.unitId ?? "-") : query.unit;
      const [scores, names] = await Promise.all([scorecard(from, to, unit), unitNames()]);
      return { from, to, units: scores.map((s) => ({ ...s, unitName: names.get(s.unitId) ?? s.unitId })) };
    },
  });
}
