/**
 * Importing a feedback list (问题清单) into the ledger, all or nothing, as a pipeline of stages
 * (src/io/import/), each with one job:
 *   rows (io/rows.ts, streamed) → header (header.ts) → cells (cells.ts, each row on its own)
 *   → ledger (ledger.ts, in batches of rows: unchanged, conflict or new) → plan (plan.ts: can it be registered)
 *   → write (write.ts, through the case service) → report (report.ts).
 *
 * The code uses no transactions (the development engine has none), so "nothing" is reached by order:
 * every row is checked first (its cells, its units by name, short name or alias, item numbers repeated
 * in the file, and the ledger: an item already there must agree with its row), and cases are created
 * only when the whole file is clean.
 */
import type { Readable } from "node:stream";
import { shanghaiDate } from "../../workflows/index.ts";
import { immediateDeadline } from "./deadline-phrases.ts";
import { blankRow, RowReader } from "./import/cells.ts";
import { headerOf, noHeader, type Header } from "./import/header.ts";
import { compareWithLedger, findInLedger } from "./import/ledger.ts";
import { canRegister } from "./import/plan.ts";
import { Problems } from "./import/problems.ts";
import { Reporter, type Checked } from "./import/report.ts";
import { PREVIEW_LIMIT, type ImportOptions, type ImportReport, type Parsed, type RowConflict } from "./import/types.ts";
import { writePlans } from "./import/write.ts";
import { badFile, openRows } from "./rows.ts";
import { UnitMatcher } from "./units.ts";

export { cellText, titleOf } from "./import/cells.ts";
export { rowRanges } from "./import/report.ts";
export type { ImportOptions, ImportProgress, ImportReport, ImportStatus, PreviewItem, RowConflict, RowError } from "./import/types.ts";

/**
 * How many rows are checked against the ledger in one query (their ledger numbers, through the unique
 * index): few round trips, and memory bounded by this many rows and their cases.
 */
const BATCH = 5000;

export async function importLedger(input: Readable, opts: ImportOptions): Promise<ImportReport> {
  const started = Date.now();
  const checked = await check(input, opts);
  const reporter = new Reporter(checked, opts, started);
  return reporter.checked() ?? reporter.written(await writePlans(checked.plans, checked.header.sheet, opts));
}

/** Every stage but the write: what the file holds, row by row, against the ledger. */
async function check(input: Readable, opts: ImportOptions): Promise<Checked> {
  const today = shanghaiDate(opts.clock.now());
  const opened = await openRows(input, opts.limits);
  const units = await UnitMatcher.load();
  const problems = new Problems();
  // 立行立改: N working days after the import date, by the office's calendar (computed once).
  let immediate: ReturnType<typeof immediateDeadline> | null = null;
  const reader = new RowReader(problems, units, () => (immediate ??= immediateDeadline(today, opts.immediateWorkdays)));

  const conflicts: RowConflict[] = [];
  const plans: Parsed[] = [];
  let unchanged = 0;
  const unchangedRows: { row: number; ledgerNumber: string }[] = [];
  let header: Header | null = null;
  let rows = 0;
  let pending: Parsed[] = [];

  /** A batch of rows against the ledger: each one unchanged, a conflict, or a new item to plan. */
  const flush = async (cols: Header["columns"]) => {
    const batch = pending;
    pending = [];
    if (!batch.length) return;
    const inLedger = await findInLedger(batch);
    for (const p of batch) {
      const found = inLedger.get(p.ledgerNumber);
      if (!found) {
        // Only the parsed row is kept (its units are shared objects): the case input and the IMPORT note are built when written.
        if (canRegister(p, cols, problems)) plans.push(p);
        continue;
      }
      const outcome = compareWithLedger(p, found, cols, units, problems);
      if (outcome === "unchanged") {
        unchanged++;
        if (unchangedRows.length < PREVIEW_LIMIT) unchangedRows.push({ row: p.row, ledgerNumber: p.ledgerNumber });
      } else if (outcome) conflicts.push(outcome);
    }
  };

  for await (const r of opened.rows) {
    if (header === null) {
      // Looking for the header: the first sheet that has one, within its first rows.
      header = headerOf(r);
      problems.columns = header?.columns ?? null;
      continue;
    }
    // Only the sheet the header is on.
    if ((r.sheet ?? null) !== header.sheet || blankRow(r)) continue;
    rows++;
    const p = await reader.read(r, header.columns);
    if (p) pending.push(p);
    if (pending.length >= BATCH) await flush(header.columns);
    opts.onProgress?.({ phase: "read", done: rows });
  }
  if (header === null) throw noHeader();
  await flush(header.columns);
  if (rows === 0) throw badFile("表头下没有数据行");
  return { opened, header, rows, problems, conflicts, unchanged, unchangedRows, plans };
}
