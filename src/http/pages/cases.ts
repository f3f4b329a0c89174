/**
 * The case pages: registration, the case with its actions (forms from the machines' payload schemas)
 * and notices by hand. Pages present what the services answer (the case view); they hold no workflow
 * rule. The 台账 list is ledger.ts.
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
  stateLabel,
  type CaseKind,
  type Level,
} from "../../../workflows/index.ts";
import { removeAttachments, storeAttachment } from "../../cases/attachments.ts";
import { coverage } from "../../ledger/proofs.ts";
import { assertMayRegister } from "../../cases/service.ts";
import { actionDefaults, actionNote, caseView, noticeLabel, staleNote, type CaseView } from "../../cases/view.ts";
import { unitChoices, } from "../../directory.ts";
import { AppError } from "../../errors.ts";
import { issueByHand } from "../../notices/issuer.ts";
import { noticeState } from "../../notices/inbox.ts";
import { scheduleProblemOf } from "../../notices/sweep.ts";
import { assertCsrf } from "../auth.ts";
import { formUpload } from "../upload.ts";
import { maskComplainant, seesComplainant } from "../present.ts";
import { actionForm, assignDefaults, caseForm, caseFromRegistration, payloadFromForm, plannedView } from "./forms.ts";
import type { PageDeps } from "./index.ts";
import { MANUAL_CHOICES, showsProgress } from "./ledger.ts";
import { actorOf, fileSize, formOf, refusal, render, str, strs, type Errors } from "./render.ts";

export function casePages(deps: PageDeps): express.Router {
  const { service, clock } = deps;
  const router = express.Router();
  const upload = formUpload(deps.maxUploadBytes, 10);

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
