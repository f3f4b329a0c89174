/** 管理 → 节假日: the calendar's overrides (holidays, make-up workdays) and the years entered in full. */
import type { Request, Response } from "express";
import { addEnteredYear, addOverride, deleteEnteredYear, deleteOverride, listEnteredYears, listOverrides } from "../../../calendar/overrides.ts";
import { COVERED_YEARS, missingYears } from "../../../calendar/workdays.ts";
import { assertCsrf } from "../../auth.ts";
import { formOf, str, type Body, type Errors } from "../render.ts";
import { refusal, type AdminEditor } from "./forms.ts";

const WEEKDAYS = ["星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"];

/** "2004–2026" (or the list when it has gaps). */
export function coveredText(): string {
  const years = [...COVERED_YEARS].sort((a, b) => a - b);
  if (!years.length) return "无";
  const contiguous = years.every((y, i) => i === 0 || y === years[i - 1]! + 1);
  return contiguous ? `${years[0]}–${years.at(-1)}` : years.join("、");
}

interface HolidayForm {
  override?: { values: Body; errors: Errors };
  year?: { values: Body; errors: Errors };
}

export const calendarEditor: AdminEditor = (router, { page, deps }) => {
  async function showHolidays(req: Request, res: Response, form: HolidayForm = {}, status = 200) {
    const [overrides, years] = await Promise.all([listOverrides(), listEnteredYears()]);
    const perYear = new Map<number, number>();
    for (const o of overrides) perYear.set(Number(o.date.slice(0, 4)), (perYear.get(Number(o.date.slice(0, 4))) ?? 0) + 1);
    page(
      req,
      res,
      "holidays",
      {
        title: "节假日与调休",
        overrides: overrides.map((o) => ({ id: o._id.toString(), date: o.date, weekday: WEEKDAYS[new Date(`${o.date}T00:00:00Z`).getUTCDay()], workday: o.workday, note: o.note })),
        years: years.map((y) => ({ id: y._id.toString(), year: y.year, note: y.note, createdAt: (y as { createdAt?: Date }).createdAt, overrides: perYear.get(y.year) ?? 0 })),
        covered: coveredText(),
        missing: missingYears(deps.clock.now(), new Set(years.map((y) => y.year))),
        override: form.override ?? { values: { workday: "false" }, errors: {} },
        year: form.year ?? { values: {}, errors: {} },
      },
      status,
      form.year ? "add-year" : "add-override",
    );
  }

  router.get("/holidays", async (req, res) => {
    await showHolidays(req, res);
  });

  router.post("/holidays", async (req, res) => {
    assertCsrf(req);
    const body = formOf(req);
    try {
      await addOverride({ date: str(body, "date"), workday: str(body, "workday"), note: str(body, "note") });
      res.redirect(303, "/admin/holidays?done=override_added");
    } catch (e) {
      const { status, errors } = refusal(e);
      await showHolidays(req, res, { override: { values: body, errors } }, status);
    }
  });

  router.post("/holidays/:id/delete", async (req, res) => {
    assertCsrf(req);
    await deleteOverride(String(req.params.id));
    res.redirect(303, "/admin/holidays?done=override_deleted");
  });

  router.post("/holidays/years", async (req, res) => {
    assertCsrf(req);
    const body = formOf(req);
    try {
      await addEnteredYear({ year: str(body, "year"), note: str(body, "note") });
      res.redirect(303, "/admin/holidays?done=year_added");
    } catch (e) {
      const { status, errors } = refusal(e);
      await showHolidays(req, res, { year: { values: body, errors } }, status);
    }
  });

  router.post("/holidays/years/:id/delete", async (req, res) => {
    assertCsrf(req);
    await deleteEnteredYear(String(req.params.id));
    res.redirect(303, "/admin/holidays?done=year_deleted");
  });
};
