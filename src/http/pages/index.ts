/**
 * The web pages (server-rendered handlebars, Chinese). Pages read through the same services and
 * queries as the API and ask the machine what a user may do; they hold no workflow rule.
 * Forms post back here with the session's CSRF token and follow post/redirect/get.
 */
import express, { type NextFunction, type Request, type Response } from "express";
import mongoose from "mongoose";
import multer from "multer";
import {
  DEADLINE_STATES,
  EVENT_LABELS,
  dutyOf,
  eventLabel,
  LEVEL_LABELS,
  ROLE_LABELS,
  inState,
  isOfficeRole,
  shanghaiDate,
  stateLabel,
  type Actor,
  type CaseKind,
  type Level,
} from "../../../workflows/index.ts";
import type { Clock } from "../../clock.ts";
import { loadCalendar } from "../../calendar/workdays.ts";
import { listAttachments, removeAttachments, storeAttachment } from "../../cases/attachments.ts";
import { visibleFilter } from "../../cases/access.ts";
import type { ChainEntry } from "../../cases/history.ts";
import { SORTS, caseStats, listCases, monthlyTrend, unitFigures, type Sort } from "../../cases/queries.ts";
import { CATEGORIES } from "../../cases/schemas.ts";
import type { CaseService } from "../../cases/service.ts";
import { Case, CaseSchedule, Notice, Unit, type CaseDoc, type UnitDoc } from "../../db/models.ts";
import { AppError } from "../../errors.ts";
import { acknowledge, getNotice, listNotices, noticeState } from "../../notices/inbox.ts";
import type { NoticeRecord } from "../../notices/issuer.ts";
import { renderNoticeDocument } from "../../notices/render.ts";
import { officeQueue } from "../../notices/office-queue.ts";
import { loadSettings } from "../../notices/settings.ts";
import { scorecard } from "../../notices/scorecard.ts";
import { assertCsrf, csrfToken, type Login } from "../auth.ts";
import { maskComplainant, seesComplainant } from "../present.ts";
import { actionForm, payloadFromForm } from "./forms.ts";

export interface PageDeps {
  service: CaseService;
  clock: Clock;
  login: Login;
  maxUploadBytes: number;
}

const KIND_LABELS: Record<string, string> = { inspection: "督察反馈问题", complaint: "环境信访投诉" };

const actorOf = (res: Response) => res.locals.actor as Actor | undefined;

function requireActor(req: Request, res: Response, next: NextFunction) {
  if (actorOf(res)) return next();
  res.redirect(`/login?next=${encodeURIComponent(req.originalUrl)}`);
}

async function unitNames(): Promise<Map<string, string>> {
  const units = await Unit.find({}, { name: 1 }).lean<UnitDoc[]>();
  return new Map(units.map((u) => [u._id.toString(), u.name]));
}

