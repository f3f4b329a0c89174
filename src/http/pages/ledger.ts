/**
 * The 台账 page: the list (the same listCases and query schema as GET /api/cases), its saved filters
 * (常用筛选) and batch actions, each row through the single action's path.
 */
import express, { type Request, type Response } from "express";
import {
  KIND_LABELS,
  LEVEL_LABELS,
  isOfficeRole,
  stateFilterChoices,
  stateKeys,
  stateLabel,
  type CaseKind,
} from "../../../workflows/index.ts";
import { applyToEach, assignAsPlanned, noticeToEach, type BatchResult } from "../../cases/batch.ts";
import { listCases, type ListedCase } from "../../cases/queries.ts";
import { CATEGORIES } from "../../cases/schemas.ts";
import { AWAITING, AWAITING_GROUPS } from "../../cases/worklists.ts";
import { deleteFilter, saveFilter, savedFilters } from "../../cases/saved-filters.ts";
import type { CaseDoc } from "../../db/models.ts";
import { unitChoices, unitNames } from "../../directory.ts";
import { AppError } from "../../errors.ts";
import { MANUAL_LEVELS, } from "../../notices/issuer.ts";
import { assertCsrf } from "../auth.ts";
import { caseListQuery } from "../routes/cases.ts";
import type { PageDeps } from "./index.ts";
import { actorOf, countText, formOf, pageQuery, refusal, render, str, strs, type Errors } from "./render.ts";
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
export const MANUAL_CHOICES = MANUAL_LEVELS.map((l) => ({ v: l, l: LEVEL_LABELS[l] }));

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

export function ledgerPages(deps: PageDeps): express.Router {
  const { service, clock } = deps;
  const router = express.Router();

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

  return router;
}
