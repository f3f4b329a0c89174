/**
 * The 台账 and case pages: the list (the same listCases and query schema as GET /api/cases), batch
 * actions, registration, the case with its actions (forms from the machines' payload schemas) and
 * notices by hand. Pages present what the services answer; they hold no workflow rule.
 */
import express, { type Request, type Response } from "express";
import {
  EVENT_LABELS,
  KIND_LABELS,
  LEVEL_LABELS,
  eventLabel,
  isCaseKind,
  isOfficeRole,
  shanghaiDate,
  stateFilterChoices,
  stateKeys,
  stateLabel,
  type CaseKind,
  type Level,
} from "../../../workflows/index.ts";
import { removeAttachments, storeAttachment } from "../../cases/attachments.ts";
import { applyToEach, assignAsPlanned, noticeToEach, type BatchResult } from "../../cases/batch.ts";
import { coverage } from "../../ledger/proofs.ts";
import { listCases, type ListedCase } from "../../cases/queries.ts";
import { assertMayRegister } from "../../cases/service.ts";
import { actionDefaults, actionNote, caseView, noticeLabel, staleNote, type CaseView } from "../../cases/view.ts";
import { CATEGORIES } from "../../cases/schemas.ts";
import { AWAITING, AWAITING_GROUPS } from "../../cases/worklists.ts";
import { deleteFilter, saveFilter, savedFilters } from "../../cases/saved-filters.ts";
import type { CaseDoc } from "../../db/models.ts";
import { unitChoices, unitNames } from "../../directory.ts";
import { AppError } from "../../errors.ts";
import { MANUAL_LEVELS, issueByHand } from "../../notices/issuer.ts";
import { noticeState } from "../../notices/inbox.ts";
import { scheduleProblemOf } from "../../notices/sweep.ts";
import { assertCsrf } from "../auth.ts";
import { formUpload } from "../upload.ts";
import { maskComplainant, seesComplainant } from "../present.ts";
import { caseListQuery } from "../routes/cases.ts";
import { actionForm, assignDefaults, caseForm, caseFromRegistration, payloadFromForm, plannedView } from "./forms.ts";
import type { PageDeps } from "./index.ts";
import { actorOf, countText, fileSize, formOf, pageQuery, refusal, render, str, strs, type Errors } from "./render.ts";

const PAGE_SIZE = 20;

const SORT_CHOICES = [
  ["-updatedAt", "最近更新"],
  ["deadline", "时限由近到远"],
  ["-deadline", "时限由远到近"],
  ["ledgerNumber", "编号"],
  ["-createdAt", "最近登记"],
  ["stateSince", "在本环节等待最久"],
] as const;

/** The state filter: each kind's top-level states, named as the labels name them. */
const STATE_CHOICES = stateFilterChoices({
  inspection: stateKeys("inspection").filter((k) => !k.includes(".")),
  complaint: stateKeys("complaint").filter((k) => !k.includes(".")),
});

/** Levels the office issues by hand, mildest first (督办 is the usual one, so it is preselected). */
const MANUAL_CHOICES = MANUAL_LEVELS.map((l) => ({ v: l, l: LEVEL_LABELS[l] }));

/** Reported progress means something only while an inspection item is being rectified or checked. */
export const showsProgress = (c: Pick<CaseDoc, "kind" | "state">) => c.kind === "inspection" && /^(rectifying|verifying)/.test(c.state);

export function caseRow(c: ListedCase, names: Map<string, string>) {
  return {
    id: c._id.toString(),
    ledgerNumber: c.ledgerNumber,
    kindLabel: KIND_LABELS[c.kind],
    title: c.title,
    round: c.round ?? c.channel,
    // Before 交办, the list's planned unit and deadline (拟), as 按清单交办 would apply them.
    lead: c.leadUnitId ? names.get(c.leadUnitId) : c.plannedLeadUnitId ? `拟：${names.get(c.plannedLeadUnitId) ?? ""}` : "—",
    deadline: c.deadline ?? (c.plannedDeadline && !c.leadUnitId ? `拟：${c.plannedDeadline}` : "—"),
    stateLabel: stateLabel(c.kind as CaseKind, c.state),
    progress: showsProgress(c) ? `${c.progressPercent}%` : "—",
    light: c.light,
  };
}

