/**
 * The 考评 and 通报 pages: the scorecard with every figure linked to the notices and cases behind
 * it, and the monthly bulletin. Office and leaders see every unit; a unit sees its own figures only.
 * They read through the same functions as the API (src/notices/scorecard.ts, src/notices/bulletin.ts).
 */
import express, { type NextFunction, type Request, type Response } from "express";
import { LEVEL_LABELS, LEVELS, NO_UNIT, ROLE_LABELS, dutyOf, shanghaiDate, unitScope, type Actor, type CaseKind, type Level } from "../../../workflows/index.ts";
import type { Clock } from "../../clock.ts";
import { unitNames } from "../../directory.ts";
import { AppError } from "../../errors.ts";
import { CASE_FIGURES, FIGURE_DEFINITIONS, FIGURE_LABELS, bulletinCases, bulletinFor, isMonth, lastMonth, unitLevels, type CaseFigure } from "../../notices/bulletin.ts";
import { cachedRules } from "../../notices/rules.ts";
import { levelPointsText, quarterLabel, scorecard, scoringRules } from "../../notices/scorecard.ts";
import { periodOf } from "../api.ts";
import { csrfToken } from "../auth.ts";

const actorOf = (res: Response) => res.locals.actor as Actor | undefined;

function requireActor(req: Request, res: Response, next: NextFunction) {
  if (actorOf(res)) return next();
  res.redirect(`/login?next=${encodeURIComponent(req.originalUrl)}`);
}

/** A query value as one plain string, or undefined. */
const one = (v: unknown) => (typeof v === "string" && v ? v : undefined);

