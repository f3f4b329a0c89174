/**
 * Finding the columns of a feedback list by their header text: order may vary, common variants
 * are accepted (责任单位 for 牵头单位, 完成时限 for 整改时限, …), and the header row need not be the
 * first (a title line above it is usual). The ledger export's headers are among the variants, so an
 * export can be read back.
 */
import type { Cell } from "./rows.ts";

export type Field = "number" | "kind" | "round" | "description" | "title" | "category" | "lead" | "co" | "goal" | "measures" | "deadline";

/** Header variants per field; earlier ones win when a file has two columns for one field. */
export const HEADERS: Record<Field, string[]> = {
  number: ["台账编号", "反馈问题序号", "问题序号", "问题编号", "序号", "编号"],
  kind: ["案件类型"],
  round: ["督察轮次", "轮次", "督察批次", "反馈轮次"],
  description: ["问题描述", "反馈问题描述", "问题内容", "反馈问题", "存在问题", "问题"],
  title: ["问题标题", "标题", "问题名称", "事项"],
  category: ["类别", "问题类别", "问题类型", "所属类别", "类型"],
  lead: ["牵头单位", "责任单位", "牵头责任单位", "主要责任单位", "牵头部门", "责任部门"],
  co: ["配合单位", "协办单位", "配合责任单位", "配合部门", "协同单位"],
  goal: ["整改目标", "目标"],
  measures: ["整改措施", "措施", "主要措施"],
  deadline: ["整改时限", "完成时限", "整改期限", "完成时间", "整改时间", "时限"],
};

/** The name a field is called by in messages when the file's own header is not at hand. */
export const FIELD_NAMES: Record<Field, string> = {
  number: "序号",
  kind: "案件类型",
  round: "督察轮次",
  description: "问题描述",
  title: "问题标题",
  category: "类别",
  lead: "牵头单位",
  co: "配合单位",
  goal: "整改目标",
  measures: "整改措施",
  deadline: "整改时限",
};

/** NFKC, no whitespace, no "*" required-markers, no parenthesised hint ("整改时限（年月日）"). */
export function headerKey(s: string): string {
  return s
    .normalize("NFKC")
    .replace(/\s+/g, "")
    .replace(/\*/g, "")
    .replace(/\(.*\)$/, "");
}

const lookup = new Map<string, { field: Field; rank: number }>();
for (const [field, names] of Object.entries(HEADERS) as [Field, string[]][])
  for (const [rank, n] of names.entries()) lookup.set(headerKey(n), { field, rank });

export interface Column {
  index: number;
  /** The header as written in the file (trimmed). */
  header: string;
}

export type ColumnMap = Partial<Record<Field, Column>>;

/** Columns found in a row taken as the header. */
export function mapHeader(cells: Cell[]): ColumnMap {
  const best = new Map<Field, { column: Column; rank: number }>();
  cells.forEach((cell, index) => {
    if (typeof cell !== "string") return;
    const hit = lookup.get(headerKey(cell));
    if (!hit) return;
    const prior = best.get(hit.field);
    if (!prior || hit.rank < prior.rank) best.set(hit.field, { column: { index, header: cell.trim() }, rank: hit.rank });
  });
  return Object.fromEntries([...best].map(([f, b]) => [f, b.column])) as ColumnMap;
}

/** A header row names the item number, the deadline, and the problem (description or title). */
export function isHeader(map: ColumnMap): boolean {
  return !!map.number && !!map.deadline && !!(map.description || map.title);
}

/** Columns a list must have besides those isHeader asks for. */
export const REQUIRED: Field[] = ["round", "lead"];

/** "A", "B", …, "Z", "AA": a column as a spreadsheet program names it. */
export function columnLetter(index: number): string {
  let n = index + 1;
  let s = "";
  while (n > 0) {
    const r = (n - 1) % 26;
    s = String.fromCharCode(65 + r) + s;
    n = Math.floor((n - 1) / 26);
  }
  return s;
}
