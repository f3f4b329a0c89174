/**
 * The deadline column of a feedback list (整改时限), as people write it: a date
 * (`2023年12月31日`, `2023-12-31`, `2023/12/31`, an Excel date cell), the end of a month
 * (`2023年12月底前`, `2023年12月底`, `2024年6月`), the end of a year (`2024年底前`), or one of
 * two flags: `立行立改` (immediate: the deadline comes from a rule, N working days after the
 * import) and `长期坚持` (long-term: no fixed deadline). A trailing 前/之前 ("by") changes nothing.
 * parseDeadline is pure (no I/O, no clock); immediateDeadline applies the 立行立改 rule with the
 * office's calendar. The import and the registration form both read the deadline through these.
 */
import { isIsoDate } from "../../workflows/index.ts";
import { loadCalendar } from "../calendar/workdays.ts";
import { AppError } from "../errors.ts";

export type DeadlinePhrase =
  | { kind: "date"; date: string }
  | { kind: "immediate"; longTerm: boolean }
  | { kind: "longTerm" };

export type PhraseResult = { ok: true; value: DeadlinePhrase } | { ok: false; message: string };

export const DEADLINE_FORMS = "2023年12月31日、2023-12-31、2023/12/31、2023年12月底前、2024年6月、2024年底前、立行立改、长期坚持";

const pad = (n: number) => String(n).padStart(2, "0");
const iso = (y: number, m: number, d: number) => `${y}-${pad(m)}-${pad(d)}`;
const lastDayOf = (y: number, m: number) => new Date(Date.UTC(y, m, 0)).getUTCDate();

/** Days from 1899-12-30 (Excel's day 0, with its 1900 leap-year bug already behind it) for 2000–2099. */
const EXCEL_MIN = 36_526;
const EXCEL_MAX = 73_050;
export function excelSerialToDate(serial: number): string {
  return new Date(Date.UTC(1899, 11, 30) + Math.floor(serial) * 86_400_000).toISOString().slice(0, 10);
}

/** Full-width digits and letters to half-width, spaces out. */
const squeeze = (s: string) => s.normalize("NFKC").replace(/\s+/g, "");

function dateOf(y: number, m: number, d: number, raw: string): PhraseResult {
  const date = iso(y, m, d);
  if (!isIsoDate(date)) return { ok: false, message: `“${raw}”不是有效日期` };
  return { ok: true, value: { kind: "date", date } };
}

function monthEnd(y: number, m: number, raw: string): PhraseResult {
  if (y < 2000 || y > 2099 || m < 1 || m > 12) return { ok: false, message: `“${raw}”不是有效的年月` };
  return { ok: true, value: { kind: "date", date: iso(y, m, lastDayOf(y, m)) } };
}

/** A cell of the deadline column: text, a number (an Excel date serial), or a Date (an Excel date cell). */
export function parseDeadline(cell: string | number | Date | null | undefined): PhraseResult {
  if (cell instanceof Date) {
    if (Number.isNaN(cell.getTime())) return { ok: false, message: "日期无效" };
    // Excel dates carry no time zone: exceljs gives them as UTC midnight of the day shown.
    const date = cell.toISOString().slice(0, 10);
    const y = Number(date.slice(0, 4));
    return y < 2000 || y > 2099 ? { ok: false, message: `“${date}”不是有效日期` } : { ok: true, value: { kind: "date", date } };
  }
  if (typeof cell === "number") {
    // A date cell whose number format did not come through (the workbook's styles were read after the sheet).
    if (cell >= EXCEL_MIN && cell <= EXCEL_MAX) return { ok: true, value: { kind: "date", date: excelSerialToDate(cell) } };
    return { ok: false, message: `“${cell}”无法识别为整改时限（可填写：${DEADLINE_FORMS}）` };
  }
  const raw = (cell ?? "").trim();
  if (!raw) return { ok: false, message: "请填写整改时限" };
  // "2023-12-31 00:00:00": a date cell saved to CSV with its time.
  const s = squeeze(raw.normalize("NFKC").replace(/[ T]0?0:00(:00(\.0+)?)?$/, "")).replace(/(之前|以前|前)$/, "");

  const flags = s.split(/[、,;/，；]+/).filter(Boolean);
  if (flags.length > 0 && flags.every((f) => f === "立行立改" || f === "长期坚持")) {
    const immediate = flags.includes("立行立改");
    const longTerm = flags.includes("长期坚持");
    return { ok: true, value: immediate ? { kind: "immediate", longTerm } : { kind: "longTerm" } };
  }

  let m = /^(\d{4})年(\d{1,2})月(\d{1,2})[日号]$/.exec(s) ?? /^(\d{4})[-/](\d{1,2})[-/](\d{1,2})$/.exec(s);
  if (m) return dateOf(Number(m[1]), Number(m[2]), Number(m[3]), raw);
  m = /^(\d{4})年(\d{1,2})月(?:底|末|月底)?$/.exec(s);
  if (m) return monthEnd(Number(m[1]), Number(m[2]), raw);
  m = /^(\d{4})年(?:年)?(?:底|末)$/.exec(s);
  if (m) return monthEnd(Number(m[1]), 12, raw);
  return { ok: false, message: `“${raw}”无法识别为整改时限（可填写：${DEADLINE_FORMS}）` };
}

/** 立行立改: the deadline is this many working days after the day the item is registered (imported). */
export const IMMEDIATE_WORKDAYS = 10;

/** The 立行立改 deadline from `today`, by the office's calendar; a message when the calendar cannot tell. */
export async function immediateDeadline(today: string, workdays = IMMEDIATE_WORKDAYS): Promise<{ date: string } | { error: string }> {
  try {
    return { date: (await loadCalendar()).addWorkdays(today, workdays) };
  } catch (e) {
    return { error: e instanceof AppError ? e.message : String(e) };
  }
}

/** What a phrase plans for a new item: the flags it sets, and its deadline (a date's, or the 立行立改 rule's `immediateDate`). */
export function plannedOf(phrase: DeadlinePhrase | null, immediateDate: string | null): { plannedDeadline: string | null; immediate: boolean; longTerm: boolean } {
  return {
    plannedDeadline: phrase?.kind === "date" ? phrase.date : phrase?.kind === "immediate" ? immediateDate : null,
    immediate: phrase?.kind === "immediate",
    longTerm: phrase?.kind === "longTerm" || (phrase?.kind === "immediate" && phrase.longTerm),
  };
}
