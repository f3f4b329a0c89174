/**
 * The import template (问题清单模板.xlsx): the columns the importer reads (columns.ts), one example
 * row that imports as it stands, and a notes sheet saying what each column takes. The data sheet
 * comes first, so the importer finds its header there; the notes sheet has no header row it would take.
 */
import ExcelJS from "exceljs";
import { CATEGORIES } from "../cases/schemas.ts";
import { FIELD_NAMES, REQUIRED, type Field } from "./columns.ts";
import { DEADLINE_FORMS, IMMEDIATE_WORKDAYS } from "./deadline-phrases.ts";

/** The template's columns, in the order a feedback list usually has them. */
export const TEMPLATE_FIELDS: Field[] = ["number", "round", "description", "category", "lead", "co", "goal", "measures", "deadline"];

/** Fields a new item must have (the header's own, REQUIRED, and the deadline and the problem). */
const MUST: Field[] = ["number", "description", "deadline", ...REQUIRED];

const NOTES: Record<Field, string> = {
  number: "反馈问题序号，如 ZY2-01；在台账中唯一。已在台账中的序号按内容核对，一致的不重复登记",
  kind: "",
  round: "如：中央第二轮、省级第一轮",
  description: "问题描述全文；问题标题取其第一句",
  title: "",
  category: `可选：${CATEGORIES.join("、")}；不填为“其他”`,
  lead: "一个单位，填写全称、简称或别名（须为系统中已登记的单位）",
  co: "可填多个单位，用顿号“、”或逗号分隔；不能与牵头单位相同",
  goal: "",
  measures: "",
  deadline: `可填写：${DEADLINE_FORMS}。立行立改的时限为导入日后 ${IMMEDIATE_WORKDAYS} 个工作日；长期坚持无固定时限`,
};

/**
 * The template workbook. `units`: the directory's active units in their order; the example row names
 * the first as 牵头单位 and the second as 配合单位, so that it imports as it stands.
 */
export async function importTemplate(units: { name: string }[], today: string): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  wb.creator = "整改办";
  const ws = wb.addWorksheet("问题清单", { views: [{ state: "frozen", ySplit: 1 }] });
  ws.columns = TEMPLATE_FIELDS.map((f) => ({ header: FIELD_NAMES[f], key: f, width: f === "description" || f === "measures" || f === "goal" ? 40 : 16 }));
  ws.getRow(1).font = { bold: true };
  const year = Number(today.slice(0, 4)) + 1;
  ws.addRow({
    number: "示例-01",
    round: "中央第二轮",
    description: "示例：某工业园区污水处理厂超标排放，群众反映强烈（导入前请删除本行）",
    category: "水",
    lead: units[0]?.name ?? "",
    co: units[1]?.name ?? "",
    goal: "出水稳定达标",
    measures: "实施提标改造，加强在线监测",
    deadline: `${year}年6月底前`,
  });
  ws.getRow(2).font = { color: { argb: "FF666666" } };
  ws.getColumn("description").alignment = { wrapText: true, vertical: "top" };

  const notes = wb.addWorksheet("填写说明");
  notes.columns = [
    { header: "列", key: "column", width: 14 },
    { header: "必填", key: "must", width: 8 },
    { header: "说明", key: "note", width: 90 },
  ];
  notes.getRow(1).font = { bold: true };
  for (const f of TEMPLATE_FIELDS) notes.addRow({ column: FIELD_NAMES[f], must: MUST.includes(f) ? "是" : "", note: NOTES[f] });
  notes.addRow({});
  for (const line of [
    "表头须在第一个工作表的前 30 行内；列的顺序可以调整，常见的列名（如“责任单位”“完成时限”）也能识别。",
    "第 2 行是示例，导入前请删除或改为实际问题。",
    "导入时先预检：只要有一处错误，一行也不会写入；预检结果列出每一处错误所在的行和列。",
    "导入的问题处于“已登记”（待交办）状态，清单所列的单位和时限记为“拟交办”；在整改台账的“待交办”中勾选后点“按清单交办”即可交办。",
  ])
    notes.addRow({ note: line });
  return Buffer.from(await wb.xlsx.writeBuffer());
}
