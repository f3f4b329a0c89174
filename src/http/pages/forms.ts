/**
 * Action forms on the case page, built from the event payload schemas of the machines: the fields
 * follow the schema, this file only says which widget and label each field gets, and turns the
 * submitted form back into a payload. No workflow rule lives here.
 */
import type { z } from "zod";
import { REPLY_CHANNELS, SATISFACTION, VISIT_METHODS, eventLabel, payloadSchemaOf, type CaseKind } from "../../../workflows/index.ts";

type Input = "unit" | "units" | "date" | "number" | "textarea" | "text" | "files" | "bool" | "select";
interface Widget {
  label: string;
  input: Input;
  options?: readonly string[];
}

const WIDGETS: Record<string, Widget> = {
  leadUnitId: { label: "牵头（承办）单位", input: "unit" },
  coUnitIds: { label: "配合单位", input: "units" },
  deadline: { label: "时限", input: "date" },
  requirements: { label: "工作要求", input: "textarea" },
  reason: { label: "理由", input: "textarea" },
  percent: { label: "整改进度（%）", input: "number" },
  text: { label: "情况说明", input: "textarea" },
  attachmentIds: { label: "佐证材料（照片、PDF、Word、Excel）", input: "files" },
  summary: { label: "完成情况", input: "textarea" },
  publicityDays: { label: "公示天数（工作日，0 为不公示）", input: "number" },
  note: { label: "备注", input: "textarea" },
  to: { label: "转送机关", input: "text" },
  violationFound: { label: "是否发现环境违法行为", input: "bool" },
  measures: { label: "处理措施", input: "textarea" },
  channel: { label: "答复方式", input: "select", options: REPLY_CHANNELS },
  satisfaction: { label: "满意度", input: "select", options: SATISFACTION },
  checkedBy: { label: "核查人员", input: "text" },
  checkedOn: { label: "核查日期", input: "date" },
  opinion: { label: "核查意见", input: "textarea" },
  visitedOn: { label: "回访日期", input: "date" },
  visitMethod: { label: "回访方式", input: "select", options: VISIT_METHODS },
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

export interface FormField extends Widget {
  name: string;
  value?: unknown;
  error?: string;
}

export interface ActionForm {
  type: string;
  label: string;
  fields: FormField[];
  multipart: boolean;
  error?: string;
}

function shapeOf(kind: CaseKind, type: string): Record<string, z.ZodType> {
  const schema = payloadSchemaOf(kind, type) as unknown as { shape?: Record<string, z.ZodType> } | undefined;
  return schema?.shape ?? {};
}

/** The form of an event, with submitted values and field errors when it is shown again. */
export function actionForm(kind: CaseKind, type: string, values: Record<string, unknown> = {}, errors: Record<string, string> = {}, terms?: Terms): ActionForm {
  const words = inTerms(type, eventLabel(type), (_n, l) => l, terms);
  const fields = Object.keys(shapeOf(kind, type)).map((name) => {
    const widget = WIDGETS[name] ?? { label: name, input: "text" as const };
    const label = Object.hasOwn(LABEL_OVERRIDES, type) && LABEL_OVERRIDES[type]![name] ? LABEL_OVERRIDES[type]![name]! : widget.label;
    return { name, ...widget, label: words.fieldLabel(name, label), value: values[name], error: errors[name] };
  });
  return { type, label: words.label, fields, multipart: fields.some((f) => f.input === "files"), error: errors._form };
}

/** Form values (strings, repeated keys) → the payload the schema expects; files are uploaded by the caller. */
export function payloadFromForm(kind: CaseKind, type: string, body: Record<string, unknown>, attachmentIds: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(shapeOf(kind, type))) {
    const input = WIDGETS[name]?.input ?? "text";
    const raw = body[name];
    const one = Array.isArray(raw) ? raw[0] : raw;
    if (input === "files") out[name] = attachmentIds;
    else if (input === "units") out[name] = (Array.isArray(raw) ? raw : raw ? [raw] : []).filter((v) => typeof v === "string" && v);
    else if (one === undefined || one === "") continue;
    else if (input === "number") out[name] = /^-?\d+(\.\d+)?$/.test(String(one)) ? Number(one) : one;
    else if (input === "bool") out[name] = one === "true" ? true : one === "false" ? false : one;
    else out[name] = one;
  }
  return out;
}
