/**
 * The web pages (server-rendered handlebars, Chinese): sign-in, the 首页, and the routers of the
 * 台账 and cases, the import and the notices. Pages read through the same services and queries as
 * the API and ask the machine what a user may do; they hold no workflow rule. Forms post back with
 * the session's CSRF token and follow post/redirect/get.
 */
import express from "express";
import { KIND_LABELS, LEVEL_LABELS, eventLabel, isOfficeRole, percentText, shanghaiDate, stateLabel, unitScope, type Actor, type CaseKind, type Level } from "../../../workflows/index.ts";
import type { Clock } from "../../clock.ts";
import { calendarGaps, loadCalendar } from "../../calendar/workdays.ts";
import { lifecycleOrder, listCases, openCasesOf, trafficLight } from "../../cases/queries.ts";
import { caseStats, monthlyTrend, unitFigures } from "../../cases/stats.ts";
import {
  WAITING_SORT,
  awaitingCountQuery,
  arrivalReasons,
  byUrgency,
  daysWaiting,
  supervisionCounts,
  waitingSince,
  withReminders,
  workLists,
  type Awaiting,
  type Reminder,
} from "../../cases/worklists.ts";
import { leaderDesk, leaderInstructions, openInstructions, type InstructionThread } from "../../cases/leader.ts";
import { issuesOfYear, readBulletin } from "../../notices/bulletins.ts";
import { daysPhrase } from "../../notices/texts.ts";
import type { CaseService } from "../../cases/service.ts";
import { unitNames } from "../../directory.ts";
import { AppError } from "../../errors.ts";
import type { ImportLimits } from "../../io/rows.ts";
import { listNotices, warnedRevisions } from "../../notices/inbox.ts";
import type { CaseDoc } from "../../db/models.ts";
import { officeQueue } from "../../notices/office-queue.ts";
import { scorecard } from "../../notices/scorecard.ts";
import { assertCsrf, type Login } from "../auth.ts";
import { casePages } from "./cases.ts";
import { caseRow, ledgerPages } from "./ledger.ts";
import type { Verifier } from "../../ledger/note.ts";
import { importPages } from "./imports.ts";
import { noticePages } from "./notices.ts";
import { actorOf, countText, render, requireActor, safePath } from "./render.ts";

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

/**
 * The navigation's 待办 count for office staff: one count over every work list's filter (indexed by
 * state), on pages read with GET only (a posted form redirects to one that counts). Units and leaders
 * have no office work list, and no count.
 */