export function reportPages(deps: { clock: Clock }): express.Router {
  const router = express.Router();
  router.use(["/scorecard", "/bulletin"], requireActor);

  const page = (req: Request, res: Response, view: string, data: Record<string, unknown>) => {
    const actor = actorOf(res)!;
    res.render(`pages/${view}`, {
      ...data,
      me: { ...actor, roleLabel: ROLE_LABELS[actor.role], isOffice: actor.role === "office_admin" || actor.role === "office_staff", isAdmin: actor.role === "office_admin", isUnit: actor.role === "unit_user" },
      csrf: csrfToken(req),
      path: req.path,
    });
  };

  router.get("/scorecard", async (req, res) => {
    const actor = actorOf(res)!;
    const q = req.query as Record<string, unknown>;
    const { from, to } = periodOf(q, shanghaiDate(deps.clock.now()));
    const isUnit = actor.role === "unit_user";
    // A unit's own figures only, whatever it asks for.
    const chosen = unitScope(actor, one(q.unit));
    const level = (LEVELS as readonly string[]).includes(one(q.level) ?? "") ? (one(q.level) as Level) : undefined;
    const [scores, names, levels, rules] = await Promise.all([scorecard(from, to, isUnit ? chosen : undefined), unitNames(), unitLevels(), cachedRules()]);
    const link = (params: Record<string, string | undefined>) =>
      `/scorecard?${new URLSearchParams(Object.entries({ from, to, ...params }).filter((e): e is [string, string] => e[1] !== undefined))}#lines`;
    const rows = scores.map((s, i) => ({
      rank: i,
      unitId: s.unitId,
      name: names.get(s.unitId) ?? s.unitId,
      points: s.points,
      cases: s.cases,
      casesLink: link({ unit: s.unitId }),
      counts: levels.map((l) => ({ n: s.counts[l] ?? 0, link: link({ unit: s.unitId, level: l }) })),
      letters: s.specialLetters.map((x) => ({ quarter: quarterLabel(x.quarter), link: link({ unit: s.unitId, level: "yellow" }) })),
      selected: s.unitId === chosen,
    }));
    const picked = scores.find((s) => s.unitId === chosen);
    const lines = (picked?.lines ?? [])
      .filter((l) => !level || l.level === level)
      .map((l) => ({
        ...l,
        levelLabel: LEVEL_LABELS[l.level as Level] ?? l.level,
        step: l.state ? (dutyOf(l.kind as CaseKind, l.state)?.step ?? l.state) : "—",
      }));
    page(req, res, "scorecard", {
      title: "考评",
      from,
      to,
      // Each column with what its level costs: the same rules the notices were scored by.
      levels: levels.map((l) => ({ label: LEVEL_LABELS[l], points: levelPointsText(rules, l) })),
      rows,
      rules: scoringRules(rules, levels),
      chosen: picked ? { name: names.get(picked.unitId) ?? picked.unitId, points: picked.points, level: level ? LEVEL_LABELS[level] : null } : null,
      lines,
      total: Math.round(scores.reduce((a, s) => a + s.points, 0) * 10) / 10,
      allUnits: isUnit ? [] : [...names].map(([id, name]) => ({ id, name, selected: id === chosen })),
    });
  });

  /** The month a report asks for: YYYY-MM as given (checked), or last month. */
  const monthOf = (q: Record<string, unknown>) => {
    const m = one(q.month);
    if (m === undefined) return lastMonth(deps.clock.now());
    if (!isMonth(m)) throw new AppError(422, "invalid_fields", "月份应为 YYYY-MM，如 2026-07", { fields: [{ field: "month", message: "月份应为 YYYY-MM，如 2026-07" }] });
    return m;
  };

  router.get("/bulletin", async (req, res) => {
    const actor = actorOf(res)!;
    const month = monthOf(req.query as Record<string, unknown>);
    const view = await bulletinFor(actor, month, deps.clock.now());
    const scoreLink = (unit: string, level?: string) =>
      `/scorecard?${new URLSearchParams({ from: view.from, to: view.to, unit, ...(level ? { level } : {}) })}#lines`;
    const trace = (unit: string, figure: string) => `/bulletin/trace?${new URLSearchParams({ month, unit, figure })}`;
    res.render("pages/bulletin", {
      layout: false,
      ...view,
      title: `${view.monthText}整改工作情况通报`,
      levelLabels: view.levels.map((l) => LEVEL_LABELS[l]),
      rows: view.rows.map((r) => ({
        ...r,
        links: { held: trace(r.unitId, "held"), closed: trace(r.unitId, "closed"), closedOnTime: trace(r.unitId, "closedOnTime"), longTerm: trace(r.unitId, "longTerm"), overdue: trace(r.unitId, "overdue"), points: scoreLink(r.unitId) },
        levelCells: view.levels.map((l) => ({ n: r.notices[l] ?? 0, link: scoreLink(r.unitId, l) })),
      })),
      totalLevels: view.levels.map((l) => view.totals.notices[l] ?? 0),
      xlsx: `/api/exports/bulletin.xlsx?month=${month}`,
      definitions: FIGURE_DEFINITIONS,
      isUnit: actor.role === "unit_user",
    });
  });

  router.get("/bulletin/trace", async (req, res) => {
    const actor = actorOf(res)!;
    const q = req.query as Record<string, unknown>;
    const month = monthOf(q);
    const figure = one(q.figure);
    if (!figure || !(CASE_FIGURES as readonly string[]).includes(figure))
      throw new AppError(422, "invalid_fields", `指标应为 ${CASE_FIGURES.join("、")} 之一`, { fields: [{ field: "figure", message: "指标不正确" }] });
    // A unit traces its own figures only: another unit's id shows nothing of it.
    const unit = unitScope(actor, one(q.unit)) ?? NO_UNIT;
    const [cases, names] = await Promise.all([bulletinCases(month, deps.clock.now(), unit, figure as CaseFigure), unitNames()]);
    page(req, res, "bulletin-trace", {
      title: "通报明细",
      month,
      monthText: `${month.slice(0, 4)}年${Number(month.slice(5, 7))}月`,
      unitName: names.get(unit) ?? "—",
      figureLabel: FIGURE_LABELS[figure as CaseFigure],
      definition: FIGURE_DEFINITIONS.find(([n]) => n === FIGURE_LABELS[figure as CaseFigure])?.[1] ?? "",
      cases,
    });
  });

  return router;
}
