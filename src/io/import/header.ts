/** Stage 1: the header row, the first one within the first rows of a sheet that names the list's columns. */
import { FIELD_NAMES, REQUIRED, isHeader, mapHeader, type ColumnMap } from "../columns.ts";
import { badFile, type SheetRow } from "../rows.ts";

/** How far down a sheet the header row is looked for. */
const HEADER_SCAN_ROWS = 30;

export interface Header {
  columns: ColumnMap;
  row: number;
  /** The sheet it is on (the only one read). */
  sheet: string | null;
}

/** The header, if this row is it; a row that looks like one but lacks a required column is the file's error. */
export function headerOf(r: SheetRow): Header | null {
  if (r.row > HEADER_SCAN_ROWS) return null;
  const map = mapHeader(r.cells);
  if (!isHeader(map)) return null;
  const missing = REQUIRED.filter((f) => !map[f]);
  if (missing.length) throw badFile(`第 ${r.row} 行像是表头，但缺少${missing.map((f) => `“${FIELD_NAMES[f]}”`).join("、")}列`);
  return { columns: map, row: r.row, sheet: r.sheet ?? null };
}

export const noHeader = () =>
  badFile(`未找到表头：表头行应包含“序号”“问题描述”“督察轮次”“牵头单位”“整改时限”等列（可以不在第一行，须在前 ${HEADER_SCAN_ROWS} 行内）`);
