/**
 * The office's corrections to the holiday calendar (HolidayOverride) and the years it has entered
 * (CalendarYear), with the checks the 管理 page and any other caller share.
 */
import mongoose from "mongoose";
import { isIsoDate } from "../../workflows/index.ts";
import { CalendarYear, HolidayOverride, isDuplicateKey } from "../db/models.ts";
import { duplicate, invalid, notFound } from "../errors.ts";
import { COVERED_YEARS } from "./workdays.ts";

const NOTE_TOO_LONG = "备注不超过 200 字";

export async function listOverrides() {
  return HolidayOverride.find({}).sort({ date: 1 }).lean();
}

export async function listEnteredYears() {
  return CalendarYear.find({}).sort({ year: 1 }).lean();
}

export async function countOverrides(): Promise<number> {
  return HolidayOverride.countDocuments({});
}

/** A day made a workday (调休) or a holiday; one override per date. */
export async function addOverride(input: { date: string; workday: string; note: string }): Promise<void> {
  const date = input.date.trim();
  const note = input.note.trim();
  const fields: { field: string; message: string }[] = [];
  if (!isIsoDate(date)) fields.push({ field: "date", message: "日期应为有效日期，格式 YYYY-MM-DD（如 2027-10-08）" });
  if (input.workday !== "true" && input.workday !== "false") fields.push({ field: "workday", message: "请选择上班或休息" });
  if (note.length > 200) fields.push({ field: "note", message: NOTE_TOO_LONG });
  if (fields.length) throw invalid(fields);
  await HolidayOverride.create({ date, workday: input.workday === "true", note }).catch((e) => {
    throw isDuplicateKey(e) ? duplicate("date", `${date} 已有调整，请先删除原记录`) : e;
  });
}

export async function deleteOverride(id: string): Promise<void> {
  const gone = mongoose.isObjectIdOrHexString(id) ? await HolidayOverride.deleteOne({ _id: id }) : null;
  if (!gone?.deletedCount) throw notFound("日历调整");
}

/** Marks a year the shipped calendar lacks as entered by the office. */
export async function addEnteredYear(input: { year: string; note: string }): Promise<void> {
  const text = input.year.trim();
  const year = Number(text);
  const note = input.note.trim();
  if (!/^\d{4}$/.test(text) || year < 2000 || year > 2100) throw invalid([{ field: "year", message: "年份应为 2000–2100 之间的四位数字" }]);
  if (COVERED_YEARS.has(year)) throw invalid([{ field: "year", message: `${year} 年的节假日安排已随系统提供，无需录入` }]);
  if (note.length > 200) throw invalid([{ field: "note", message: NOTE_TOO_LONG }]);
  await CalendarYear.create({ year, note }).catch((e) => {
    throw isDuplicateKey(e) ? duplicate("year", `${year} 年已标记为已录入`) : e;
  });
}

export async function deleteEnteredYear(id: string): Promise<void> {
  const gone = mongoose.isObjectIdOrHexString(id) ? await CalendarYear.deleteOne({ _id: id }) : null;
  if (!gone?.deletedCount) throw notFound("年度录入标记");
}
