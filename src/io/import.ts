/**
 * Importing a feedback list (问题清单) into the ledger: read (streamed, rows.ts) → validate every
 * row → apply, all or nothing.
 *
 * The code uses no transactions (the development engine has none), so "nothing" is reached by order: every row is checked first —
 * the cells, the units (by name, short name or alias), item numbers repeated in the file, and the
 * ledger (an item already there must agree with its row) — and cases are created only when the
 * whole file is clean. Creating goes through the case service alone (createCases, in batches: the
 * same cases and entries as createCase, in bulk inserts), whose first history entry is then
 * "IMPORT" and records the file and row.
 *
 * An item is known by its number (序号, the ledger number, unique in the ledger) and round. A row
 * whose item is in the ledger with the same content is "unchanged"; one that differs is a
 * conflict, reported and never written over. A cell is compared with what the ledger says now and
 * with what the list said when the item was imported (the unit and deadline proposed by the list
 * may have been replaced at assignment), so both a re-imported list and a re-imported ledger
 * export (台账导出) read as "unchanged".
 */
import type { Readable } from "node:stream";
import mongoose from "mongoose";
import { shanghaiDate, type Actor } from "../../workflows/index.ts";
import { loadCalendar } from "../calendar/workdays.ts";
import type { Clock } from "../clock.ts";
import { eachConcurrently } from "../concurrently.ts";
import { CATEGORIES, COMPLAINT_NUMBER, complaintNumberTaken, newInspectionSchema, type NewCase } from "../cases/schemas.ts";
import type { CaseService } from "../cases/service.ts";
import { Case, CaseHistory, type CaseDoc } from "../db/models.ts";
import { AppError } from "../errors.ts";
import { FIELD_NAMES, REQUIRED, columnLetter, isHeader, mapHeader, type ColumnMap, type Field } from "./columns.ts";
import { parseDeadline, type DeadlinePhrase } from "./deadline-phrases.ts";
import { badFile, openRows, type Cell, type ImportLimits, type Encoding, type Format, type SheetRow } from "./rows.ts";
import { UnitMatcher, splitUnits, type KnownUnit } from "./units.ts";

export interface ImportOptions {
  /** The file's name, recorded in each IMPORT history entry. */
  fileName: string;
  service: CaseService;
  /** An office actor (the signed-in staff member, or the CLI's). */
  actor: Actor;
  clock: Clock;
  /** Check and report only; write nothing. */
  dryRun?: boolean;
  /** 立行立改: the deadline is this many working days after the import date. */
  immediateWorkdays?: number;
  /** Batches of cases written at once (so that preparing one overlaps the database writing another). */
  concurrency?: number;
  onProgress?: (p: ImportProgress) => void;
  /** What the file may hold (rows.ts); default: the configuration's defaults. */
  limits?: ImportLimits;
}

export interface ImportProgress {
  phase: "read" | "write";
  /** Rows read so far (read), or cases created so far (write). */
  done: number;
  /** Cases to create (write). */
  total?: number;
}

export interface RowError {
  row: number;
  /** The column's header as written in the file; null for a problem of the whole row. */
  column: string | null;
  /** The cell ("E5"), when the problem is one cell's. */
  cell: string | null;
  value: string;
  reason: string;
  /** The whole sentence: 第 5 行“牵头单位”列：“市环保厅”不是已登记的单位 */
  message: string;
}

export interface RowConflict {
  row: number;
  ledgerNumber: string;
  differences: { column: string; file: string; ledger: string }[];
  message: string;
}

export interface PreviewItem {
  row: number;
  ledgerNumber: string;
  round: string;
  title: string;
  category: string;
  leadUnit: string;
  coUnits: string[];
  plannedDeadline: string | null;
  immediate: boolean;
  longTerm: boolean;
}

export type ImportStatus = "imported" | "unchanged" | "preview" | "invalid" | "conflict" | "incomplete";

