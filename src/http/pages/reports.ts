/**
 * The 考评 and 通报 pages: the scorecard with every figure linked to the notices and cases behind
 * it, and the monthly bulletin. Office and leaders see every unit; a unit sees its own figures only.
 * They read through the same functions as the API (src/notices/scorecard.ts, src/notices/bulletin.ts).
 */
import express, { type NextFunction, type Request, type Response } from "express";
import { LEVEL_LABELS, LEVELS, NO_UNIT, ROLE_LABELS, dutyOf, isOfficeRole, shanghaiDate, unitScope, type Actor, type CaseKind, type Level } from "../../../workflows/index.ts";
import type { Clock } from "../../clock.ts";
import { unitNames } from "../../directory.ts";
import { AppError, forbidden } from "../../errors.ts";
import { CASE_FIGURES, FIGURE_DEFINITIONS, FIGURE_LABELS, isMonth, lastMonth, monthText, unitLevels, type CaseFigure } from "../../notices/bulletin.ts";
import { issueBulletin, issuesOfYear, readBulletin, readTrace, type TraceFigure, type TracedNotice, type Which } from "../../notices/bulletins.ts";
import { cachedRules } from "../../notices/rules.ts";
import { levelPointsText, quarterLabel, scorecard, scoringRules } from "../../notices/scorecard.ts";
import { periodOf } from "../api.ts";
import { assertCsrf, csrfToken } from "../auth.ts";

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

  /** Which bulletin a page asks for: ?issue=<id>, else ?month= (its current issue, or with draft=true its live draft). */
  const whichOf = (q: Record<string, unknown>): Which => ({ month: monthOf(q), issue: one(q.issue), draft: one(q.draft) === "true" });

  /**
   * The 通报 as a printable page. An issued one renders its stored snapshot, and nothing on it depends on
   * who reads it beyond their role, nor on when: no clock, no name, no form token (a reprint is the same
   * bytes). A draft shows live figures marked 草稿, and gives the office its 发布 form.
   */
  async function showBulletin(req: Request, res: Response, which: Which, form?: { error: string; values: Record<string, string> }, status = 200) {
    const actor = actorOf(res)!;
    const now = deps.clock.now();
    const view = await readBulletin(actor, which, now);
    const month = view.month;
    const issue = view.issue;
    const at: Record<string, string> = issue ? { issue: issue.id } : { month, draft: "true" };
    const trace = (unit: string, figure: string, level?: string) => `/bulletin/trace?${new URLSearchParams({ ...at, unit, figure, ...(level ? { level } : {}) })}`;
    const scoreLink = (unit: string, level?: string) =>
      `/scorecard?${new URLSearchParams({ from: view.from, to: view.to, unit, ...(level ? { level } : {}) })}#lines`;
    // An issue's notices are its stored list; a draft's are the scorecard's.
    const noticeLink = (unit: string, level?: string) => (issue ? trace(unit, "notices", level) : scoreLink(unit, level));
    const year = /^20\d{2}$/.test(one(req.query.year) ?? "") ? one(req.query.year)! : (issue?.year ?? shanghaiDate(now).slice(0, 4));
    const isOffice = isOfficeRole(actor.role);
    const current = view.issues.at(-1) ?? null;
    res.status(status).render("pages/bulletin", {
      layout: false,
      ...view,
      issue: issue && { ...issue, dateText: `${issue.issuedOn.slice(0, 4)}年${Number(issue.issuedOn.slice(5, 7))}月${Number(issue.issuedOn.slice(8, 10))}日` },
      title: `${view.monthText}整改工作情况通报${issue?.corrects ? "（更正）" : ""}`,
      levelLabels: view.levels.map((l) => LEVEL_LABELS[l]),
      rows: view.rows.map((r) => ({
        ...r,
        links: { held: trace(r.unitId, "held"), closed: trace(r.unitId, "closed"), closedOnTime: trace(r.unitId, "closedOnTime"), longTerm: trace(r.unitId, "longTerm"), overdue: trace(r.unitId, "overdue"), points: noticeLink(r.unitId) },
        levelCells: view.levels.map((l) => ({ n: r.notices[l] ?? 0, link: noticeLink(r.unitId, l) })),
      })),
      totalLevels: view.levels.map((l) => view.totals.notices[l] ?? 0),
      xlsx: `/api/exports/bulletin.xlsx?${new URLSearchParams(at)}`,
      definitions: FIGURE_DEFINITIONS,
      isUnit: actor.role === "unit_user",
      year,
      yearIssues: await issuesOfYear(year),
      // The office: from an issue to the live figures (to check, then correct); from a draft, 发布 or 更正.
      liveLink: isOffice && issue && !issue.correctedBy ? `/bulletin?month=${month}&draft=true` : null,
      issueForm:
        isOffice && !issue
          ? { month, corrects: current, error: form?.error ?? null, note: form?.values.note ?? "", finished: month < shanghaiDate(now).slice(0, 7), csrf: csrfToken(req) }
          : null,
      current: !issue && current ? current : null,
    });
  }

  router.get("/bulletin", async (req, res) => {
    await showBulletin(req, res, whichOf(req.query as Record<string, unknown>));
  });

  router.post("/bulletin/issue", async (req, res) => {
    assertCsrf(req);
    const actor = actorOf(res)!;
    if (!isOfficeRole(actor.role)) throw forbidden("只有整改办可以发布通报");
    const body = (req.body && typeof req.body === "object" ? req.body : {}) as Record<string, unknown>;
    const values = { month: one(body.month) ?? "", corrects: one(body.corrects) ?? "", note: one(body.note) ?? "" };
    const month = isMonth(values.month) ? values.month : lastMonth(deps.clock.now());
    try {
      if (one(body.confirm) !== "on") throw new AppError(422, "not_confirmed", "请先勾选“已核对”再发布：发布后数字不再随台账变化");
      const issued = await issueBulletin({ month: values.month, ...(values.corrects ? { corrects: values.corrects, note: values.note } : {}) }, actor, deps.clock.now());
      res.redirect(303, `/bulletin?issue=${issued.id}`);
    } catch (e) {
      if (!(e instanceof AppError) || e.status >= 500 || e.status === 404) throw e;
      await showBulletin(req, res, { month, draft: true }, { error: e.message, values }, e.status);
    }
  });

  router.get("/bulletin/trace", async (req, res) => {
    const actor = actorOf(res)!;
    const q = req.query as Record<string, unknown>;
    const which = whichOf(q);
    const figure = one(q.figure);
    if (!figure || !([...CASE_FIGURES, "notices"] as string[]).includes(figure))
      throw new AppError(422, "invalid_fields", `指标应为 ${[...CASE_FIGURES, "notices"].join("、")} 之一`, { fields: [{ field: "figure", message: "指标不正确" }] });
    const level = one(q.level);
    if (level !== undefined && !(LEVELS as readonly string[]).includes(level)) throw new AppError(422, "invalid_fields", "通知级别不正确", { fields: [{ field: "level", message: "通知级别不正确" }] });
    // A unit traces its own figures only: another unit's id shows nothing of it.
    const unit = unitScope(actor, one(q.unit)) ?? NO_UNIT;
    const [t, names] = await Promise.all([readTrace(which, unit, figure as TraceFigure, deps.clock.now()), unitNames()]);
    const isNotices = figure === "notices";
    const label = isNotices ? `预警督办通知${level ? `（${LEVEL_LABELS[level as Level]}）` : ""}` : FIGURE_LABELS[figure as CaseFigure];
    page(req, res, "bulletin-trace", {
      title: "通报明细",
      month: t.month,
      monthText: monthText(t.month),
      back: t.issue ? `/bulletin?issue=${t.issue.id}` : `/bulletin?month=${t.month}&draft=true`,
      issue: t.issue,
      unitName: names.get(unit) ?? "—",
      figureLabel: label,
      definition: isNotices ? (FIGURE_DEFINITIONS.find(([n]) => n === "各级通知")?.[1] ?? "") : (FIGURE_DEFINITIONS.find(([n]) => n === label)?.[1] ?? ""),
      isNotices,
      cases: isNotices ? null : t.items,
      notices: isNotices
        ? (t.items as TracedNotice[]).filter((n) => !level || n.level === level).map((n) => ({ ...n, levelLabel: LEVEL_LABELS[n.level as Level] ?? n.level }))
        : null,
    });
  });

  return router;
}
