/** Stage 6: the report, and its one sentence for people. */
import { AppError } from "../../errors.ts";
import type { OpenedFile } from "../rows.ts";
import type { Header } from "./header.ts";
import { previewOf } from "./plan.ts";
import type { Problems } from "./problems.ts";
import { PREVIEW_LIMIT, type ImportOptions, type ImportReport, type ImportStatus, type Parsed, type RowConflict } from "./types.ts";
import type { Written } from "./write.ts";

/** What the checking stages found. */
export interface Checked {
  opened: OpenedFile;
  header: Header;
  rows: number;
  problems: Problems;
  conflicts: RowConflict[];
  unchanged: number;
  /** The first PREVIEW_LIMIT of them. */
  unchangedRows: { row: number; ledgerNumber: string }[];
  plans: Parsed[];
}

export class Reporter {
  readonly report: ImportReport;

  constructor(
    checked: Checked,
    opts: ImportOptions,
    private readonly started: number,
  ) {
    const { problems, header, opened } = checked;
    this.report = {
      status: "preview",
      message: "",
      file: opts.fileName,
      format: opened.format,
      encoding: opened.encoding,
      sheet: header.sheet,
      headerRow: header.row,
      dryRun: !!opts.dryRun,
      rows: checked.rows,
      toCreate: checked.plans.length,
      created: 0,
      unchanged: checked.unchanged,
      unchangedRows: checked.unchangedRows.sort((a, b) => a.row - b.row),
      errors: problems.errors.sort((a, b) => a.row - b.row),
      errorsNotListed: problems.notListed,
      conflicts: checked.conflicts.sort((a, b) => a.row - b.row),
      written: [],
      failed: null,
      // What would be (or is being) created, also beside refused rows: the page lists it either way.
      preview: checked.plans.slice(0, PREVIEW_LIMIT).map(previewOf),
      elapsedMs: 0,
    };
  }

  finish(status: ImportStatus, message: string): ImportReport {
    this.report.status = status;
    this.report.message = message;
    this.report.elapsedMs = Date.now() - this.started;
    return this.report;
  }

  /** The report of the checks alone: refused, a dry run's, or nothing to write; null when there is something to write. */
  checked(): ImportReport | null {
    const { report } = this;
    const verb = report.dryRun ? "预检" : "导入";
    const problems = report.errors.length + report.errorsNotListed;
    if (problems || report.conflicts.length) {
      const parts = [problems ? `${problems} 处错误` : "", report.conflicts.length ? `${report.conflicts.length} 行与台账不一致` : ""].filter(Boolean);
      return this.finish(problems ? "invalid" : "conflict", `${verb}未通过：发现${parts.join("、")}，未写入任何数据`);
    }
    if (report.dryRun)
      return this.finish(
        "preview",
        report.toCreate ? `预检通过：将新登记 ${report.toCreate} 项，${report.unchanged} 项与台账一致` : `预检通过：清单与台账一致（${report.unchanged} 项），导入不会作任何更改`,
      );
    if (!report.toCreate) return this.finish("unchanged", `清单与台账一致（${report.unchanged} 项），未作任何更改`);
    return null;
  }

  /** The report after writing: complete, or where it stopped and how to complete it. */
  written(w: Written): ImportReport {
    const { report } = this;
    report.written = w.rows;
    report.created = w.rows.length;
    if (w.failure) {
      const { plan, error } = w.failure;
      const why = error instanceof AppError ? error.message : "数据库写入失败";
      report.failed = { row: plan.row, ledgerNumber: plan.ledgerNumber, message: why };
      return this.finish(
        "incomplete",
        `导入中断：第 ${plan.row} 行（${plan.ledgerNumber}）写入失败（${why}）。已写入 ${w.rows.length} 行${w.rows.length ? `（第 ${rowRanges(w.rows)} 行）` : ""}，其余未写入；请重新导入同一文件，已写入的行会视为未变化，其余行将补齐`,
      );
    }
    return this.finish("imported", `导入完成：新登记 ${w.rows.length} 项${report.unchanged ? `，${report.unchanged} 项与台账一致未作更改` : ""}`);
  }
}

/** 2、3、5–9、12 */
export function rowRanges(rows: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < rows.length; ) {
    let j = i;
    while (j + 1 < rows.length && rows[j + 1] === rows[j]! + 1) j++;
    out.push(j > i ? `${rows[i]}–${rows[j]}` : String(rows[i]));
    i = j + 1;
  }
  return out.join("、");
}
