/** What the workbooks share: exceljs' streaming writer, a sheet with a frozen header, cell formats. */
import type { Writable } from "node:stream";
import ExcelJS from "exceljs";
import { Unit } from "../../db/models.ts";

export const BATCH = 500;
export const DATE_FORMAT = "yyyy-mm-dd";
export const PERCENT_FORMAT = "0.0%";

export const XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/** A calendar date as an Excel date (exceljs writes a Date as the day it is in UTC). */
export const excelDate = (d: string | null | undefined) => (d ? new Date(`${d}T00:00:00Z`) : null);

export async function unitNames(): Promise<Map<string, string>> {
  const rows = await Unit.find({}, { name: 1 }).lean();
  return new Map(rows.map((u) => [u._id.toString(), u.name]));
}

export function workbook(out: Writable) {
  return new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false });
}

export type Sheet = ReturnType<ReturnType<typeof workbook>["addWorksheet"]>;

/** A sheet with a bold, frozen header row and set column widths. */
export function sheet(wb: ReturnType<typeof workbook>, name: string, columns: { header: string; key: string; width: number; numFmt?: string }[]): Sheet {
  const ws = wb.addWorksheet(name, { views: [{ state: "frozen", ySplit: 1 }] });
  ws.columns = columns.map((c) => ({ header: c.header, key: c.key, width: c.width, ...(c.numFmt ? { style: { numFmt: c.numFmt } } : {}) }));
  const head = ws.getRow(1);
  head.font = { bold: true };
  head.alignment = { vertical: "middle", horizontal: "center", wrapText: true };
  head.commit();
  return ws;
}