export function navCounts(clock: Clock): express.RequestHandler {
  return async (req, res, next) => {
    const actor = actorOf(res);
    if (req.method === "GET" && actor && isOfficeRole(actor.role)) res.locals.awaitingTotal = await awaitingCountQuery(actor, clock.now());
    // A year without its holidays stops working-day deadlines: only the admin can enter it, so only the admin is told, on every page.
    if (req.method === "GET" && actor?.role === "office_admin") res.locals.calendarGaps = await calendarGaps(clock.now());
    next();
  };
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
    const office = isOfficeRole(actor.role);
    const [names, stats, overdue, behind, scores, trend, figures, open, unread, officeSteps, lists, calendar] = await Promise.all([
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
      office ? workLists(actor, now) : Promise.resolve([]),
      loadCalendar(),
    ]);
    const byState = statesInOrder(stats.byState);
    // The unit's cases where it can act, most urgent first, each marked.
    const actionable = open.map((c) => ({ c, events: service.allowedEvents(c, actor) })).filter((x) => x.events.length);
    const ids = actionable.map((x) => x.c._id.toString());
    const [warned, supervisions, reasons] = await Promise.all([warnedRevisions(ids), supervisionCounts(ids), arrivalReasons(actionable.map((x) => x.c))]);
    const eventsOf = new Map(actionable.map((x) => [x.c._id.toString(), x.events]));
    const pending = byUrgency(
      actionable.map(({ c }) => ({ c, light: trafficLight(c, now, warned) })),
      supervisions,
      reasons,
      now,
      calendar,
    ).map((card) => ({
      ...caseRow({ ...card.c, light: trafficLight(card.c, now, warned) }, names),
      actions: eventsOf.get(card.c._id.toString())!.map(eventLabel).join("、"),
      urgency: card.urgency,
      marks: [
        ...(card.overdueDays > 0 ? [{ cls: "red", text: `已超期 ${daysPhrase(card.overdueDays, card.overdueWorkdays, " ")}` }] : []),
        ...(card.supervisions ? [{ cls: "red", text: card.supervisions > 1 ? `已督办 ${card.supervisions} 次` : "已督办" }] : []),
        ...(card.urgency === "soon" ? [{ cls: "yellow", text: card.daysLeft === null ? "已预警" : card.daysLeft === 0 ? "今日到期" : `即将到期（还有 ${card.daysLeft} 个工作日）` }] : []),
      ],
      sentBack: card.sentBack ? { reason: card.sentBack.reason, on: shanghaiDate(card.sentBack.at), label: card.c.kind === "complaint" ? "退回重新查处" : "退回整改" } : null,
    }));
    // One office list: the work lists, each case with the office rung fallen due on it (the former queue).
    const merged = withReminders(lists, officeSteps);
    const [reasonsOf, instructionsOf] = await Promise.all([arrivalReasons(lists.flatMap((g) => g.items)), openInstructions(lists.find((g) => g.group === "instruction")?.items ?? [])]);
    const reminderOf = (r: Reminder | undefined) => (r ? { limit: r.limit ?? "—", label: r.levelLabel, overdue: r.overdue } : null);
    const row = (group: Awaiting, c: { _id: { toString(): string }; ledgerNumber: string; title: string; kind: CaseKind; leadUnitId?: string | null; stateSince?: Date | null; instructionSince?: Date | null }, detail: string, reminder: Reminder | undefined) => {
      const since = waitingSince(group, { stateSince: c.stateSince ?? null, instructionSince: c.instructionSince ?? null });
      return {
        id: c._id.toString(),
        ledgerNumber: c.ledgerNumber,
        title: c.title,
        kindLabel: KIND_LABELS[c.kind],
        lead: c.leadUnitId ? (names.get(c.leadUnitId) ?? "—") : "—",
        since: since ? shanghaiDate(since) : "—",
        waiting: daysWaiting(since, now, calendar)?.label ?? "—",
        detail,
        reminder: reminderOf(reminder),
      };
    };
    const groups = merged.lists.map((g) => ({
      ...g,
      // 待落实批示 is not a state: the 台账 lists it in its own order (most recently changed first).
      more: g.group === "instruction" ? "/cases?awaiting=instruction" : `/cases?awaiting=${g.group}&sort=${WAITING_SORT}`,
      items: [
        ...g.items.map((c) => row(g.group, c, g.group === "instruction" ? instructionDetail(instructionsOf.get(c._id.toString()) ?? []) : detailOf(c, reasonsOf.get(c._id.toString())?.reason), g.reminders.get(c._id.toString()))),
        ...g.extra.map((r) => ({ ...row(g.group, { ...r, _id: r.caseId }, "", r), beyond: true })),
      ],
    }));
    const elsewhere = merged.elsewhere.map((st) => ({ step: st.step, items: st.items.map((r) => row("review", { ...r, _id: r.caseId }, "", r)) }));
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
      overdueTotal: countText(overdue.total, overdue.totalCapped),
      behind: behind.items.map((c) => caseRow(c, names)),
      behindTotal: countText(behind.total, behind.totalCapped),
      pending,
      unread: unread.map((n) => ({ ...n, levelLabel: LEVEL_LABELS[n.level as Level] })),
      groups,
      elsewhere,
      awaitingSum: groups.reduce((n, g) => n + g.total, 0),
      officeLate: officeSteps.reduce((n, s) => n + s.items.filter((i) => i.overdue).length, 0),
      leader: actor.role === "leader" ? await leaderHome(actor, now, names) : null,
      units,
      myScore: unit ? (scores[0]?.points ?? 0) : null,
      chart: JSON.stringify(chart),
      year,
    });
  });

  router.use(importPages(deps));
  router.use(ledgerPages(deps));
  router.use(casePages(deps));
  router.use(noticePages(deps));
  return router;
}

