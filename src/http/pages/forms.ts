/**
 * Forms built from the zod schemas that the services validate: the event payloads of the machines
 * (the case page's actions) and the new-case schemas (the registration pages). The fields follow
 * the schema, their kinds (choice, yes/no, group) come from it; this file only says which label and
 * widget a field gets, and turns the submitted form back into the input the schema expects.
 * No workflow rule lives here.
 */
import type { z } from "zod";
import { eventLabel, payloadSchemaOf, type CaseKind } from "../../../workflows/index.ts";
import { newComplaintSchema, newInspectionSchema } from "../../cases/schemas.ts";
import type { CaseDoc } from "../../db/models.ts";
import { fromZod, invalid, type FieldError } from "../../errors.ts";
import { DEADLINE_FORMS, immediateDeadline, parseDeadline, plannedOf } from "../../io/deadline-phrases.ts";

type Input = "unit" | "units" | "date" | "number" | "percent" | "textarea" | "text" | "files" | "bool" | "check" | "select";
interface Widget {
  label: string;
  input?: Input;
  hint?: string;
}

/** Event payload fields. */
const WIDGETS: Record<string, Widget> = {
  leadUnitId: { label: "牵头（承办）单位", input: "unit" },
  coUnitIds: { label: "配合单位", input: "units" },
  deadline: { label: "时限", input: "date" },
  requirements: { label: "工作要求", input: "textarea" },
  reason: { label: "理由", input: "textarea" },
  percent: { label: "整改进度（%）", input: "percent" },
  text: { label: "情况说明", input: "textarea" },
  attachmentIds: { label: "佐证材料（照片、PDF、Word、Excel）", input: "files" },
  summary: { label: "完成情况", input: "textarea" },
  publicityDays: { label: "公示天数（工作日，0 为不公示）", input: "number" },
  note: { label: "备注", input: "textarea" },
  to: { label: "转送机关" },
  violationFound: { label: "是否发现环境违法行为", input: "bool" },
  measures: { label: "处理措施", input: "textarea" },
  channel: { label: "答复方式" },
  satisfaction: { label: "满意度" },
  checkedBy: { label: "核查人员" },
  checkedOn: { label: "核查日期", input: "date" },
  opinion: { label: "核查意见", input: "textarea" },
  visitedOn: { label: "回访日期", input: "date" },
  visitMethod: { label: "回访方式" },
  instruction: { label: "批示", input: "number" },
  noticeId: { label: "通知" },
};

const LABEL_OVERRIDES: Record<string, Record<string, string>> = {
  ASSIGN: { deadline: "整改（办理）时限" },
  REQUEST_EXTENSION: { deadline: "申请延期至", reason: "延期理由" },
  REOPEN: { deadline: "新的整改时限", reason: "重新整改的理由" },
  REPLY: { text: "答复内容" },
  SUBMIT_RESULT: { summary: "调查核实情况" },
  OBJECTION: { reason: "异议内容" },
  PASS: { attachmentIds: "核查照片、资料（照片、PDF、Word、Excel）" },
  CLOSE: { note: "回访情况" },
  INSTRUCT: { text: "批示内容" },
  CARRY_OUT: { text: "落实情况" },
};

/** New-case fields (registration). */
const CASE_WIDGETS: Record<string, Widget> = {
  ledgerNumber: { label: "反馈问题序号", hint: "按反馈问题清单的序号填写，如 ZY2-03" },
  title: { label: "问题标题" },
  description: { label: "问题描述", input: "textarea" },
  category: { label: "问题类别" },
  source: { label: "问题来源", hint: "如：中央生态环境保护督察" },
  round: { label: "督察轮次", hint: "如：中央第二轮" },
  goal: { label: "整改目标", input: "textarea" },
  measures: { label: "整改措施", input: "textarea" },
  immediate: { label: "立行立改", input: "check" },
  longTerm: { label: "长期坚持", input: "check" },
  plannedDeadline: { label: "计划整改时限", input: "text", hint: `可填写：${DEADLINE_FORMS}` },
  plannedLeadUnitId: { label: "拟牵头单位", input: "unit", hint: "交办时默认选用，可在交办时更改" },
  plannedCoUnitIds: { label: "拟配合单位", input: "units" },
  channel: { label: "来源渠道" },
  "complainant.name": { label: "信访人姓名" },
  "complainant.phone": { label: "联系电话" },
  "complainant.address": { label: "联系地址" },
  receivedOn: { label: "收到日期", input: "date", hint: "不填为今天" },
};
const CASE_LABEL_OVERRIDES: Record<CaseKind, Record<string, string>> = {
  inspection: {},
  complaint: { title: "投诉事项", description: "投诉内容" },
};


