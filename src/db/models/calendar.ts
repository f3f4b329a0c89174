import mongoose, { Schema } from "mongoose";

/** Office-entered corrections to the holiday calendar (a late 调休 notice, a local holiday). */
const holidayOverrideSchema = new Schema(
  {
    date: { type: String, required: true, unique: true },
    workday: { type: Boolean, required: true },
    note: { type: String, default: "" },
  },
  { timestamps: true },
);
export const HolidayOverride = mongoose.model("HolidayOverride", holidayOverrideSchema);

/** A year whose holidays and 调休 workdays the office has entered as overrides (the shipped calendar lacks it). */
const calendarYearSchema = new Schema(
  { year: { type: Number, required: true, unique: true }, note: { type: String, default: "" } },
  { timestamps: true },
);
export const CalendarYear = mongoose.model("CalendarYear", calendarYearSchema);
