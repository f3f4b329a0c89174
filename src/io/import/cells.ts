/** Stage 2: each data row's cells read and checked on their own (the ledger is the next stage's). */
import { CATEGORIES } from "../../cases/schemas.ts";
import type { ColumnMap, Field } from "../columns.ts";
import { parseDeadline, type DeadlinePhrase } from "../deadline-phrases.ts";
import type { Cell, SheetRow } from "../rows.ts";
import { splitUnits, type KnownUnit, type UnitMatcher } from "../units.ts";
import type { Problems } from "./problems.ts";
import type { Parsed } from "./types.ts";

/** Cells as text: trimmed, numbers as written, dates as YYYY-MM-DD, line ends as \n. */
export function cellText(c: Cell | undefined): string {
  if (c === null || c === undefined) return "";
  if (c instanceof Date) return Number.isNaN(c.getTime()) ? "" : c.toISOString().slice(0, 10);
  if (typeof c === "number") return Number.isInteger(c) ? String(c) : String(Number(c.toPrecision(15)));
  return c.replace(/\r\n?/g, "\n").trim();
}

/** A row with nothing in it (skipped, not counted). */
export const blankRow = (r: SheetRow) => r.cells.every((c) => cellText(c) === "");

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

/** Reads data rows one by one: item numbers repeated in the file are caught across rows. */
export class RowReader {
  /** Each item number's first row. */
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly problems: Problems,
    private readonly units: UnitMatcher,
    /** The 立行立改 deadline (computed once, on first need). */
    private readonly immediate: () => Promise<{ date: string } | { error: string }>,
  ) {}

  /** One data row: its cells checked; null when a cell was wrong (the errors are recorded). */
  async read(r: SheetRow, cols: ColumnMap): Promise<Parsed | null> {
    const { problems } = this;
    const fail = problems.fail.bind(problems);
    const text = (f: Field) => {
      const c = cols[f];
      return c ? cellText(r.cells[c.index]) : "";
    };
    const before = problems.count;
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
      const first = this.seen.get(number);
      if (first !== undefined) fail(r.row, "number", number, `“${number}”与第 ${first} 行重复`);
      else this.seen.set(number, r.row);
    }

    const description = text("description");
    const title = text("title") || titleOf(description);

    const categoryText = text("category");
    const category = categoryOf(categoryText);
    if (category === null) fail(r.row, "category", categoryText, `“${categoryText}”不是有效的问题类别（可选：${CATEGORIES.join("、")}）`);

    const { deadline, deadlineText, plannedDeadline } = await this.deadlineOf(r, cols);
    const { lead, co } = this.unitsOf(r.row, text("lead"), text("co"));

    if (problems.count > before) return null;
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
  }

  /** The deadline cell: a date cell as a date, text as a phrase (deadline-phrases.ts). */
  private async deadlineOf(r: SheetRow, cols: ColumnMap) {
    const cell = cols.deadline ? r.cells[cols.deadline.index] : null;
    const deadlineText = cellText(cell ?? null);
    let deadline: DeadlinePhrase | null = null;
    let plannedDeadline: string | null = null;
    if (deadlineText) {
      const p = parseDeadline(cell instanceof Date || typeof cell === "number" ? cell : deadlineText);
      if (!p.ok) this.problems.fail(r.row, "deadline", deadlineText, p.message);
      else {
        deadline = p.value;
        if (p.value.kind === "date") plannedDeadline = p.value.date;
        if (p.value.kind === "immediate") {
          const d = await this.immediate();
          if ("error" in d) this.problems.fail(r.row, "deadline", deadlineText, `无法计算立行立改的时限：${d.error}`);
          else plannedDeadline = d.date;
        }
      }
    }
    return { deadline, deadlineText, plannedDeadline };
  }

  /** 牵头单位 (one) and 配合单位 (any, not the lead), by name, short name or alias. */
  private unitsOf(row: number, leadText: string, coText: string): { lead: KnownUnit | null; co: KnownUnit[] } {
    const { problems, units } = this;
    let lead: KnownUnit | null = null;
    if (leadText) {
      const names = splitUnits(leadText);
      if (names.length > 1) problems.fail(row, "lead", leadText, `牵头单位只能填写一个单位，其他单位请填入“${problems.header("co")}”列`);
      else {
        const m = units.match(names[0] ?? leadText);
        if (!m.ok) problems.fail(row, "lead", leadText, m.message);
        else lead = m.unit;
      }
    }
    const co: KnownUnit[] = [];
    const coProblems: string[] = [];
    for (const name of splitUnits(coText)) {
      const m = units.match(name);
      if (!m.ok) coProblems.push(m.message);
      else if (lead && m.unit.id === lead.id) coProblems.push(`“${name}”已是牵头单位，不能同时作为配合单位`);
      else if (!co.some((u) => u.id === m.unit.id)) co.push(m.unit);
    }
    // One error per cell, however many of its names are wrong.
    if (coProblems.length) problems.fail(row, "co", coText, coProblems.join("；"));
    return { lead, co };
  }
}
