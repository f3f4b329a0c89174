import type { Writable } from "node:stream";
import { LEVEL_LABELS, type Level } from "../../../workflows/index.ts";
import { CASE_FIGURES, FIGURE_DEFINITIONS, FIGURE_LABELS, type TracedCase } from "../../notices/bulletin.ts";
import { readTrace, type BulletinView, type TracedNotice } from "../../notices/bulletins.ts";
import { DATE_FORMAT, excelDate, sheet, workbook } from "./workbook.ts";

/**
 * The monthly 通报 as a workbook in the printed layout (title, period, summary, the table with the city's
 * totals, what each figure counts), then the cases behind each case figure and the notices behind each
 * notice figure, so every number traces to cases. A unit's workbook holds its own row and cases only
 * (`b` is already cut for the actor). An issued bulletin's workbook is written from what was stored.
 */
export async function writeBulletinXlsx(out: Writable, b: BulletinView, now: Date): Promise<void> {
  const which = { month: b.month, issue: b.issue?.id, draft: !b.issue };
  const wb = workbook(out);
  wb.creator = "Rectiflow 整改流";
  wb.created = b.issue ? new Date(`${b.issue.issuedOn}T00:00:00+08:00`) : now;
  wb.modified = wb.created;
  const levels = b.levels.map((l) => LEVEL_LABELS[l]);
  const width = 7 + levels.length + 2;
  const ws = wb.addWorksheet("通报", { pageSetup: { paperSize: 9, orientation: "landscape", fitToPage: true, fitToWidth: 1, fitToHeight: 0 } });
  ws.columns = [{ width: 6 }, { width: 22 }, ...Array.from({ length: width - 2 }, () => ({ width: 9 }))];
  const line = (text: string, opts: { bold?: boolean; size?: number; center?: boolean; height?: number } = {}) => {
    const row = ws.addRow([text]);
    ws.mergeCells(row.number, 1, row.number, width);
    row.font = { bold: opts.bold ?? false, size: opts.size ?? 11 };
    row.alignment = { horizontal: opts.center ? "center" : "left", vertical: "middle", wrapText: true };
    if (opts.height) row.height = opts.height;
    row.commit();
  };
  line(`${b.monthText}整改工作情况通报`, { bold: true, size: 16, center: true, height: 28 });
  line(b.issue ? `${b.issue.issuer}　${b.issue.label}${b.issue.corrects ? `（更正${b.issue.corrects.label}）` : ""}　${b.issue.issuedOn}` : "草稿（未发布）：实时数字，发布前仍会变化", { center: true });
  line(`统计期间：${b.from} 至 ${b.to}　统计截止：${b.cutoff}`, { center: true });
  line(`　　${b.summary}`, { height: Math.max(45, Math.ceil(b.summary.length / 70) * 16) });
  const head = ws.addRow(["排名", "责任单位", "承办案件", "本月办结", "其中按期", "其中长期坚持", "超期未办结", ...levels, "扣分", "专函督办"]);
  head.font = { bold: true };
  head.alignment = { horizontal: "center", vertical: "middle", wrapText: true };
  head.commit();
  for (const r of b.rows)
    ws.addRow([r.rank, r.unitName, r.held, r.closed, r.closedOnTime, r.longTerm, r.overdue, ...b.levels.map((l) => r.notices[l] ?? 0), r.points, r.specialLetter ? "应专函" : ""]).commit();
  const total = ws.addRow([`全市合计（${b.units} 个单位）`, "", b.totals.held, b.totals.closed, b.totals.closedOnTime, b.totals.longTerm, b.totals.overdue, ...b.levels.map((l) => b.totals.notices[l] ?? 0), b.totals.points, ""]);
  ws.mergeCells(total.number, 1, total.number, 2);
  total.font = { bold: true };
  total.commit();
  ws.addRow([]).commit();
  for (const [name, meaning] of FIGURE_DEFINITIONS) {
    const row = ws.addRow([name, meaning]);
    ws.mergeCells(row.number, 2, row.number, width);
    row.alignment = { wrapText: true, vertical: "top" };
    row.commit();
  }
  ws.commit();

  const cases = sheet(wb, "案件明细", [
    { header: "责任单位", key: "unit", width: 22 },
    { header: "指标", key: "figure", width: 12 },
    { header: "台账编号", key: "ledgerNumber", width: 16 },
    { header: "问题/事项", key: "title", width: 40 },
    { header: "状态", key: "state", width: 14 },
    { header: "时限", key: "deadline", width: 12, numFmt: DATE_FORMAT },
    { header: "办结日期", key: "closedOn", width: 12, numFmt: DATE_FORMAT },
  ]);
  for (const r of b.rows)
    for (const figure of CASE_FIGURES)
      for (const c of (await readTrace(which, r.unitId, figure, now)).items as TracedCase[])
        cases.addRow({ unit: r.unitName, figure: FIGURE_LABELS[figure], ledgerNumber: c.ledgerNumber, title: c.title, state: c.state, deadline: excelDate(c.deadline), closedOn: excelDate(c.closedOn) }).commit();
  cases.commit();

  const notices = sheet(wb, "通知明细", [
    { header: "责任单位", key: "unit", width: 22 },
    { header: "通知级别", key: "level", width: 14 },
    { header: "文号", key: "number", width: 16 },
    { header: "分值", key: "points", width: 8 },
    { header: "台账编号", key: "ledgerNumber", width: 16 },
    { header: "问题/事项", key: "title", width: 40 },
    { header: "发出日期", key: "issuedOn", width: 12, numFmt: DATE_FORMAT },
  ]);
  for (const r of b.rows)
    for (const l of (await readTrace(which, r.unitId, "notices", now)).items as TracedNotice[])
      notices
        .addRow({ unit: r.unitName, level: LEVEL_LABELS[l.level as Level] ?? l.level, number: l.number ?? "", points: l.points, ledgerNumber: l.ledgerNumber, title: l.caseTitle, issuedOn: excelDate(l.issuedOn) })
        .commit();
  notices.commit();
  await wb.commit();
}