export function casePages(deps: PageDeps): express.Router {
  const { service, clock } = deps;
  const router = express.Router();
  const upload = formUpload(deps.maxUploadBytes, 10);

  // ------------------------------------------------------------------ the 台账

  async function showLedger(
    req: Request,
    res: Response,
    raw: Record<string, unknown>,
    batch: { result?: BatchResult; errors?: Errors; values?: Record<string, unknown> } = {},
    status = 200,
    save: { errors?: Errors; name?: string } = {},
  ) {
    const actor = actorOf(res)!;
    const { query, errors } = pageQuery(caseListQuery, raw);
    const { page: pageNo, pageSize: _size, sort, ...filter } = query;
    const [list, names, units, saved] = await Promise.all([
      listCases(actor, filter, { page: pageNo, pageSize: PAGE_SIZE, sort }, clock.now()),
      unitNames(),
      unitChoices(),
      savedFilters(actor),
    ]);
    const params = (extra: Record<string, string>) =>
      new URLSearchParams({ ...Object.fromEntries(Object.entries({ ...filter, sort }).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)])), ...extra });
    const link = (p: number) => `/cases?${params({ page: String(p) })}`;
    const office = isOfficeRole(actor.role);
    render(
      req,
      res,
      "ledger",
      {
        title: "整改台账",
        filter,
        filtered: errors.length > 0 || Object.values(filter).some((v) => v !== undefined),
        sort,
        filterErrors: errors,
        rows: list.items.map((c) => caseRow(c, names)),
        total: countText(list.total, list.totalCapped),
        pageNo: list.page,
        pages: countText(list.pages, list.totalCapped),
        exportLink: `/api/exports/ledger.xlsx?${params({})}`,
        prev: list.page > 1 ? link(list.page - 1) : null,
        // A capped total is a lower bound: there is always a next page to try.
        next: list.page < list.pages || list.totalCapped ? link(list.page + 1) : null,
        back: `/cases?${params({ page: String(list.page) })}`,
        categories: CATEGORIES,
        units: [...names].map(([id, name]) => ({ id, name, selected: id === filter.unit })),
        activeUnits: units,
        sorts: SORT_CHOICES.map(([v, l]) => ({ v, l, selected: v === sort })),
        states: STATE_CHOICES.map(([v, l]) => ({ v, l, selected: v === filter.state })),
        awaitingGroups: AWAITING.map((g) => ({ v: g, l: AWAITING_GROUPS[g].label, selected: g === filter.awaiting })),
        levels: MANUAL_CHOICES.map((x) => ({ ...x, selected: x.v === (batch.values?.level ?? "due_reminder") })),
        batchable: office || actor.role === "unit_user",
        office,
        batch: { result: batch.result ?? null, errors: batch.errors ?? {}, values: batch.values ?? {} },
        saved: saved.map((f) => ({ ...f, href: `/cases?${f.query}` })),
        save: { query: params({}).toString(), name: save.name ?? "", errors: save.errors ?? {} },
      },
      status === 200 && errors.length ? 422 : status,
    );
  }

  router.get("/cases", async (req, res) => {
    await showLedger(req, res, req.query as Record<string, unknown>);
  });

  /** 常用筛选: the 台账's query saved under a name (checked by the list's own query schema), the user's own. */
  router.post("/cases/filters", async (req, res) => {
    assertCsrf(req);
    const body = formOf(req);
    const given = new URLSearchParams(str(body, "query").slice(0, 2000));
    const back = Object.fromEntries(given);
    const name = str(body, "name");
    try {
      const parsed = caseListQuery.safeParse(Object.fromEntries([...given].filter(([k, v]) => v !== "" && k !== "page" && k !== "pageSize")));
      if (!parsed.success) throw new AppError(422, "invalid_fields", "筛选条件不正确，无法保存", { fields: [{ field: "query", message: "筛选条件不正确，无法保存" }] });
      const { page: _p, pageSize: _s, ...kept } = parsed.data;
      const query = new URLSearchParams(Object.entries(kept).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)])).toString();
      await saveFilter(actorOf(res)!, { name, query });
      res.redirect(303, `/cases?${query}`);
    } catch (e) {
      const { status, errors } = refusal(e);
      await showLedger(req, res, back, {}, status, { errors, name });
    }
  });

  router.post("/cases/filters/:id/delete", async (req, res) => {
    assertCsrf(req);
    await deleteFilter(actorOf(res)!, String(req.params.id));
    res.redirect(303, "/cases");
  });

  /** Batch actions from the 台账: the unit signs, the office assigns or sends a 催办; each row through the single action's path. */
  router.post("/cases/batch", async (req, res) => {
    assertCsrf(req);
    const actor = actorOf(res)!;
    const body = formOf(req);
    const ids = strs(body, "ids");
    const action = str(body, "action");
    // The result shows on the 台账 the batch was sent from (its filters come back as the query).
    const back = str(body, "back");
    const query = back.startsWith("/cases?") ? Object.fromEntries(new URLSearchParams(back.slice(7))) : {};
    try {
      let result: BatchResult;
      if (action === "SIGN") result = await applyToEach(service, ids, { type: "SIGN", payload: {} }, actor);
      else if (action === "ASSIGN") {
        const payload = { leadUnitId: str(body, "leadUnitId"), coUnitIds: strs(body, "coUnitIds"), deadline: str(body, "deadline").trim() || undefined, requirements: str(body, "requirements").trim() || undefined };
        result = await applyToEach(service, ids, { type: "ASSIGN", payload }, actor);
      } else if (action === "ASSIGN_PLANNED") result = await assignAsPlanned(service, ids, actor);
      else if (action === "URGE") result = await noticeToEach(service, ids, { level: str(body, "level"), requirement: str(body, "requirement") }, actor, clock);
      else throw new AppError(400, "bad_request", "请选择要执行的批量操作");
      await showLedger(req, res, query, { result, values: body });
    } catch (e) {
      const { status, errors } = refusal(e);
      await showLedger(req, res, query, { errors, values: body }, status);
    }
  });

  // ------------------------------------------------------------------ registration

  const registration = async (req: Request, res: Response, kind: CaseKind, values: Record<string, unknown> = {}, errors: Errors = {}, status = 200) =>
    render(req, res, "register", { title: `登记${kind === "inspection" ? "督察反馈问题" : "信访件"}`, kind, fields: caseForm(kind, values, errors), error: errors._form, kindLabel: KIND_LABELS[kind], units: await unitChoices() }, status);

  const kindOf = (req: Request): CaseKind => {
    const k = String(req.params.kind);
    if (!isCaseKind(k)) throw new AppError(404, "not_found", "您访问的页面不存在，或您无权查看");
    return k;
  };
  const officeOnly = (res: Response) => assertMayRegister(actorOf(res)!);

  router.get("/cases/new/:kind", async (req, res) => {
    officeOnly(res);
    await registration(req, res, kindOf(req));
  });

  router.post("/cases/new/:kind", async (req, res) => {
    assertCsrf(req);
    officeOnly(res);
    const kind = kindOf(req);
    const body = formOf(req);
    try {
      const c = await service.createCase((await caseFromRegistration(kind, body, shanghaiDate(clock.now()))) as never, actorOf(res)!);
      res.redirect(303, `/cases/${c._id.toString()}?done=CREATE`);
    } catch (e) {
      const { status, errors } = refusal(e);
      await registration(req, res, kind, body, errors, status);
    }
  });

  // ------------------------------------------------------------------ a case

  router.get("/cases/:id", async (req, res) => {
    await showCase(req, res, {});
  });

  interface Shown {
    type?: string;
    values?: Record<string, unknown>;
    errors?: Errors;
    /** Sent from a page older than the case (a second tab): the version that page showed. */
    staleFrom?: number;
  }

  async function showCase(req: Request, res: Response, form: Shown, status = 200) {
    const actor = actorOf(res)!;
    const v = await caseView(service, String(req.params.id), actor, clock.now());
    const { case: c, history, names } = v;
    const id = c._id.toString();
    const [anchors, scheduleProblem, choices] = await Promise.all([
      deps.ledgerVerifiers?.length ? coverage(history, deps.ledgerVerifiers, deps.ledgerDir) : null,
      scheduleProblemOf(id),
      unitChoices(),
    ]);
    const kind = c.kind as CaseKind;
    const terms = { verification: v.verificationTerm };
    const ctx = (c.context ?? {}) as Record<string, unknown>;
    const withSize = <T extends { size: number }>(a: T) => ({ ...a, sizeText: fileSize(a.size) });
    const timeline = v.timeline.map((h) => ({ ...h, files: h.files.map(withSize), anchor: anchors?.get(h.seq) ?? null }));
    const last = (type: string, key: string) => {
      for (let i = history.length - 1; i >= 0; i--) if (history[i]!.type === type) return ((history[i]!.payload ?? {}) as Record<string, unknown>)[key];
      return undefined;
    };
    const complaintFacts =
      kind === "complaint"
        ? {
            violationFound: typeof ctx.violationFound === "boolean" ? (ctx.violationFound ? "是" : "否") : null,
            replyChannel: (last("REPLY", "channel") as string | undefined) ?? null,
            satisfaction: c.state === "closed" ? ((last("CLOSE", "satisfaction") as string | undefined) ?? (ctx.repliedOn ? "未填写" : null)) : null,
          }
        : null;
    const blocked = v.blockedEvents.map((b) => ({ type: b.type, label: eventLabel(b.type), reasons: b.reasons.join("；") }));
    // 批示 and 落实 have their own panel (partials/instructions.hbs).
    const instructions = instructionPanel(v, req, form);
    const forms = v.allowedEvents.filter((type) => !INSTRUCTION_EVENTS.includes(type)).map((type) => {
      // 交办 starts from the planned assignment (the list's units and deadline), which the office may change.
      const f = type === form.type ? actionForm(kind, type, form.values, form.errors, terms) : actionForm(kind, type, type === "ASSIGN" ? assignDefaults(c) : {}, {}, terms);
      const note = actionNote(type, c, v.pendingExtension);
      if (note) f.note = note;
      const defaults = actionDefaults(type, c);
      for (const field of f.fields) if (field.name in defaults && (field.value === undefined || field.value === "")) field.value = defaults[field.name];
      const chosen = strs(form.type === type ? (form.values ?? {}) : {}, "existingAttachmentIds");
      return { ...f, evidence: f.multipart && /SUBMIT/.test(type) ? v.attachments.map((a) => ({ ...withSize(a), checked: chosen.includes(a.id) })) : [] };
    });
    const office = isOfficeRole(actor.role);
    render(
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
          planned: plannedView(c, names),
          complainant: kind === "complaint" ? (seesComplainant(actor) ? c.complainant : maskComplainant(c.complainant)) : null,
          light: v.light,
          showsProgress: showsProgress(c),
          // The schedule's problem (a year without its holidays) is the office's to see; the admin is asked on every page to fix it.
          scheduleProblem: office ? scheduleProblem : null,
          publicity: v.publicity,
          pending: v.pendingExtension,
          complaintFacts,
          holderStep: v.holderStep,
          sentBack: v.sentBack,
          verification: (ctx as { verification?: { checkedBy: string; checkedOn: string; opinion: string } | null }).verification ?? null,
          visit: kind === "complaint" && typeof ctx.visitedOn === "string" ? ctx : null,
          verificationTerm: terms.verification,
        },
        revisions: v.revisions.map((r) => ({ ...r, setBy: eventLabel(r.event) })),
        timeline,
        stale: form.staleFrom !== undefined ? staleNote(timeline, form, forms) : null,
        notices: v.notices.map((n) => ({ ...n, levelLabel: LEVEL_LABELS[n.level as Level] ?? n.level, state: noticeState(n) })),
        attachments: v.attachments.map(withSize),
        forms,
        instructionPanel: instructions,
        blocked,
        units: choices,
        office,
        noticeForm: office
          ? {
              levels: MANUAL_CHOICES.map((x) => ({ ...x, selected: x.v === (form.type === "NOTICE" ? str(form.values ?? {}, "level") : "supervision") })),
              requirement: form.type === "NOTICE" ? str(form.values ?? {}, "requirement") : "",
              errors: form.type === "NOTICE" ? (form.errors ?? {}) : {},
            }
          : null,
        flash: flashOf(req),
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
    const body = formOf(req);
    // Files are stored only for an action this user may take now, and removed again when it is refused
    // (a 4xx: nothing was applied; after a 5xx the event may have been, so they stay).
    const ids: string[] = [];
    try {
      const files = (req.files as Express.Multer.File[] | undefined) ?? [];
      if (service.allowedEvents(c, actor).includes(type)) for (const f of files) ids.push((await storeAttachment(id, f, actor)).id);
      // Evidence already on the case (uploaded with a progress report) may be chosen again; the service checks it is this case's.
      const chosen = strs(body, "existingAttachmentIds");
      const version = Number(body.expectedVersion);
      await service.applyEvent(
        id,
        { type, payload: payloadFromForm(c.kind as CaseKind, type, body, [...chosen, ...ids]), expectedVersion: Number.isInteger(version) && version > 0 ? version : undefined },
        actor,
      );
      res.redirect(303, `/cases/${id}?done=${encodeURIComponent(type)}`);
    } catch (e) {
      if (e instanceof AppError && e.status < 500) await removeAttachments(ids);
      const { status, errors } = refusal(e, (f) => f.replace(/^payload\./, ""));
      // Another tab or person acted first: the page shows what happened since and keeps what was typed.
      const stale = e instanceof AppError && e.code === "version_conflict" ? Number(body.expectedVersion) : undefined;
      await showCase(req, res, { type, values: body, errors: stale === undefined ? errors : {}, staleFrom: stale }, status);
    }
  });

  /** A notice by hand (督办通知 or another level): numbered and delivered as the ladder's are. */
  router.post("/cases/:id/notices", async (req, res) => {
    assertCsrf(req);
    const actor = actorOf(res)!;
    const c = await service.getCase(String(req.params.id), actor);
    const body = formOf(req);
    try {
      const n = await issueByHand(c, { level: str(body, "level"), requirement: str(body, "requirement") }, actor, clock);
      res.redirect(303, `/cases/${c._id.toString()}?done=NOTICE${n.number ? `&number=${encodeURIComponent(n.number)}` : ""}`);
    } catch (e) {
      const { status, errors } = refusal(e);
      await showCase(req, res, { type: "NOTICE", values: body, errors }, status);
    }
  });

  return router;
}