/** What the office calls its close-out check (系统设置): 现场核查, or 验收 where offices say 验收. */
export interface Terms {
  verification: string;
}

/** The 审核通过 form in the office's words: "审核通过（现场核查）" or "验收通过", with fields to match. */
function inTerms(type: string, label: string, fieldLabel: (name: string, l: string) => string, terms?: Terms) {
  if (type !== "PASS" || !terms) return { label, fieldLabel };
  const t = terms.verification;
  return {
    label: t === "验收" ? "验收通过" : `${label}（${t}）`,
    fieldLabel: (name: string, l: string) => (["checkedBy", "checkedOn", "opinion", "attachmentIds"].includes(name) ? l.replace("核查", t) : fieldLabel(name, l)),
  };
}

export interface FormField {
  name: string;
  label: string;
  input: Input;
  hint?: string;
  options?: readonly string[];
  required: boolean;
  value?: unknown;
  error?: string;
}

export interface ActionForm {
  type: string;
  label: string;
  fields: FormField[];
  multipart: boolean;
  error?: string;
  /** What the office must see to decide (e.g. the date a unit asked for). */
  note?: string;
}

type Def = { type: string; innerType?: z.ZodType; entries?: Record<string, string>; shape?: Record<string, z.ZodType> };
const defOf = (s: z.ZodType) => (s as unknown as { _zod: { def: Def } })._zod.def;

/** The schema under optional/default wrappers, and whether the field may be left empty. */
function unwrap(s: z.ZodType): { inner: Def; required: boolean } {
  let d = defOf(s);
  let required = true;
  while (d.innerType) {
    if (d.type === "optional" || d.type === "default") required = false;
    d = defOf(d.innerType);
  }
  return { inner: d, required };
}

/** The fields of an object schema, a nested object's as "outer.inner"; literals (the kind) are the page's own. */
function fieldsOf(shape: Record<string, z.ZodType>, widget: (name: string) => Widget | undefined, prefix = ""): FormField[] {
  const out: FormField[] = [];
  for (const [key, schema] of Object.entries(shape)) {
    const name = `${prefix}${key}`;
    const { inner, required } = unwrap(schema);
    if (inner.type === "literal") continue;
    if (inner.type === "object" && inner.shape) {
      out.push(...fieldsOf(inner.shape, widget, `${name}.`));
      continue;
    }
    const w = widget(name) ?? { label: name };
    const input: Input = w.input ?? (inner.type === "enum" ? "select" : inner.type === "boolean" ? "bool" : "text");
    out.push({ name, label: w.label, input, hint: w.hint, options: inner.entries ? Object.keys(inner.entries) : undefined, required: required && input !== "files" });
  }
  return out;
}

const withValues = (fields: FormField[], values: Record<string, unknown>, errors: Record<string, string>) =>
  fields.map((f) => ({ ...f, value: values[f.name], error: errors[f.name] }));

function shapeOf(kind: CaseKind, type: string): Record<string, z.ZodType> {
  const schema = payloadSchemaOf(kind, type) as unknown as { shape?: Record<string, z.ZodType> } | undefined;
  return schema?.shape ?? {};
}

const eventFields = (kind: CaseKind, type: string) =>
  fieldsOf(shapeOf(kind, type), (name) => {
    const w = WIDGETS[name];
    const label = LABEL_OVERRIDES[type]?.[name];
    return w && label ? { ...w, label } : w;
  });

/** The form of an event, with submitted values and field errors when it is shown again. */
export function actionForm(kind: CaseKind, type: string, values: Record<string, unknown> = {}, errors: Record<string, string> = {}, terms?: Terms): ActionForm {
  const words = inTerms(type, eventLabel(type), (_n, l) => l, terms);
  const fields = withValues(eventFields(kind, type), values, errors).map((f) => ({ ...f, label: words.fieldLabel(f.name, f.label) }));
  return { type, label: words.label, fields, multipart: fields.some((f) => f.input === "files"), error: errors._form };
}

/** Form values (strings, repeated keys) → the payload the schema expects; files are stored by the caller. */
export function payloadFromForm(kind: CaseKind, type: string, body: Record<string, unknown>, attachmentIds: string[]): Record<string, unknown> {
  return inputFromForm(eventFields(kind, type), body, attachmentIds);
}

const caseSchemas = { inspection: newInspectionSchema, complaint: newComplaintSchema } as const;

