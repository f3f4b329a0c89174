/** What an import takes and answers (the report), and the row as the stages pass it on. */
import type { Actor } from "../../../workflows/index.ts";
import type { Clock } from "../../clock.ts";
import type { CaseService } from "../../cases/service.ts";
import type { DeadlinePhrase } from "../deadline-phrases.ts";
import type { Encoding, Format, ImportLimits } from "../rows.ts";
import type { KnownUnit } from "../units.ts";

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

/** How many rows the report lists by name (preview, unchanged). */
export const PREVIEW_LIMIT = 500;

/** A row, its cells read and checked; what the ledger comparison and the create need. */
export interface Parsed {
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
