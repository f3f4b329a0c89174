/**
 * The web pages (server-rendered handlebars, Chinese): sign-in, the 首页, and the routers of the
 * 台账 and cases, the import and the notices. Pages read through the same services and queries as
 * the API and ask the machine what a user may do; they hold no workflow rule. Forms post back with
 * the session's CSRF token and follow post/redirect/get.
 */
import express from "express";
import { KIND_LABELS, LEVEL_LABELS, eventLabel, isOfficeRole, percentText, shanghaiDate, stateLabel, unitScope, type CaseKind, type Level } from "../../../workflows/index.ts";
import type { Clock } from "../../clock.ts";
import { caseStats, lifecycleOrder, listCases, monthlyTrend, openCasesOf, trafficLight, unitFigures } from "../../cases/queries.ts";
import type { CaseService } from "../../cases/service.ts";
import { unitNames } from "../../directory.ts";
import { AppError } from "../../errors.ts";
import type { ImportLimits } from "../../io/rows.ts";
import { listNotices } from "../../notices/inbox.ts";
import { officeQueue } from "../../notices/office-queue.ts";
import { scorecard } from "../../notices/scorecard.ts";
import { assertCsrf, type Login } from "../auth.ts";
import { caseRow, casePages } from "./cases.ts";
import type { Verifier } from "../../ledger/note.ts";
import { importPages } from "./imports.ts";
import { noticePages } from "./notices.ts";
import { actorOf, render, requireActor, safePath } from "./render.ts";

export interface PageDeps {
  service: CaseService;
  clock: Clock;
  login: Login;
  maxUploadBytes: number;
  importLimits: ImportLimits;
  /** Checkpoint verifier keys: with them the case page marks entries 已存证 (docs/ledger.md). */
  ledgerVerifiers?: Verifier[];
  /** The ledger directory, when this process can read it: proofs then come from the leaf hashes signed there. */
  ledgerDir?: string;
}

export function pageRouter(deps: PageDeps): express.Router {
  const { service, clock } = deps;
  const router = express.Router();

  router.get("/login", (req, res) => {
    if (actorOf(res)) return res.redirect("/");
    render(req, res, "login", { title: "登录", next: safePath(req.query.next) });
  });
  router.post("/login", async (req, res) => {
    assertCsrf(req);
    const next = safePath(req.body.next);
    try {
      await deps.login.login(req, { username: req.body.username, password: req.body.password });
      res.redirect(303, next);
    } catch (e) {
      if (!(e instanceof AppError) || e.status >= 500) throw e;
      render(req, res, "login", { title: "登录", next, error: e.message, username: typeof req.body.username === "string" ? req.body.username : "" }, e.status === 429 ? 429 : 401);
    }
  });
  router.post("/logout", async (req, res) => {
    await deps.login.logout(req);
    res.clearCookie("rf.sid").redirect(303, "/login");
  });

  router.use(requireActor);

  router.get("/", async (req, res) => {
    const actor = actorOf(res)!;
    const now = clock.now();
    const year = shanghaiDate(now).slice(0, 4);
    const unit = actor.role === "unit_user";
    const period = { from: `${year}-01-01`, to: `${year}-12-31` };
    // Everything the page shows is asked at once: each is one query or aggregation.
    // The office's own steps falling due (the leader reads them too); a unit's unacknowledged notices, and the staff's reminders.
    const [names, stats, overdue, behind, scores, trend, figures, open, unread, officeSteps] = await Promise.all([
      unitNames(),
      caseStats(actor, period, now),
      listCases(actor, { overdue: true }, { page: 1, pageSize: 10, sort: "deadline" }, now),
      listCases(actor, { behindSchedule: true }, { page: 1, pageSize: 10, sort: "deadline" }, now),
      scorecard(period.from, period.to, unitScope(actor)),
      monthlyTrend(actor, now),
      unit ? Promise.resolve([]) : unitFigures(now),
      unit ? openCasesOf(actor) : Promise.resolve([]),
      unit ? listNotices(actor, { state: "unacknowledged" }) : isOfficeRole(actor.role) ? listNotices(actor, { officeInbox: true, state: "unacknowledged" }, 50) : Promise.resolve([]),
      unit ? Promise.resolve([]) : officeQueue(now),
    ]);
    const byState = statesInOrder(stats.byState);
    const pending = open
      .map((c) => ({ c, events: service.allowedEvents(c, actor) }))
      .filter((x) => x.events.length)
      .map((x) => ({ ...caseRow({ ...x.c, light: trafficLight(x.c, now, new Set()) }, names), actions: x.events.map(eventLabel).join("、") }));
    const points = new Map(scores.map((s) => [s.unitId, s.points]));
    const units = figures
      .map((r) => ({ id: r.unitId, name: names.get(r.unitId) ?? r.unitId, ...r, rate: percentText(r.onTime, r.closed - r.longTerm), points: points.get(r.unitId) ?? 0 }))
      .sort((a, b) => b.overdue - a.overdue || a.points - b.points);
    const chart = {
      // "2026-10" → "10月"; January carries its year, so the twelve months read unambiguously.
      months: trend.months.map((m) => (m.endsWith("-01") ? `${m.slice(0, 4)}年1月` : `${Number(m.slice(5))}月`)),
      created: trend.created,
      closed: trend.closed,
      states: byState.map((s) => ({ name: `${s.kindKey === "complaint" ? "信访·" : ""}${s.state}`, value: s.n })),
    };
    render(req, res, "dashboard", {
      title: "首页",
      stats,
      byState,
      overdue: overdue.items.map((c) => caseRow(c, names)),
      overdueTotal: overdue.total,
      behind: behind.items.map((c) => caseRow(c, names)),
      behindTotal: behind.total,
      pending,
      unread: unread.map((n) => ({ ...n, levelLabel: LEVEL_LABELS[n.level as Level] })),
      officeSteps,
      officeLate: officeSteps.reduce((n, s) => n + s.items.filter((i) => i.overdue).length, 0),
      units,
      myScore: unit ? (scores[0]?.points ?? 0) : null,
      chart: JSON.stringify(chart),
      year,
    });
  });

  router.use(importPages(deps));
  router.use(casePages(deps));
  router.use(noticePages(deps));
  return router;
}

/** Counts by state in lifecycle order, inspection items first, leaving out states with none. */
function statesInOrder(byState: Record<string, number>) {
  return (["inspection", "complaint"] as const).flatMap((kind: CaseKind) =>
    lifecycleOrder(kind)
      .filter((s) => byState[`${kind}:${s}`])
      .map((s) => ({ kindKey: kind, kind: KIND_LABELS[kind], state: stateLabel(kind, s), n: byState[`${kind}:${s}`]! })),
  );
}