export interface ImportReport {
  status: ImportStatus;
  /** One sentence for people. */
  message: string;
  file: string;
  format: Format;
  encoding: Encoding | null;
  sheet: string | null;
  headerRow: number;
  dryRun: boolean;
  /** Data rows read (blank rows aside). */
  rows: number;
  /** New items: created, or to be created (dry run, or refused because of errors). */
  toCreate: number;
  created: number;
  unchanged: number;
  /** The rows whose item is in the ledger as the file has it (at most PREVIEW_LIMIT of them). */
  unchangedRows: { row: number; ledgerNumber: string }[];
  errors: RowError[];
  /** More errors than listed (the list stops at MAX_ERRORS). */
  errorsNotListed: number;
  conflicts: RowConflict[];
  /** Rows written (when a write failed midway, these are the rows that are in). */
  written: number[];
  failed: { row: number; ledgerNumber: string; message: string } | null;
  /** The new items (to create, or created; also listed when other rows are refused), at most PREVIEW_LIMIT of them. */
  preview: PreviewItem[];
  elapsedMs: number;
}

const MAX_ERRORS = 10_000;
const PREVIEW_LIMIT = 500;
/**
 * How many rows are checked against the ledger in one query (their ledger numbers, through the unique
 * index): few round trips, and memory bounded by this many rows and their cases.
 */
const BATCH = 5000;
/** How many cases are created in one call of the case service (two bulk inserts). */
const WRITE_BATCH = 500;
/** How far down a sheet the header row is looked for. */
const HEADER_SCAN_ROWS = 30;

const t = mongoose.trusted;

/** A row, its cells read and checked; what the ledger comparison and the create need. */
interface Parsed {
  row: number;
  kind: "inspection" | "complaint";
  ledgerNumber: string;
  round: string;
  description: string;
  title: string;
  category: string;
  goal: string;
  measures: string;
  deadline: DeadlinePhrase | null;
  deadlineText: string;
  /** The resolved date: a date phrase's, or the 立行立改 rule's. */
  plannedDeadline: string | null;
  lead: KnownUnit | null;
  co: KnownUnit[];
}

/** What the case service gets for a new item. */
function inputOf(p: Parsed) {
  return {
    kind: "inspection" as const,
    ledgerNumber: p.ledgerNumber,
    round: p.round,
    source: p.round.startsWith("中央") ? "中央生态环境保护督察" : p.round.startsWith("省") ? "省级生态环境保护督察" : undefined,
    title: p.title,
    description: p.description || p.title,
    category: p.category as NewCase["category"],
    goal: p.goal || undefined,
    measures: p.measures || undefined,
    immediate: p.deadline?.kind === "immediate",
    longTerm: p.deadline?.kind === "longTerm" || (p.deadline?.kind === "immediate" && p.deadline.longTerm),
    plannedDeadline: p.plannedDeadline ?? undefined,
    plannedLeadUnitId: p.lead?.id,
    plannedCoUnitIds: p.co.map((u) => u.id),
  };
}

function previewOf(p: Parsed): PreviewItem {
  const input = inputOf(p);
  return {
    row: p.row,
    ledgerNumber: p.ledgerNumber,
    round: p.round,
    title: p.title,
    category: p.category,
    leadUnit: p.lead?.name ?? "",
    coUnits: p.co.map((u) => u.name),
    plannedDeadline: p.plannedDeadline,
    immediate: input.immediate,
    longTerm: input.longTerm,
  };
}

/** Cells as text: trimmed, numbers as written, dates as YYYY-MM-DD, line ends as \n. */
export function cellText(c: Cell | undefined): string {
  if (c === null || c === undefined) return "";
  if (c instanceof Date) return Number.isNaN(c.getTime()) ? "" : c.toISOString().slice(0, 10);
  if (typeof c === "number") return Number.isInteger(c) ? String(c) : String(Number(c.toPrecision(15)));
  return c.replace(/\r\n?/g, "\n").trim();
}

