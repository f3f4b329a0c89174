/** Case routes: list, register, read (with history, notices, allowed events), events, attachments, notices by hand. */
import { z } from "zod";
import { CASE_KINDS, KIND_LABELS, eventLabel, eventTypesOf, payloadSchemaOf, shanghaiDate, type Actor } from "../../../workflows/index.ts";
import type { Clock } from "../../clock.ts";
import { ALLOWED_TYPES, openAttachment, storeAttachment } from "../../cases/attachments.ts";
import { MAX_BATCH, applyToEach, assignAsPlanned, noticeToEach } from "../../cases/batch.ts";
import { SORTS, listCases } from "../../cases/queries.ts";
import { caseStats } from "../../cases/stats.ts";
import { CATEGORIES, newCaseSchema } from "../../cases/schemas.ts";
import { AWAITING, AWAITING_GROUPS } from "../../cases/worklists.ts";
import type { CaseService } from "../../cases/service.ts";
import { caseView } from "../../cases/view.ts";
import { AppError } from "../../errors.ts";
import { issueByHand, manualNoticeSchema } from "../../notices/issuer.ts";
import { OFFICE, periodOf, qs, qsBool, qsDate, qsInt, readForm, type Api, type Form } from "../api.ts";
import { formUpload } from "../upload.ts";
import { objectIdParam, ref } from "../contract.ts";
import { presentCase, presentEntry, presentNotice } from "../present.ts";

export const caseListQuery = z.strictObject({
  kind: z.enum(CASE_KINDS, { error: "参数 kind 应为 inspection 或 complaint" }).optional(),
  state: qs("state").optional(),
  unit: qs("unit").optional(),
  category: z.enum(CATEGORIES, { error: "参数 category 不正确" }).optional(),
  round: qs("round").optional(),
  overdue: qsBool("overdue").optional(),
  behindSchedule: qsBool("behindSchedule").optional(),
  q: qs("q").optional(),
  deadlineFrom: qsDate("deadlineFrom").optional().meta({ description: "时限不早于此日；不能晚于 deadlineTo（否则 422）" }),
  deadlineTo: qsDate("deadlineTo").optional().meta({ description: "时限不晚于此日" }),
  awaiting: z.enum(AWAITING, { error: `参数 awaiting 应为：${AWAITING.join("、")}（${AWAITING.map((g) => AWAITING_GROUPS[g].label).join("、")}）` }).optional(),
  page: qsInt("page", 1, 100_000).default(1),
  pageSize: qsInt("pageSize", 1, 100).default(20),
  sort: z.enum(SORTS, { error: `参数 sort 应为：${SORTS.join("、")}` }).default("-updatedAt"),
})
  // Bounds the wrong way round would select nothing: refused, as /api/stats refuses an inverted period.
  .refine((q) => !(q.deadlineFrom && q.deadlineTo && q.deadlineFrom > q.deadlineTo), { path: ["deadlineFrom"], error: "时限起始日期不能晚于截止日期" });

const eventBody = z.strictObject({
  type: z.string({ error: "请指定操作类型 type" }).min(1, { error: "请指定操作类型 type" }).max(40, { error: "操作类型 type 不能超过 40 个字符" }),
  payload: z.record(z.string(), z.unknown(), { error: "payload 应为对象" }).default({}),
  expectedVersion: z.number({ error: "expectedVersion 应为正整数" }).int().min(1).optional(),
});

/**
 * The event body as the service judges it: the case's kind decides which types it knows and each
 * type's payload (optional where an empty one is valid). PUBLICITY_END is the system's alone.
 */
const documentedEvent = z.union(
  CASE_KINDS.flatMap((kind) =>
    eventTypesOf(kind)
      .filter((type) => type !== "PUBLICITY_END")
      .map((type) => {
        const payload = payloadSchemaOf(kind, type)!;
        return z
          .strictObject({ type: z.literal(type), payload: payload.safeParse({}).success ? payload.optional() : payload, expectedVersion: eventBody.shape.expectedVersion })
          .meta({ title: `${KIND_LABELS[kind]}：${eventLabel(type)}（${type}）` });
      }),
  ),
);

/** Idempotency-Key: a retry with the same key and request is answered with the first result. */
const IDEMPOTENCY_KEY = /^[A-Za-z0-9_.:-]{8,100}$/;

const batchIds = z.array(z.string().max(64), { error: "ids 应为案件编号的数组" }).min(1, { error: "请先勾选要办理的案件" }).max(MAX_BATCH, { error: `一次最多办理 ${MAX_BATCH} 件` });
const batchEventBody = z.strictObject({ ids: batchIds, type: eventBody.shape.type, payload: eventBody.shape.payload });
const batchNoticeBody = manualNoticeSchema.extend({ ids: batchIds }).strict();
const batchPlannedBody = z.strictObject({ ids: batchIds });