const INSTRUCTION_EVENTS = ["INSTRUCT", "CARRY_OUT"];

/**
 * The 批示 panel: the case's threads (the view's) with, for the office, a 落实 form under each one still open,
 * and the leader's form (on a notice of this case when the page was opened from one: ?notice=). What was
 * typed comes back on a refusal.
 */
function instructionPanel(v: CaseView, req: Request, form: { type?: string; values?: Record<string, unknown>; errors?: Errors }) {
  const allowed = v.allowedEvents;
  const carry = allowed.includes("CARRY_OUT");
  const typed = (type: string) => (form.type === type ? { values: form.values ?? {}, errors: form.errors ?? {} } : { values: {}, errors: {} as Errors });
  const asked = form.type === "INSTRUCT" ? str(form.values ?? {}, "noticeId") : typeof req.query.notice === "string" ? req.query.notice : "";
  const notice = v.notices.find((n) => n._id === asked);
  const threads = v.instructions.map((i) => {
    const mine = typed("CARRY_OUT");
    const here = String(mine.values.instruction ?? "") === String(i.n);
    return { ...i, carry: carry && !i.done ? { text: here ? str(mine.values, "text") : "", error: here ? (mine.errors.text ?? mine.errors.instruction ?? mine.errors._form) : undefined } : null };
  });
  const own = typed("INSTRUCT");
  return {
    threads,
    instruct: allowed.includes("INSTRUCT")
      ? { text: str(own.values, "text"), error: own.errors.text ?? own.errors.noticeId ?? own.errors._form, notice: notice ? { id: notice._id, label: `${noticeLabel(notice)}（${shanghaiDate(notice.issuedAt)}）` } : null }
      : null,
    show: threads.length > 0 || allowed.includes("INSTRUCT"),
  };
}

function flashOf(req: Request): string | null {
  const done = typeof req.query.done === "string" ? req.query.done : null;
  if (!done) return null;
  if (done === "NOTICE") return `已发出通知${typeof req.query.number === "string" ? `（${req.query.number}）` : ""}`;
  return `已${Object.hasOwn(EVENT_LABELS, done) ? EVENT_LABELS[done] : "完成"}`;
}