/** The title of a problem: the first clause of its description (as the demo seed does). */
export const titleOf = (description: string) => (description.split(/[，。；\n]/)[0] ?? "").trim().slice(0, 500);

const KIND_VALUES: Record<string, "inspection" | "complaint"> = {
  督察反馈问题: "inspection",
  inspection: "inspection",
  环境信访投诉: "complaint",
  信访投诉: "complaint",
  complaint: "complaint",
};

function categoryOf(s: string): string | null {
  const k = s.normalize("NFKC").replace(/\s+/g, "");
  if (!k) return "其他";
  if ((CATEGORIES as readonly string[]).includes(k)) return k;
  const stem = k.replace(/(污染|类|问题)$/, "");
  if ((CATEGORIES as readonly string[]).includes(stem)) return stem;
  if (/^(固体废物|危险废物|危废)/.test(k)) return "固废";
  if (/^(大气|空气)/.test(k)) return "大气";
  if (/^(水环境|水污染|水生态)/.test(k)) return "水";
  return null;
}

const sameText = (a: string | null | undefined, b: string | null | undefined) => (a ?? "").replace(/\r\n?/g, "\n").trim() === (b ?? "").replace(/\r\n?/g, "\n").trim();

/** The deadline cell as the ledger would show it, for conflict messages. */
function ledgerDeadline(c: CaseDoc): string {
  const parts = [c.deadline ?? c.plannedDeadline ?? ""];
  if (c.plannedDeadline && c.deadline && c.deadline !== c.plannedDeadline) parts[0] = `${c.deadline}（清单为 ${c.plannedDeadline}）`;
  if (c.immediate) parts.push("立行立改");
  if (c.longTerm) parts.push("长期坚持");
  return parts.filter(Boolean).join("，") || "（无）";
}

/** What the list said when an item was imported (its IMPORT entry), if it was imported. */
interface Proposal {
  leadUnitId: string | null;
  coUnitIds: string[];
}

