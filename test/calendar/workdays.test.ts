import { expect } from "chai";
import { HolidayOverride } from "../../src/db/models.ts";
import { CalendarNotCovered, WorkCalendar, loadCalendar } from "../../src/calendar/workdays.ts";

describe("working-day calendar", () => {
  const cal = new WorkCalendar();

  it("counts 调休 workdays and skips the National Day holiday", () => {
    expect(cal.isWorkday("2025-09-28")).to.equal(true); // a Sunday made a workday
    expect(cal.isWorkday("2025-10-01")).to.equal(false);
    expect(cal.addWorkdays("2025-09-28", 15)).to.equal("2025-10-24");
    expect(cal.addWorkdays("2025-10-24", -15)).to.equal("2025-09-28");
    expect(cal.workdaysBetween("2025-09-28", "2025-10-24")).to.equal(15);
    expect(cal.workdaysBetween("2025-10-24", "2025-09-28")).to.equal(-15);
  });

  it("skips the Spring Festival of 2026", () => {
    expect(cal.isWorkday("2026-02-16")).to.equal(false);
    expect(cal.addWorkdays("2026-02-13", 1)).to.equal("2026-02-14"); // a 调休 Saturday
  });

  it("gives the same answers whatever the process time zone", () => {
    const saved = process.env.TZ;
    try {
      process.env.TZ = "America/New_York";
      expect(new WorkCalendar().addWorkdays("2025-09-28", 15)).to.equal("2025-10-24");
      process.env.TZ = "Pacific/Kiritimati";
      expect(new WorkCalendar().addWorkdays("2025-09-28", 15)).to.equal("2025-10-24");
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });

  it("refuses a year the calendar does not cover instead of guessing", () => {
    expect(() => cal.isWorkday("2027-01-04")).to.throw(CalendarNotCovered, "2027 年的法定节假日安排尚未收录");
    expect(() => cal.addWorkdays("2026-12-28", 10)).to.throw(CalendarNotCovered);
  });

  it("applies the office's overrides from the ledger", async () => {
    await HolidayOverride.deleteMany({});
    await HolidayOverride.create([
      { date: "2026-03-03", workday: false, note: "地方假日" },
      { date: "2027-01-04", workday: true, note: "已发布" },
    ]);
    const withOverrides = await loadCalendar();
    expect(withOverrides.isWorkday("2026-03-03")).to.equal(false);
    expect(withOverrides.addWorkdays("2026-03-02", 1)).to.equal("2026-03-04");
    expect(withOverrides.isWorkday("2027-01-04")).to.equal(true);
    await HolidayOverride.deleteMany({});
  });

  it("counts and steps as going day by day would, across years and with overrides", () => {
    const overrides = new Map([["2025-12-31", false], ["2026-01-03", true], ["2025-05-05", true]]);
    const fast = new WorkCalendar(overrides);
    const day = (n: number) => new Date(Date.UTC(2024, 0, 1) + n * 86_400_000).toISOString().slice(0, 10);
    const slowBetween = (a: string, b: string) => {
      let n = 0;
      for (let d = a; d < b; ) {
        d = day((Date.parse(`${d}T00:00:00Z`) - Date.UTC(2024, 0, 1)) / 86_400_000 + 1);
        if (fast.isWorkday(d)) n++;
      }
      return n;
    };
    const slowAdd = (a: string, n: number) => {
      let [d, left] = [(Date.parse(`${a}T00:00:00Z`) - Date.UTC(2024, 0, 1)) / 86_400_000, Math.abs(n)];
      while (left > 0) {
        d += Math.sign(n);
        if (fast.isWorkday(day(d))) left--;
      }
      return day(d);
    };
    // Pairs spread over 2024–2026 (the years shipped), in both orders, some a year and more apart.
    for (let k = 0; k < 300; k++) {
      const [a, b] = [day((k * 7919) % 1090), day((k * 104_729) % 1090)];
      const expected = a <= b ? slowBetween(a, b) : -slowBetween(b, a);
      expect(fast.workdaysBetween(a, b), `${a} → ${b}`).to.equal(expected);
      const n = (k % 60) - 30;
      if (a > "2024-03-01" && a < "2026-10-01") expect(fast.addWorkdays(a, n), `${a} + ${n}`).to.equal(slowAdd(a, n));
    }
    expect(fast.addWorkdays("2025-12-30", 1)).to.equal("2026-01-03");
    expect(fast.addWorkdays("2026-01-03", -1)).to.equal("2025-12-30");
  });
});
