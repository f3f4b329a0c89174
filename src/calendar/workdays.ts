/**
 * Working days in China: weekends, statutory holidays and 调休 workdays from the offline
 * calendar shipped in `chinese-days`, with office-entered overrides on top. Dates are
 * "YYYY-MM-DD" strings (calendar dates in Asia/Shanghai), so the process time zone never matters.
 * A year the calendar does not cover is refused, not guessed.
 */
import { createRequire } from "node:module";
import { shanghaiDate } from "../../workflows/index.ts";
import { AppError } from "../errors.ts";
import { CalendarYear, HolidayOverride } from "../db/models.ts";

interface CalendarData {
  holidays: Record<string, string>;
  workdays: Record<string, string>;
}
const data = createRequire(import.meta.url)("chinese-days/dist/chinese-days.json") as CalendarData;

const yearsOf = (dates: string[]) => new Set(dates.map((d) => Number(d.slice(0, 4))));
/** Years whose holiday arrangement the State Council has published and the package carries. */
export const COVERED_YEARS: ReadonlySet<number> = yearsOf(Object.keys(data.holidays));

export class CalendarNotCovered extends AppError {
  constructor(readonly year: number) {
    super(
      422,
      "calendar_not_covered",
      `${year} 年的法定节假日安排尚未收录，无法按工作日计算期限；请更新日历数据或由管理员录入该年安排`,
      { year },
    );
  }
}

const DAY = 86_400_000;
const weekday = (date: string) => new Date(`${date}T00:00:00Z`).getUTCDay();
const dayNumber = (date: string) => Date.parse(`${date}T00:00:00Z`) / DAY;
const dateOf = (day: number) => new Date(day * DAY).toISOString().slice(0, 10);
const shift = (date: string, days: number) => dateOf(dayNumber(date) + days);

/** A year's days in order: whether each is a workday, and how many workdays up to and including it. */
interface YearDays {
  first: number;
  workday: Uint8Array;
  upTo: Int32Array;
}

export class WorkCalendar {
  /** Per year, built on first use: counting and stepping by them takes no date arithmetic per day (the sweep counts for every notice). */
  private readonly years = new Map<number, YearDays>();

  /**
   * overrides: date → true (a workday) / false (a day off), entered by the office;
   * enteredYears: years the office has entered in full as overrides (beyond the shipped data).
   */
  constructor(
    private readonly overrides: ReadonlyMap<string, boolean> = new Map(),
    private readonly enteredYears: ReadonlySet<number> = new Set(),
  ) {}

  isWorkday(date: string): boolean {
    const o = this.overrides.get(date);
    if (o !== undefined) return o;
    const year = Number(date.slice(0, 4));
    if (!COVERED_YEARS.has(year) && !this.enteredYears.has(year)) throw new CalendarNotCovered(year);
    if (date in data.workdays) return true;
    if (date in data.holidays) return false;
    const d = weekday(date);
    return d !== 0 && d !== 6;
  }

  /** The n-th working day after `date` (n > 0), or before it (n < 0); `date` itself is not counted. */
  addWorkdays(date: string, n: number): string {
    const dir = n >= 0 ? 1 : -1;
    let left = Math.abs(n);
    let y = Number(date.slice(0, 4));
    let days = this.year(y);
    let i = dayNumber(date) - days.first;
    while (left > 0) {
      i += dir;
      if (i < 0 || i >= days.workday.length) {
        y += dir;
        days = this.year(y);
        i = dir > 0 ? 0 : days.workday.length - 1;
      }
      left -= days.workday[i]!;
    }
    return dateOf(days.first + i);
  }

  /** Working days in (from, to]: how many working days `to` is after `from` (negative if before). */
  workdaysBetween(from: string, to: string): number {
    if (from === to) return 0;
    const [a, b, sign] = from < to ? [from, to, 1] : [to, from, -1];
    const upTo = (date: string, days: YearDays) => days.upTo[dayNumber(date) - days.first]!;
    const [ya, yb] = [Number(a.slice(0, 4)), Number(b.slice(0, 4))];
    let n = -upTo(a, this.year(ya));
    for (let y = ya; y < yb; y++) n += this.year(y).upTo.at(-1)!;
    return sign * (n + upTo(b, this.year(yb)));
  }

  /** A year's days; refused (CalendarNotCovered) for a year neither shipped nor entered. */
  private year(y: number): YearDays {
    let days = this.years.get(y);
    if (!days) {
      const first = dayNumber(`${y}-01-01`);
      const length = dayNumber(`${y + 1}-01-01`) - first;
      const workday = new Uint8Array(length);
      const upTo = new Int32Array(length);
      let n = 0;
      for (let i = 0; i < length; i++) {
        if (this.isWorkday(dateOf(first + i))) workday[i] = 1;
        n += workday[i]!;
        upTo[i] = n;
      }
      days = { first, workday, upTo };
      this.years.set(y, days);
    }
    return days;
  }

  addCalendarDays(date: string, n: number): string {
    return shift(date, n);
  }
}

/** The calendar with the office's overrides and entered years as they are in the ledger now. */
export async function loadCalendar(): Promise<WorkCalendar> {
  const [rows, years] = await Promise.all([
    HolidayOverride.find({}, { date: 1, workday: 1 }).lean(),
    CalendarYear.find({}, { year: 1 }).lean(),
  ]);
  return new WorkCalendar(new Map(rows.map((r) => [r.date, r.workday])), new Set(years.map((y) => y.year)));
}

/** This year and next, when neither the shipped calendar nor the office covers them (`entered`: the years the office marked entered). */
export function missingYears(now: Date, entered: ReadonlySet<number>): number[] {
  const year = Number(shanghaiDate(now).slice(0, 4));
  return [year, year + 1].filter((y) => !COVERED_YEARS.has(y) && !entered.has(y));
}

/** The same, read from the ledger: what the admin is asked to enter on every page. */
export async function calendarGaps(now: Date): Promise<number[]> {
  return missingYears(now, new Set((await CalendarYear.find({}, { year: 1 }).lean()).map((y) => y.year)));
}