export async function importLedger(input: Readable, opts: ImportOptions): Promise<ImportReport> {
  const started = Date.now();
  const dryRun = !!opts.dryRun;
  const today = shanghaiDate(opts.clock.now());
  const opened = await openRows(input, opts.limits);
  const units = await UnitMatcher.load();

  const errors: RowError[] = [];
  let errorsNotListed = 0;
  const conflicts: RowConflict[] = [];
  const plans: Parsed[] = [];
  let unchanged = 0;
  const unchangedRows: { row: number; ledgerNumber: string }[] = [];
  let rows = 0;
  let columns: ColumnMap | null = null;
  let headerRow = 0;
  let sheet: string | null = null;
  const seen = new Map<string, number>();
  let pending: Parsed[] = [];

  const header = (f: Field) => columns?.[f]?.header ?? FIELD_NAMES[f];
  const fail = (row: number, field: Field | null, value: string, reason: string) => {
    if (errors.length >= MAX_ERRORS) {
      errorsNotListed++;
      return;
    }
    const column = field ? header(field) : null;
    const index = field ? columns?.[field]?.index : undefined;
    errors.push({
      row,
      column,
      cell: index === undefined ? null : `${columnLetter(index)}${row}`,
      value,
      reason,
      message: column ? `第 ${row} 行“${column}”列：${reason}` : `第 ${row} 行：${reason}`,
    });
  };

  // 立行立改: N working days after the import date, by the office's calendar (computed once).
  const workdays = opts.immediateWorkdays ?? 10;
  let immediateDeadline: Promise<{ date: string } | { error: string }> | null = null;
  const immediate = () =>
    (immediateDeadline ??= loadCalendar().then(
      (cal) => ({ date: cal.addWorkdays(today, workdays) }),
      (e: unknown) => ({ error: e instanceof AppError ? e.message : String(e) }),
    ));

  /** One data row: its cells checked; null when a cell was wrong (the errors are recorded). */
  const parseRow = async (r: SheetRow, cols: ColumnMap): Promise<Parsed | null> => {
    const text = (f: Field) => {
      const c = cols[f];
      return c ? cellText(r.cells[c.index]) : "";
    };
    const errorsBefore = errors.length + errorsNotListed;
    const number = text("number").normalize("NFKC").replace(/\s+/g, "");
    const kindText = text("kind");
    let kind: "inspection" | "complaint" = "inspection";
    if (cols.kind && kindText) {
      const key = kindText.replace(/\s+/g, "");
      const k = Object.hasOwn(KIND_VALUES, key) ? KIND_VALUES[key] : undefined;
      if (!k) fail(r.row, "kind", kindText, `“${kindText}”不是有效的案件类型（督察反馈问题或环境信访投诉）`);
      else kind = k;
    }
    if (!number) fail(r.row, "number", "", "请填写序号");
    else if (number.length > 64) fail(r.row, "number", number, "序号不能超过 64 个字");
    else {
      const first = seen.get(number);
      if (first !== undefined) fail(r.row, "number", number, `“${number}”与第 ${first} 行重复`);
      else seen.set(number, r.row);
    }

    const description = text("description");
    const titleCell = text("title");
    const title = titleCell || titleOf(description);

    const categoryText = text("category");
    const category = categoryOf(categoryText);
    if (category === null) fail(r.row, "category", categoryText, `“${categoryText}”不是有效的问题类别（可选：${CATEGORIES.join("、")}）`);

    const deadlineCell = cols.deadline ? r.cells[cols.deadline.index] : null;
    const deadlineText = cellText(deadlineCell ?? null);
    let deadline: DeadlinePhrase | null = null;
    let plannedDeadline: string | null = null;
    if (deadlineText) {
      const p = parseDeadline(deadlineCell instanceof Date || typeof deadlineCell === "number" ? deadlineCell : deadlineText);
      if (!p.ok) fail(r.row, "deadline", deadlineText, p.message);
      else {
        deadline = p.value;
        if (p.value.kind === "date") plannedDeadline = p.value.date;
        if (p.value.kind === "immediate") {
          const d = await immediate();
          if ("error" in d) fail(r.row, "deadline", deadlineText, `无法计算立行立改的时限：${d.error}`);
          else plannedDeadline = d.date;
        }
      }
    }

    const leadText = text("lead");
    let lead: KnownUnit | null = null;
    if (leadText) {
      const names = splitUnits(leadText);
      if (names.length > 1) fail(r.row, "lead", leadText, `牵头单位只能填写一个单位，其他单位请填入“${header("co")}”列`);
      else {
        const m = units.match(names[0] ?? leadText);
        if (!m.ok) fail(r.row, "lead", leadText, m.message);
        else lead = m.unit;
      }
    }
    const coText = text("co");
    const co: KnownUnit[] = [];
    const coProblems: string[] = [];
    for (const name of splitUnits(coText)) {
      const m = units.match(name);
      if (!m.ok) coProblems.push(m.message);
      else if (lead && m.unit.id === lead.id) coProblems.push(`“${name}”已是牵头单位，不能同时作为配合单位`);
      else if (!co.some((u) => u.id === m.unit.id)) co.push(m.unit);
    }
    // One error per cell, however many of its names are wrong.
    if (coProblems.length) fail(r.row, "co", coText, coProblems.join("；"));

    if (errors.length + errorsNotListed > errorsBefore) return null;
    return {
      row: r.row,
      kind,
      ledgerNumber: number,
      round: text("round"),
      description,
      title,
      category: category ?? "其他",
      goal: text("goal"),
      measures: text("measures"),
      deadline,
      deadlineText,
      plannedDeadline,
      lead,
      co,
    };
  };

  /** A new item: required cells, then the case schema (lengths). */
  const planNew = (p: Parsed, cols: ColumnMap) => {
    if (p.kind === "complaint") return fail(p.row, "number", p.ledgerNumber, `信访件“${p.ledgerNumber}”不在台账中；导入只能登记督察反馈问题`);
    let ok = true;
    const need = (f: Field, value: unknown) => {
      if (value) return;
      ok = false;
      fail(p.row, f, "", `请填写${header(f)}`);
    };
    need("round", p.round);
    need(cols.description ? "description" : "title", p.title);
    need("lead", p.lead);
    need("deadline", p.deadline);
    if (COMPLAINT_NUMBER.test(p.ledgerNumber)) {
      ok = false;
      fail(p.row, "number", p.ledgerNumber, complaintNumberTaken(p.ledgerNumber));
    }
    if (p.lead && !p.lead.active) {
      ok = false;
      fail(p.row, "lead", p.lead.name, `“${p.lead.name}”已停用，不能作为新问题的牵头单位`);
    }
    for (const u of p.co.filter((x) => !x.active)) {
      ok = false;
      fail(p.row, "co", u.name, `“${u.name}”已停用，不能作为新问题的配合单位`);
    }
    if (!ok) return;
    const parsed = newInspectionSchema.safeParse(inputOf(p));
    if (!parsed.success) {
      const byPath: Record<string, Field> = { ledgerNumber: "number", round: "round", title: cols.title ? "title" : "description", description: "description", goal: "goal", measures: "measures" };
      for (const issue of parsed.error.issues) {
        const f = byPath[String(issue.path[0])] ?? null;
        fail(p.row, f, "", issue.message);
      }
      return;
    }
    // Only the parsed row is kept (its units are shared objects): the case input and the IMPORT note are built when written.
    plans.push(p);
  };

  /** An item already in the ledger: the same, or a conflict naming each differing cell. */
  const compare = (p: Parsed, c: CaseDoc, proposal: Proposal | null, cols: ColumnMap) => {
    if (c.kind !== p.kind) {
      const what = c.kind === "complaint" ? "信访件" : "督察反馈问题";
      return fail(p.row, "number", p.ledgerNumber, `“${p.ledgerNumber}”在台账中是${what}，与本行不符`);
    }
    const diffs: RowConflict["differences"] = [];
    const differ = (f: Field, file: string, ledger: string) => diffs.push({ column: header(f), file: file || "（空）", ledger: ledger || "（空）" });
    if (cols.round && !sameText(p.round, c.round)) differ("round", p.round, c.round ?? "");
    if (cols.description && !sameText(p.description, c.description)) differ("description", p.description, c.description ?? "");
    if (cols.title && !sameText(p.title, c.title)) differ("title", p.title, c.title);
    if (cols.category && p.category !== (c.category ?? "其他")) differ("category", p.category, c.category ?? "");
    if (cols.goal && !sameText(p.goal, c.goal)) differ("goal", p.goal, c.goal ?? "");
    if (cols.measures && !sameText(p.measures, c.measures)) differ("measures", p.measures, c.measures ?? "");
    if (cols.lead) {
      const known = [c.leadUnitId ?? null, ...(proposal ? [proposal.leadUnitId] : [])];
      if (!known.includes(p.lead?.id ?? null)) differ("lead", p.lead?.name ?? "", units.nameOf(c.leadUnitId ?? proposal?.leadUnitId));
    }
    if (cols.co) {
      const key = (ids: string[]) => [...ids].sort().join(",");
      const mine = key(p.co.map((u) => u.id));
      const known = [key(c.coUnitIds ?? []), ...(proposal ? [key(proposal.coUnitIds)] : [])];
      const ledgerCo = c.leadUnitId || !proposal ? (c.coUnitIds ?? []) : proposal.coUnitIds;
      if (!known.includes(mine)) differ("co", p.co.map((u) => u.name).join("、"), ledgerCo.map((id) => units.nameOf(id)).join("、"));
    }
    if (cols.deadline) {
      const d = p.deadline;
      const same =
        d === null
          ? !c.deadline && (!c.plannedDeadline || c.longTerm)
          : d.kind === "immediate"
            ? !!c.immediate && (!d.longTerm || !!c.longTerm)
            : d.kind === "longTerm"
              ? !!c.longTerm
              : d.date === c.plannedDeadline || d.date === c.deadline;
      if (!same) differ("deadline", p.deadlineText, ledgerDeadline(c));
    }
    if (!diffs.length) {
      unchanged++;
      if (unchangedRows.length < PREVIEW_LIMIT) unchangedRows.push({ row: p.row, ledgerNumber: p.ledgerNumber });
      return;
    }
    conflicts.push({
      row: p.row,
      ledgerNumber: p.ledgerNumber,
      differences: diffs,
      message: `第 ${p.row} 行（${p.ledgerNumber}）与台账不一致：${diffs.map((x) => `“${x.column}”清单为“${x.file}”，台账为“${x.ledger}”`).join("；")}`,
    });
  };

  /** Checks a batch of rows against the ledger (one query for the cases, one for their first entries). */
  const flush = async () => {
    const batch = pending;
    pending = [];
    if (!batch.length || !columns) return;
    const cols = columns;
    const found = await Case.find({ ledgerNumber: t({ $in: batch.map((p) => p.ledgerNumber) }) }).lean<CaseDoc[]>();
    const byNumber = new Map(found.map((c) => [c.ledgerNumber, c]));
    const firsts = found.length
      ? await CaseHistory.find({ _id: t({ $in: found.map((c) => `${c._id.toString()}:1`) }), type: "IMPORT" }, { caseId: 1, payload: 1 }).lean()
      : [];
    const proposals = new Map(
      firsts.map((e) => {
        const pl = (e.payload ?? {}) as { leadUnitId?: string; coUnitIds?: string[] };
        return [e.caseId, { leadUnitId: pl.leadUnitId ?? null, coUnitIds: pl.coUnitIds ?? [] }];
      }),
    );
    for (const p of batch) {
      const c = byNumber.get(p.ledgerNumber);
      if (c) compare(p, c, proposals.get(c._id.toString()) ?? null, cols);
      else planNew(p, cols);
    }
  };

  for await (const r of opened.rows) {
    if (columns === null) {
      // Looking for the header: the first sheet that has one, within its first rows.
      if (r.row > HEADER_SCAN_ROWS) continue;
      const map = mapHeader(r.cells);
      if (!isHeader(map)) continue;
      const missing = REQUIRED.filter((f) => !map[f]);
      if (missing.length) throw badFile(`第 ${r.row} 行像是表头，但缺少${missing.map((f) => `“${FIELD_NAMES[f]}”`).join("、")}列`);
      columns = map;
      headerRow = r.row;
      sheet = r.sheet ?? null;
      continue;
    }
    // Only the sheet the header is on.
    if ((r.sheet ?? null) !== sheet) continue;
    if (r.cells.every((c) => cellText(c) === "")) continue;
    rows++;
    const p = await parseRow(r, columns);
    if (p) pending.push(p);
    if (pending.length >= BATCH) await flush();
    opts.onProgress?.({ phase: "read", done: rows });
  }
  await flush();
  if (columns === null)
    throw badFile(
      `未找到表头：表头行应包含“序号”“问题描述”“督察轮次”“牵头单位”“整改时限”等列（可以不在第一行，须在前 ${HEADER_SCAN_ROWS} 行内）`,
    );
  if (rows === 0) throw badFile("表头下没有数据行");

  errors.sort((a, b) => a.row - b.row);
  conflicts.sort((a, b) => a.row - b.row);
  const report: ImportReport = {
    status: "preview",
    message: "",
    file: opts.fileName,
    format: opened.format,
    encoding: opened.encoding,
    sheet,
    headerRow,
    dryRun,
    rows,
    toCreate: plans.length,
    created: 0,
    unchanged,
    unchangedRows: unchangedRows.sort((a, b) => a.row - b.row),
    errors,
    errorsNotListed,
    conflicts,
    written: [],
    failed: null,
    preview: [],
    elapsedMs: 0,
  };
  const finish = (status: ImportStatus, message: string) => {
    report.status = status;
    report.message = message;
    report.elapsedMs = Date.now() - started;
    return report;
  };

  const problems = errors.length + errorsNotListed;
  // What would be (or is being) created, also beside refused rows: the page lists it either way.
  report.preview = plans.slice(0, PREVIEW_LIMIT).map(previewOf);
  if (problems || conflicts.length) {
    const parts = [problems ? `${problems} 处错误` : "", conflicts.length ? `${conflicts.length} 行与台账不一致` : ""].filter(Boolean);
    return finish(problems ? "invalid" : "conflict", `${dryRun ? "预检" : "导入"}未通过：发现${parts.join("、")}，未写入任何数据`);
  }
  if (dryRun) {
    return finish("preview", plans.length ? `预检通过：将新登记 ${plans.length} 项，${unchanged} 项与台账一致` : `预检通过：清单与台账一致（${unchanged} 项），导入不会作任何更改`);
  }
  if (!plans.length) return finish("unchanged", `清单与台账一致（${unchanged} 项），未作任何更改`);

  // Writing. Every row was checked above; a create can still fail here (another import of the same
  // list running at the same time, the database going away). Then we stop, report which rows are
  // written, and leave them: a re-run of the same file finds them in the ledger with the same round,
  // number and content, counts them "unchanged" and creates only the rest, so re-running completes
  // the import.
  const written: number[] = [];
  let failure: { plan: Parsed; error: unknown } | null = null;
  const batches = Array.from({ length: Math.ceil(plans.length / WRITE_BATCH) }, (_, b) => plans.slice(b * WRITE_BATCH, (b + 1) * WRITE_BATCH));
  await eachConcurrently(batches, opts.concurrency ?? 2, async (batch) => {
    if (failure) return;
    const items = batch.map((plan) => ({
      input: inputOf(plan),
      opts: {
        entryType: "IMPORT",
        entryNote: {
          file: opts.fileName,
          row: plan.row,
          ...(sheet ? { sheet } : {}),
          deadlineText: plan.deadlineText,
          leadUnitId: plan.lead!.id,
          leadUnit: plan.lead!.name,
          coUnitIds: plan.co.map((u) => u.id),
          coUnits: plan.co.map((u) => u.name),
        },
      },
    }));
    const { created, failed } = await opts.service.createCases(items, opts.actor);
    for (const plan of batch.slice(0, created)) written.push(plan.row);
    opts.onProgress?.({ phase: "write", done: written.length, total: plans.length });
    if (failed) failure ??= { plan: batch[failed.index]!, error: failed.error };
  });
  written.sort((a, b) => a - b);
  report.written = written;
  report.created = written.length;
  if (failure) {
    const { plan, error } = failure as { plan: Parsed; error: unknown };
    const why = error instanceof AppError ? error.message : "数据库写入失败";
    report.failed = { row: plan.row, ledgerNumber: plan.ledgerNumber, message: why };
    return finish(
      "incomplete",
      `导入中断：第 ${plan.row} 行（${plan.ledgerNumber}）写入失败（${why}）。已写入 ${written.length} 行${written.length ? `（第 ${rowRanges(written)} 行）` : ""}，其余未写入；请重新导入同一文件，已写入的行会视为未变化，其余行将补齐`,
    );
  }
  return finish("imported", `导入完成：新登记 ${written.length} 项${unchanged ? `，${unchanged} 项与台账一致未作更改` : ""}`);
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