/** The leader's own desk: overdue and escalated cases by unit, the current bulletin, their 批示 and the 落实. */
async function leaderHome(actor: Actor, now: Date, names: Map<string, string>) {
  const today = shanghaiDate(now);
  const year = today.slice(0, 4);
  const [desk, mine, issues] = await Promise.all([leaderDesk(actor, now), leaderInstructions(actor), issuesOfYear(year).then(async (i) => (i.length ? i : issuesOfYear(String(Number(year) - 1))))]);
  const current = issues.filter((i) => !i.correctedBy).at(-1) ?? null;
  const bulletin = current ? { ...current, summary: (await readBulletin(actor, { month: current.month, issue: current.id }, now)).summary, href: `/bulletin?issue=${current.id}` } : null;
  const thread = (i: InstructionThread & { c: { _id: { toString(): string }; ledgerNumber: string; title: string } }) => ({
    caseId: i.c._id.toString(),
    ledgerNumber: i.c.ledgerNumber,
    title: i.c.title,
    on: shanghaiDate(i.at),
    text: i.text,
    done: i.done ? { on: shanghaiDate(i.done.at), by: i.done.by, text: i.done.text } : null,
  });
  return {
    units: desk.map((u) => ({
      unitId: u.unitId,
      name: u.unitId ? (names.get(u.unitId) ?? "—") : "未交办",
      escalated: u.cases.filter((x) => x.escalated).length,
      cases: u.cases.map((x) => ({
        id: x.c._id.toString(),
        ledgerNumber: x.c.ledgerNumber,
        title: x.c.title,
        deadline: x.c.deadline ?? "—",
        stateLabel: stateLabel(x.c.kind as CaseKind, x.c.state),
        escalated: x.escalated,
        marks: [
          ...(x.escalated ? [{ cls: "escalation", text: "约谈/通报" }] : []),
          ...(x.overdueDays > 0 ? [{ cls: "red", text: `已超期 ${x.overdueDays} 天` }] : []),
          ...(x.supervisions ? [{ cls: "red", text: x.supervisions > 1 ? `已督办 ${x.supervisions} 次` : "已督办" }] : []),
        ],
      })),
    })),
    total: desk.reduce((n, u) => n + u.cases.length, 0),
    bulletin,
    bulletinLink: `/bulletin`,
    open: mine.open.map(thread),
    done: mine.done.map(thread),
  };
}

/** The open 批示 of a case in the office's list, oldest first: what the office must carry out. */
function instructionDetail(open: InstructionThread[]): string {
  return open.map((i) => `批示（${shanghaiDate(i.at)}，${i.by.name}）：${i.text}`).join("；");
}

/** What the office needs beside the title: the reason of a 退回 or 异议, the date an extension asks for. */
function detailOf(c: CaseDoc, reason: string | undefined): string {
  if (reason) return `${c.stateEvent === "OBJECTION" ? "异议" : "理由"}：${reason}`;
  const ext = (c.context as { pendingExtension?: { deadline?: string; reason?: string } | null }).pendingExtension;
  if (c.state.endsWith(".extensionPending") && ext?.deadline) return `申请延期至 ${ext.deadline}（现时限 ${c.deadline ?? "—"}）`;
  return "";
}

/** Counts by state in lifecycle order, inspection items first, leaving out states with none. */
function statesInOrder(byState: Record<string, number>) {
  return (["inspection", "complaint"] as const).flatMap((kind: CaseKind) =>
    lifecycleOrder(kind)
      .filter((s) => byState[`${kind}:${s}`])
      .map((s) => ({ kindKey: kind, kind: KIND_LABELS[kind], state: stateLabel(kind, s), n: byState[`${kind}:${s}`]! })),
  );
}

