/** What a new case must carry, per kind; messages name the field in Chinese. */
import { z } from "zod";
import { cleanedEquals, id, isoDate, optionalText, text } from "../../workflows/index.ts";

export const CATEGORIES = ["大气", "水", "土壤", "固废", "噪声", "生态", "辐射", "其他"] as const;
export const COMPLAINT_CHANNELS = ["12369热线", "信访投诉举报平台", "网络", "来信", "来访", "12345转办", "上级交办"] as const;

const category = z.enum(CATEGORIES, { error: `问题类别应为：${CATEGORIES.join("、")}` });

/** Complaint numbers (XF-YYYY-NNNNNN) are issued by the system; an inspection item taking one would block the next complaint. */
export const COMPLAINT_NUMBER = /^XF-\d{4}-\d{6}$/;
const complaintNumberAtoms = ["X", "F", "-", ...Array(4).fill("[0-9]"), "-", ...Array(6).fill("[0-9]")];
export const complaintNumberTaken = (n: string) => `“${n}”是信访件编号的格式，不能用作督察反馈问题的序号`;

export const newInspectionSchema = z.object({
  kind: z.literal("inspection"),
  ledgerNumber: text("反馈问题序号", 64)
    .refine((n) => !COMPLAINT_NUMBER.test(n), { error: (i) => complaintNumberTaken(String(i.input)) })
    .meta({ not: { pattern: cleanedEquals(complaintNumberAtoms) }, description: "反馈问题序号；不能是信访件编号的格式 XF-YYYY-NNNNNN" }),
  title: text("问题标题", 500),
  description: optionalText("问题描述", 20000).default(""),
  category: category.default("其他"),
  source: optionalText("问题来源", 200),
  round: text("督察轮次", 100),
  goal: optionalText("整改目标"),
  measures: optionalText("整改措施"),
  immediate: z.boolean({ error: "立行立改应为是或否" }).default(false),
  longTerm: z.boolean({ error: "长期坚持应为是或否" }).default(false),
  plannedDeadline: isoDate("计划整改时限").optional(),
  // The planned assignment (拟牵头、拟配合单位): kept on the case until the office assigns it (按清单交办, or the 交办 form's defaults).
  plannedLeadUnitId: id("拟牵头单位").optional(),
  plannedCoUnitIds: z.array(id("拟配合单位"), { error: "拟配合单位格式不正确" }).max(50, { error: "拟配合单位最多 50 个" }).default([]),
});

export const newComplaintSchema = z.object({
  kind: z.literal("complaint"),
  title: text("投诉事项", 500),
  description: optionalText("投诉内容", 20000).default(""),
  category: category.default("其他"),
  channel: z.enum(COMPLAINT_CHANNELS, { error: `来源渠道应为：${COMPLAINT_CHANNELS.join("、")}` }),
  complainant: z
    .object({
      name: optionalText("信访人姓名", 100),
      phone: optionalText("联系电话", 50),
      address: optionalText("联系地址", 500),
    })
    .default({}),
  // Not after today (the case service checks it against its clock; the document carries that day's pattern).
  receivedOn: isoDate("收到日期").optional().meta({ "x-until": "today", description: "收到日期，不晚于今天；不填为今天" }),
});

export const newCaseSchema = z.discriminatedUnion("kind", [newInspectionSchema, newComplaintSchema], {
  error: "案件类型应为 inspection（督察反馈问题）或 complaint（环境信访投诉）",
});
export type NewCase = z.input<typeof newCaseSchema>;