export function pageRouter(deps: PageDeps): express.Router {
  const { service, clock } = deps;
  const router = express.Router();
  const upload = multer({ storage: multer.memoryStorage(), defParamCharset: "utf8", limits: { fileSize: deps.maxUploadBytes, files: 10 } });

  /** Renders a page inside the main layout with the user, navigation and CSRF token. */
  const page = (req: Request, res: Response, view: string, data: Record<string, unknown>, status = 200) => {
    const actor = actorOf(res);
    res.status(status).render(`pages/${view}`, {
      ...data,
      me: actor ? { ...actor, roleLabel: ROLE_LABELS[actor.role], isOffice: actor.role === "office_admin" || actor.role === "office_staff", isAdmin: actor.role === "office_admin", isUnit: actor.role === "unit_user" } : null,
      csrf: csrfToken(req),
      path: req.path,
    });
  };

  router.get("/login", (req, res) => {
    if (actorOf(res)) return res.redirect("/");
    page(req, res, "login", { title: "登录", next: typeof req.query.next === "string" ? req.query.next : "/" });
  });
  router.post("/login", async (req, res) => {
    assertCsrf(req);
    const next = typeof req.body.next === "string" && req.body.next.startsWith("/") && !req.body.next.startsWith("//") ? req.body.next : "/";
    try {
      await deps.login.login(req, { username: req.body.username, password: req.body.password });
      res.redirect(303, next);
    } catch (e) {
      if (!(e instanceof AppError) || e.status >= 500) throw e;
      page(req, res, "login", { title: "登录", next, error: e.message, username: typeof req.body.username === "string" ? req.body.username : "" }, e.status === 429 ? 429 : 401);
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
    const names = await unitNames();
    const [stats, overdue, behind, scores] = await Promise.all([
      caseStats(actor, { from: `${year}-01-01`, to: `${year}-12-31` }, now),
      listCases(actor, { overdue: true }, { page: 1, pageSize: 10, sort: "deadline" }, now),
      listCases(actor, { behindSchedule: true }, { page: 1, pageSize: 10, sort: "deadline" }, now),
      actor.role === "unit_user" ? scorecard(`${year}-01-01`, `${year}-12-31`, actor.unitId ?? "-") : scorecard(`${year}-01-01`, `${year}-12-31`),
    ]);
    const rows = (items: CaseDoc[]) => items.map((c) => caseRow(c, names, now, new Set()));
    const byState = Object.entries(stats.byState).map(([key, n]) => {
      const [kind, state] = key.split(":") as [CaseKind, string];
      return { kind: KIND_LABELS[kind], state: stateLabel(kind, state), n };
    });
    let pending: unknown[] = [];
    let unread: NoticeRecord[] = [];
    // The office's own steps falling due (the leader reads them too), and the staff's unacknowledged reminders.
    const officeSteps = actor.role === "unit_user" ? [] : await officeQueue(now);
    if (isOfficeRole(actor.role)) unread = (await listNotices(actor, { officeInbox: true }, 50)).filter((n) => !n.ackAt);
    if (actor.role === "unit_user") {
      const open = await Case.find({ ...visibleFilter(actor), state: mongoose.trusted({ $ne: "closed" }) }).limit(200).lean<CaseDoc[]>();
      pending = open
        .map((c) => ({ c, events: service.allowedEvents(c, actor) }))
        .filter((x) => x.events.length)
        .map((x) => ({ ...caseRow(x.c, names, now, new Set()), actions: x.events.map(eventLabel).join("、") }));
      unread = (await listNotices(actor, {})).filter((n) => !n.ackAt);
    }
    const units = actor.role === "unit_user" ? [] : await unitTable(names, scores, now);
    const chart = await chartData(actor, stats.byState, now);
    page(req, res, "dashboard", {
      title: "首页",
      stats,
      byState,
      overdue: rows(overdue.items),
      overdueTotal: overdue.total,
      behind: rows(behind.items),
      behindTotal: behind.total,
      pending,
      unread: unread.map((n) => ({ ...n, levelLabel: LEVEL_LABELS[n.level as Level] })),
      officeSteps,
      officeLate: officeSteps.reduce((n, s) => n + s.items.filter((i) => i.overdue).length, 0),
      units,
      myScore: actor.role === "unit_user" ? (scores[0]?.points ?? 0) : null,
      chart: JSON.stringify(chart),
      year,
    });
  });

  router.get("/cases", async (req, res) => {
    const actor = actorOf(res)!;
    const now = clock.now();
    const q = req.query as Record<string, unknown>;
    const str = (k: string) => (typeof q[k] === "string" && q[k] ? (q[k] as string) : undefined);
    const filter = {
      kind: str("kind") === "inspection" || str("kind") === "complaint" ? (str("kind") as CaseKind) : undefined,
      state: str("state"),
      unit: str("unit"),
      category: str("category"),
      round: str("round"),
      overdue: str("overdue") === "true" || undefined,
      behindSchedule: str("behindSchedule") === "true" || undefined,
      q: str("q")?.slice(0, 100),
      deadlineFrom: str("deadlineFrom")?.match(/^\d{4}-\d{2}-\d{2}$/)?.[0],
      deadlineTo: str("deadlineTo")?.match(/^\d{4}-\d{2}-\d{2}$/)?.[0],
    };
    const sort = (SORTS as readonly string[]).includes(str("sort") ?? "") ? (str("sort") as Sort) : "-updatedAt";
    const pageNo = Math.max(1, Math.min(100_000, Number(str("page")) || 1));
    const pageSize = 20;
    const [{ items, total }, names] = await Promise.all([listCases(actor, filter, { page: pageNo, pageSize, sort }, now), unitNames()]);
    const warned = new Set(
      (
        await Notice.find(
          { caseId: mongoose.trusted({ $in: items.map((c) => c._id.toString()) }), level: mongoose.trusted({ $in: ["yellow", "conclude_warning"] }) },
          { caseId: 1, revision: 1 },
        ).lean()
      ).map((n) => `${n.caseId}:${n.revision}`),
    );
    const pages = Math.max(1, Math.ceil(total / pageSize));
    const link = (p: number) => `/cases?${new URLSearchParams({ ...Object.fromEntries(Object.entries({ ...filter, sort }).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)])), page: String(p) })}`;
    page(req, res, "ledger", {
      title: "整改台账",
      filter,
      sort,
      rows: items.map((c) => caseRow(c, names, now, warned)),
      total,
      pageNo,
      pages,
      exportLink: `/api/exports/ledger.xlsx?${new URLSearchParams(Object.fromEntries(Object.entries({ ...filter, sort }).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)])))}`,
      prev: pageNo > 1 ? link(pageNo - 1) : null,
      next: pageNo < pages ? link(pageNo + 1) : null,
      categories: CATEGORIES,
      units: [...names].map(([id, name]) => ({ id, name, selected: id === filter.unit })),
      sorts: [
        ["-updatedAt", "最近更新"],
        ["deadline", "时限由近到远"],
        ["-deadline", "时限由远到近"],
        ["ledgerNumber", "编号"],
      ].map(([v, l]) => ({ v, l, selected: v === sort })),
      states: STATE_CHOICES.map(([v, l]) => ({ v, l, selected: v === filter.state })),
    });
  });

  router.get("/cases/:id", async (req, res) => {
    await showCase(req, res, {});
  });

  async function showCase(req: Request, res: Response, form: { type?: string; values?: Record<string, unknown>; errors?: Record<string, string> }, status = 200) {
    const actor = actorOf(res)!;
    const c = await service.getCase(String(req.params.id), actor);
    const id = c._id.toString();
    const now = clock.now();
    const [history, notices, attachments, names, calendar, schedule] = await Promise.all([
      service.history(id),
      listNotices(actor, { caseId: id }),
      listAttachments(id),
      unitNames(),
      loadCalendar(),
      CaseSchedule.findById(id, { problem: 1 }).lean(),
    ]);
    const kind = c.kind as CaseKind;
    const settings = await loadSettings();
    const terms = { verification: settings.verificationTerm };
    const files = new Map(attachments.map((a) => [a.id, a]));
    const timeline = history.map((h: ChainEntry) => {
      const p = (h.payload ?? {}) as Record<string, unknown>;
      const texts = ["reason", "text", "summary", "requirements", "measures", "opinion", "note", "to"].filter((k) => typeof p[k] === "string").map((k) => p[k] as string);
      // The office's 现场核查 (验收) and the 回访 before 办结, as recorded.
      const facts =
        h.type === "PASS" && typeof p.checkedBy === "string"
          ? [`${terms.verification}：${p.checkedBy}，${p.checkedOn}`]
          : h.type === "CLOSE" && typeof p.visitedOn === "string"
            ? [`回访：${p.visitedOn}，${p.visitMethod}，${p.satisfaction}`]
            : [];
      return {
        seq: h.seq,
        at: h.at,
        typeLabel: eventLabel(h.type),
        actor: h.actor.name ?? h.actor.id,
        role: ROLE_LABELS[h.actor.role],
        unit: h.actor.unitId ? names.get(h.actor.unitId) : null,
        from: h.from ? stateLabel(kind, h.from) : null,
        to: stateLabel(kind, h.to),
        texts,
        facts,
        percent: typeof p.percent === "number" ? p.percent : null,
        deadline: typeof p.deadline === "string" ? p.deadline : null,
        files: (Array.isArray(p.attachmentIds) ? (p.attachmentIds as string[]) : []).map((a) => files.get(a)).filter(Boolean),
      };
    });
    // Each deadline revision: which event set it, and how many working days it gave.
    const revisions: unknown[] = [];
    let lastRev = 0;
    for (const h of history) {
      if (h.deadlineRevision === lastRev) continue;
      lastRev = h.deadlineRevision;
      const deadline = (h.snapshot?.context as { deadline?: string | null })?.deadline ?? null;
      const from = shanghaiDate(h.at);
      let workdays: number | null = null;
      try {
        workdays = deadline ? calendar.workdaysBetween(from, deadline) : null;
      } catch {
        workdays = null;
      }
      revisions.push({ revision: h.deadlineRevision, deadline, setBy: eventLabel(h.type), on: from, workdays, current: h.deadlineRevision === c.deadlineRevision });
    }
    const allowed = service.allowedEvents(c, actor);
    const forms = allowed.map((type) => (type === form.type ? actionForm(kind, type, form.values, form.errors, terms) : actionForm(kind, type, {}, {}, terms)));
    page(
      req,
      res,
      "case",
      {
        title: `${c.ledgerNumber} ${c.title}`,
        c: {
          ...c,
          id,
          kindLabel: KIND_LABELS[kind],
          stateLabel: stateLabel(kind, c.state),
          lead: c.leadUnitId ? names.get(c.leadUnitId) : null,
          co: (c.coUnitIds ?? []).map((u) => names.get(u)).join("、"),
          complainant: kind === "complaint" ? (seesComplainant(actor) ? c.complainant : maskComplainant(c.complainant)) : null,
          light: light(c, now, new Set()),
          scheduleProblem: schedule?.problem ?? null,
          holderStep: dutyOf(kind, c.state),
          verification: (c.context as { verification?: { checkedBy: string; checkedOn: string; opinion: string } | null }).verification ?? null,
          visit: kind === "complaint" && (c.context as { visitedOn?: string | null }).visitedOn ? (c.context as { visitedOn: string; satisfaction: string }) : null,
          verificationTerm: terms.verification,
        },
        context: c.context,
        revisions,
        timeline,
        notices: notices.map((n) => ({ ...n, levelLabel: LEVEL_LABELS[n.level as Level] ?? n.level, state: noticeState(n) })),
        attachments,
        forms,
        units: [...names].map(([uid, name]) => ({ id: uid, name })),
        flash: typeof req.query.done === "string" ? `已${Object.hasOwn(EVENT_LABELS, req.query.done) ? EVENT_LABELS[req.query.done] : "完成"}` : null,
      },
      status,
    );
  }

  router.post("/cases/:id/actions/:type", upload.array("attachmentIds", 10), async (req, res) => {
    assertCsrf(req);
    const actor = actorOf(res)!;
    const id = String(req.params.id);
    const type = String(req.params.type);
    const c = await service.getCase(id, actor);
    const body = (req.body ?? {}) as Record<string, unknown>;
    // Files are stored only for an action this user may take now, and removed again when it is refused
    // (a 4xx: nothing was applied; after a 5xx the event may have been, so they stay).
    const ids: string[] = [];
    try {
      const files = (req.files as Express.Multer.File[] | undefined) ?? [];
      if (service.allowedEvents(c, actor).includes(type)) for (const f of files) ids.push((await storeAttachment(id, f, actor)).id);
      const version = Number(body.expectedVersion);
      await service.applyEvent(id, { type, payload: payloadFromForm(c.kind as CaseKind, type, body, ids), expectedVersion: Number.isInteger(version) && version > 0 ? version : undefined }, actor);
      res.redirect(303, `/cases/${id}?done=${encodeURIComponent(type)}`);
    } catch (e) {
      if (e instanceof AppError && e.status < 500) await removeAttachments(ids);
      if (!(e instanceof AppError) || e.status >= 500 || e.status === 404) throw e;
      const errors: Record<string, string> = {};
      for (const f of (e.details.fields as { field: string; message: string }[] | undefined) ?? []) errors[f.field.replace(/^payload\./, "")] ??= f.message;
      if (!Object.keys(errors).length || e.code !== "invalid_fields") errors._form = e.message;
      await showCase(req, res, { type, values: body, errors }, e.status);
    }
  });

  router.get("/notices", async (req, res) => {
    const actor = actorOf(res)!;
    const state = ["unread", "read", "acknowledged"].includes(String(req.query.state)) ? (req.query.state as "unread") : undefined;
    const [items, names] = await Promise.all([listNotices(actor, { state }), unitNames()]);
    page(req, res, "notices", {
      title: "通知",
      state,
      items: items.map((n) => ({ ...n, id: n._id, levelLabel: LEVEL_LABELS[n.level as Level] ?? n.level, unit: n.unitId ? names.get(n.unitId) : "整改办" })),
    });
  });
  router.post("/notices/:id/ack", async (req, res) => {
    await acknowledge(String(req.params.id), actorOf(res)!, clock);
    res.redirect(303, "/notices");
  });
  router.get("/notices/:id/print", async (req, res) => {
    const html = await renderNoticeDocument(await getNotice(String(req.params.id), actorOf(res)!), { receipt: req.query.receipt !== "0" });
    res.type("html").send(html);
  });

  return router;
}

const STATE_CHOICES: [string, string][] = [
  ["registered", "已登记"],
  ["assigned", "已交办"],
  ["rectifying", "整改中"],
  ["verifying", "销号审核"],
  ["publicizing", "公示中"],
  ["received", "信访已登记"],
  ["accepted", "已受理"],
  ["investigating", "查处中"],
  ["reviewing", "审核中"],
  ["replying", "待答复"],
  ["replied", "已答复"],
  ["closed", "已办结/已销号"],
];

/** Traffic light: red overdue, yellow warned or behind schedule, green on track, none when the deadline no longer binds. */
function light(c: CaseDoc, now: Date, warned: Set<string>): "red" | "yellow" | "green" | null {
  if (!inState(c.state, DEADLINE_STATES[c.kind as CaseKind])) return null;
  if (c.deadline && c.deadline < shanghaiDate(now)) return "red";
  if (warned.has(`${c._id.toString()}:${c.deadlineRevision}`) || (c.behindFrom && c.behindFrom <= now)) return "yellow";
  return "green";
}

function caseRow(c: CaseDoc, names: Map<string, string>, now: Date, warned: Set<string>) {
  return {
    id: c._id.toString(),
    ledgerNumber: c.ledgerNumber,
    kindLabel: KIND_LABELS[c.kind],
    title: c.title,
    round: c.round ?? c.channel,
    lead: c.leadUnitId ? names.get(c.leadUnitId) : "—",
    deadline: c.deadline ?? "—",
    stateLabel: stateLabel(c.kind as CaseKind, c.state),
    progress: c.progressPercent,
    light: light(c, now, warned),
  };
}

/** Per-unit figures for the office dashboard. */
async function unitTable(names: Map<string, string>, scores: { unitId: string; points: number }[], now: Date) {
  const points = new Map(scores.map((s) => [s.unitId, s.points]));
  return (await unitFigures(now))
    .map((r) => ({ id: r.unitId, name: names.get(r.unitId) ?? r.unitId, ...r, rate: r.closed ? `${Math.round((r.onTime / r.closed) * 100)}%` : "—", points: points.get(r.unitId) ?? 0 }))
    .sort((a, b) => b.overdue - a.overdue || a.points - b.points);
}

/** Data for the two charts: cases by state, and registered/closed per month over the last 12 months. */
async function chartData(actor: Actor, byState: Record<string, number>, now: Date) {
  const { months, created, closed } = await monthlyTrend(actor, now);
  const states = Object.entries(byState).map(([key, value]) => {
    const [kind, state] = key.split(":") as [CaseKind, string];
    return { name: `${kind === "complaint" ? "信访·" : ""}${stateLabel(kind, state)}`, value };
  });
  return { months, created, closed, states };
}
