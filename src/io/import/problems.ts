/** The rows' errors, each named by row, column (as the file's header says it) and cell; listed up to MAX_ERRORS, counted past it. */
import { FIELD_NAMES, columnLetter, type ColumnMap, type Field } from "../columns.ts";
import type { RowError } from "./types.ts";

const MAX_ERRORS = 10_000;

export class Problems {
  readonly errors: RowError[] = [];
  notListed = 0;
  /** The file's columns, once its header is found. */
  columns: ColumnMap | null = null;

  /** How many problems so far (listed or not). */
  get count(): number {
    return this.errors.length + this.notListed;
  }

  /** A column as the file calls it, or its usual name. */
  header(f: Field): string {
    return this.columns?.[f]?.header ?? FIELD_NAMES[f];
  }

  fail(row: number, field: Field | null, value: string, reason: string): void {
    if (this.errors.length >= MAX_ERRORS) {
      this.notListed++;
      return;
    }
    const column = field ? this.header(field) : null;
    const index = field ? this.columns?.[field]?.index : undefined;
    this.errors.push({
      row,
      column,
      cell: index === undefined ? null : `${columnLetter(index)}${row}`,
      value,
      reason,
      message: column ? `第 ${row} 行“${column}”列：${reason}` : `第 ${row} 行：${reason}`,
    });
  }
}