const caseFields = (kind: CaseKind) =>
  fieldsOf(caseSchemas[kind].shape as Record<string, z.ZodType>, (name) => {
    const w = CASE_WIDGETS[name];
    const label = CASE_LABEL_OVERRIDES[kind][name];
    return w && label ? { ...w, label } : w;
  });

/** The registration form of a kind of case. */
export function caseForm(kind: CaseKind, values: Record<string, unknown> = {}, errors: Record<string, string> = {}): FormField[] {
  return withValues(caseFields(kind), values, errors);
}

/** A posted registration form → the new case's input (newCaseSchema checks it). */
export function caseFromForm(kind: CaseKind, body: Record<string, unknown>): Record<string, unknown> {
  return { ...inputFromForm(caseFields(kind), body, []), kind };
}

/**
 * A posted registration form → the new case's input, its 计划整改时限 read as the import reads the
 * list's 整改时限 (2027年6月底前, 立行立改, 长期坚持 …): one parser for both. A phrase it cannot read is
 * the field's error.
 */
export async function caseFromRegistration(kind: CaseKind, body: Record<string, unknown>, today: string): Promise<Record<string, unknown>> {
  const input = caseFromForm(kind, body);
  const text = typeof input.plannedDeadline === "string" ? input.plannedDeadline.trim() : "";
  if (kind !== "inspection" || !text) return input;
  const p = parseDeadline(text);
  if (!p.ok) {
    // Said beside the other fields' errors, as the service would say them.
    const rest = caseSchemas[kind].safeParse({ ...input, plannedDeadline: undefined });
    throw invalid([...(rest.success ? [] : ((fromZod(rest.error).details.fields as FieldError[] | undefined) ?? [])), { field: "plannedDeadline", message: p.message }]);
  }
  let immediateDate: string | null = null;
  if (p.value.kind === "immediate") {
    const d = await immediateDeadline(today);
    if ("error" in d) throw invalid([{ field: "plannedDeadline", message: `无法计算立行立改的时限：${d.error}` }]);
    immediateDate = d.date;
  }
  const planned = plannedOf(p.value, immediateDate);
  return {
    ...input,
    plannedDeadline: planned.plannedDeadline ?? undefined,
    immediate: input.immediate === true || planned.immediate,
    longTerm: input.longTerm === true || planned.longTerm,
  };
}

/** The 交办 form's starting values: the planned assignment (the list's units and deadline), where there is one. */
export function assignDefaults(c: Pick<CaseDoc, "plannedLeadUnitId" | "plannedCoUnitIds" | "plannedDeadline">): Record<string, unknown> {
  return { leadUnitId: c.plannedLeadUnitId ?? undefined, coUnitIds: c.plannedCoUnitIds ?? [], deadline: c.plannedDeadline ?? undefined };
}

/** The planned assignment as the case page shows it, or null when the case has none. */
export function plannedView(c: Pick<CaseDoc, "plannedLeadUnitId" | "plannedCoUnitIds" | "plannedDeadline" | "leadUnitId">, names: Map<string, string>) {
  const co = (c.plannedCoUnitIds ?? []).map((u) => names.get(u) ?? u);
  if (!c.plannedLeadUnitId && !co.length && !c.plannedDeadline) return null;
  return { lead: c.plannedLeadUnitId ? (names.get(c.plannedLeadUnitId) ?? c.plannedLeadUnitId) : null, co: co.join("、"), deadline: c.plannedDeadline ?? null, assigned: !!c.leadUnitId };
}

function inputFromForm(fields: FormField[], body: Record<string, unknown>, attachmentIds: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const put = (name: string, v: unknown) => {
    const path = name.split(".");
    let at = out;
    for (const p of path.slice(0, -1)) {
      at[p] ??= {};
      at = at[p] as Record<string, unknown>;
    }
    at[path.at(-1)!] = v;
  };
  for (const f of fields) {
    const raw = body[f.name];
    const one = Array.isArray(raw) ? raw[0] : raw;
    if (f.input === "files") put(f.name, attachmentIds);
    else if (f.input === "units") put(f.name, (Array.isArray(raw) ? raw : raw ? [raw] : []).filter((v) => typeof v === "string" && v));
    else if (f.input === "check") put(f.name, one === "on" || one === "true");
    else if (one === undefined || one === "") continue;
    else if (f.input === "number" || f.input === "percent") put(f.name, /^-?\d+(\.\d+)?$/.test(String(one).trim()) ? Number(one) : one);
    else if (f.input === "bool") put(f.name, one === "true" ? true : one === "false" ? false : one);
    else put(f.name, one);
  }
  return out;
}