const statsQuery = z.strictObject({
  from: qsDate("from").optional(),
  to: qsDate("to").optional(),
  unit: qs("unit").optional(),
  kind: z.enum(CASE_KINDS, { error: "参数 kind 应为 inspection 或 complaint" }).optional(),
});

/** What evidence may be, by content (file-type): see attachments.ts. */
const EVIDENCE_TYPES = Object.values(ALLOWED_TYPES);
const evidenceForm: Form = {
  fields: z.strictObject({ _csrf: z.string().max(200).optional().meta({ description: "为兼容旧表单而接受，本身不作数：CSRF 令牌须在 X-CSRF-Token 请求头或查询参数 _csrf 中（表单内容在核对令牌之后才读取）" }) }),
  file: { name: "file", description: "佐证材料：jpg、png、pdf、docx 或 xlsx（按内容识别，不看扩展名）", types: EVIDENCE_TYPES },
};

export function caseRoutes(api: Api, deps: { service: CaseService; clock: Clock; maxUploadBytes: number }) {
  const { service, clock } = deps;
  const upload = formUpload(deps.maxUploadBytes, 1);

  api.add({
    method: "get",
    path: "/cases",
    tag: "cases",
    summary: "整改台账：按条件列出案件（单位只看到本单位牵头或配合的案件）",
    query: caseListQuery,
    returns: "{items, total, totalCapped, page, pages, pageSize}：page 超过最后一页时 items 为空，total 与 pages 照实；totalCapped 为 true 时 total 是下限（全文检索、日期等条件只数到 2000 件或所请求的页为止）",
    response: { schema: ref("CaseList") },
    async handle({ actor, query }) {
      const { page, pageSize, sort, ...filter } = query;
      const r = await listCases(actor, filter, { page, pageSize, sort }, clock.now(), { pastEnd: "empty" });
      return { items: r.items.map((c) => ({ ...presentCase(c, actor), light: c.light })), total: r.total, totalCapped: r.totalCapped, page: r.page, pages: r.pages, pageSize };
    },
  });

  // Before "/cases/:id/…", which would take "batch" for an id.
  api.add({
    method: "post",
    path: "/cases/batch/events",
    tag: "cases",
    summary: `批量办理：对多件案件执行同一操作（如签收、交办），逐件经同一服务办理；结果列出每件是否成功及原因（一次最多 ${MAX_BATCH} 件）`,
    body: batchEventBody,
    returns: "{done, failed, rows: [{id, ledgerNumber, ok, message}]}：每件案件按其类型与状态判断 type 与 payload，不符的列在 rows 里",
    response: { schema: ref("BatchResult") },
    async handle({ actor, body }) {
      return applyToEach(service, body.ids, { type: body.type, payload: body.payload }, actor);
    },
  });

  api.add({
    method: "post",
    path: "/cases/batch/assign-planned",
    tag: "cases",
    summary: `按清单交办（整改办）：把多件待交办案件各自交办给清单所列的牵头单位、配合单位和时限（plannedLeadUnitId、plannedCoUnitIds、plannedDeadline），逐件经同一服务办理；不能交办的逐件说明原因（一次最多 ${MAX_BATCH} 件）`,
    roles: OFFICE,
    body: batchPlannedBody,
    returns: "{done, failed, rows: [{id, ledgerNumber, ok, message}]}",
    response: { schema: ref("BatchResult") },
    async handle({ actor, body }) {
      return assignAsPlanned(service, body.ids, actor);
    },
  });

  api.add({
    method: "post",
    path: "/cases/batch/notices",
    tag: "notices",
    summary: "批量催办（整改办）：向多件案件的责任单位各发出一份通知",
    roles: OFFICE,
    body: batchNoticeBody,
    status: 201,
    returns: "{done, failed, rows: [{id, ledgerNumber, ok, message}]}",
    response: { schema: ref("BatchResult") },
    async handle({ actor, body }) {
      const { ids, ...notice } = body;
      return noticeToEach(service, ids, notice, actor, clock);
    },
  });

  api.add({
    method: "post",
    path: "/cases",
    tag: "cases",
    summary: "登记案件（整改办）",
    roles: OFFICE,
    body: newCaseSchema,
    status: 201,
    returns: "the new case",
    response: { schema: ref("Case") },
    errors: { 409: "反馈问题序号已在台账中，或拟牵头、拟配合单位不存在或已停用" },
    async handle({ actor, body }) {
      return presentCase(await service.createCase(body, actor), actor);
    },
  });

  api.add({
    method: "get",
    path: "/cases/:id",
    tag: "cases",
    summary: "案件详情：字段、办理记录、通知、附件、当前用户可执行的操作，以及信号灯、时限版本、公示期和待批的延期申请",
    params: { id: objectIdParam("案件") },
    returns: "{case, history, notices, attachments, allowedEvents, blockedEvents, light, deadlineRevisions, publicity, pendingExtension, instructions}",
    response: { schema: ref("CaseDetail") },
    async handle({ actor, params }) {
      // The case page's view model: the page and the API show the same actions, light and dates.
      const v = await caseView(service, params.id!, actor, clock.now());
      return {
        case: presentCase(v.case, actor),
        history: v.history.map(presentEntry),
        notices: v.notices.map(presentNotice),
        attachments: v.attachments.map(({ step: _step, ...a }) => a),
        allowedEvents: v.allowedEvents,
        blockedEvents: v.blockedEvents,
        light: v.light,
        deadlineRevisions: v.revisions,
        publicity: v.publicity,
        pendingExtension: v.pendingExtension,
        instructions: v.instructions.map(({ caseId: _case, noticeId: _notice, ...i }) => i),
      };
    },
  });

  api.add({
    method: "post",
    path: "/cases/:id/events",
    tag: "cases",
    summary: "对案件执行一个操作（交办、签收、报送进展、申请销号……），可带 Idempotency-Key 请求头",
    params: { id: objectIdParam("案件") },
    headers: { "Idempotency-Key": { pattern: IDEMPOTENCY_KEY, description: "幂等键：同一用户以同一键重试同一操作只办理一次", refusal: ["bad_idempotency_key", "Idempotency-Key 应为 8–100 位字母、数字或 . _ : -"] } },
    body: eventBody,
    documentedBody: documentedEvent,
    returns: "{case, entry, replayed}",
    response: { schema: ref("Applied") },
    errors: {
      403: "角色或单位不能执行此操作，或 CSRF 令牌缺失、不符",
      409: "版本已变（details.currentVersion），或案件当前状态不允许此操作（details.allowedEvents；暂不能办理的原因见 details.reasons，如延期申请待批期间不能申请销号）",
      422: "type 不是此类案件的操作、payload 不符，或违反与案件相关的规则（如期限已过、单位或附件不存在）；同一幂等键用于不同的操作",
    },
    async handle({ req, actor, params, body }) {
      const r = await service.applyEvent(params.id!, { ...body, idempotencyKey: req.get("idempotency-key") }, actor);
      return { case: presentCase(r.case, actor), entry: presentEntry(r.entry), replayed: r.replayed };
    },
  });

  api.add({
    method: "post",
    path: "/cases/:id/attachments",
    tag: "attachments",
    summary: "上传佐证材料（multipart，字段名 file；jpg、png、pdf、docx、xlsx，按内容识别）",
    params: { id: objectIdParam("案件") },
    form: evidenceForm,
    status: 201,
    returns: "{id, name, size, type, sha256}",
    response: { schema: ref("Attachment") },
    errors: { 403: "角色或单位不能上传，或 CSRF 令牌缺失、不符", 422: "没有文件，或文件内容不是所列类型之一" },
    async handle({ req, res, actor, params }) {
      const c = await service.getCase(params.id!, actor);
      const { file } = await readForm(req, res, upload, evidenceForm);
      if (!file) throw new AppError(422, "invalid_fields", "请选择要上传的文件", { fields: [{ field: "file", message: "请选择要上传的文件" }] });
      return storeAttachment(c._id.toString(), file, actor);
    },
  });

  api.add({
    method: "get",
    path: "/attachments/:id",
    tag: "attachments",
    summary: "下载佐证材料（能查看该案件的用户）",
    params: { id: objectIdParam("附件") },
    returns: "the file (Content-Disposition: attachment)",
    response: { types: EVIDENCE_TYPES },
    async handle({ res, actor, params }) {
      const { info, stream } = await openAttachment(params.id!, (caseId) => service.getCase(caseId, actor));
      res.setHeader("Content-Type", info.type);
      res.setHeader("Content-Length", String(info.size));
      res.setHeader("X-Content-Type-Options", "nosniff");
      res.attachment(info.name);
      await new Promise<void>((resolve, reject) => stream.on("error", reject).pipe(res).on("finish", () => resolve()));
      return undefined;
    },
  });

  api.add({
    method: "post",
    path: "/cases/:id/notices",
    tag: "notices",
    summary: "手动发出督办通知或预警（整改办）",
    roles: OFFICE,
    params: { id: objectIdParam("案件") },
    body: manualNoticeSchema.strict(),
    status: 201,
    returns: "the notice",
    response: { schema: ref("Notice") },
    async handle({ actor, params, body }) {
      const c = await service.getCase(params.id!, actor);
      return presentNotice(await issueByHand(c, body, actor, clock));
    },
  });

  api.add({
    method: "get",
    path: "/stats",
    tag: "stats",
    summary: "统计：各状态数量、超期、滞后，及受理率、查处率、结案率、回复率、按期办结率、满意率、按期整改率（长期坚持事项单列，不计入按期率）；口径见 docs/domain.md#figures",
    query: statsQuery,
    returns: "figures",
    response: { schema: { type: "object", required: ["total", "byState", "overdue", "behindSchedule"] } },
    async handle({ actor, query }) {
      return caseStats(actor as Actor, { kind: query.kind, unit: query.unit, ...periodOf(query, shanghaiDate(clock.now())) }, clock.now());
    },
  });
}
