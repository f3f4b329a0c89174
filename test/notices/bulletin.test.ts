/**
 * The monthly 通报 over a month the sweep ran through day by day: each unit's figures trace to its cases,
 * its notices and points add up to the scorecard, the office's time counts against no unit, and a unit's
 * view shows its own row, rank and the city's totals only.
 */
import { expect } from "chai";
import type { Actor, Level } from "../../workflows/index.ts";
import type { CaseDoc } from "../../src/db/models.ts";
import { CASE_FIGURES, bulletin, bulletinCases, bulletinFor, summaryOf, unitLevels, type Bulletin } from "../../src/notices/bulletin.ts";
import { scorecard } from "../../src/notices/scorecard.ts";
import { NoticeSweeper } from "../../src/notices/sweep.ts";
import { checked, evidence, makeWorld, newComplaint, newInspection, type World } from "../support/fixtures.ts";

describe("the monthly 通报", function () {
  this.timeout(60_000);
  let w: World;
  const at = (day: string) => `${day}T10:00:00+08:00`;
  const apply = (c: CaseDoc, type: string, actor: Actor, payload: Record<string, unknown> = {}) =>
    w.service.applyEvent(c._id.toString(), { type, payload }, actor).then((r) => r.case);
  let cases: Record<string, CaseDoc>;

  /** Moves the clock to each day from..to, sweeping every morning as the worker would, and runs `on` the day's steps. */
  async function days(from: string, to: string, on: Record<string, () => Promise<unknown>>) {
    const sweeper = new NoticeSweeper(w.service, w.clock);
    for (let d = from; d <= to; d = new Date(Date.parse(`${d}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10)) {
      w.clock.set(`${d}T08:00:00+08:00`);
      await sweeper.sweep();
      if (on[d]) {
        w.clock.set(at(d));
        await on[d]!();
      }
    }
  }

  before(async () => {
    w = await makeWorld("2026-04-01T09:00:00+08:00");
    const item = async (n: number, unit: string, who: Actor, deadline: string) => {
      let c = await w.service.createCase(newInspection(n), w.office);
      c = await apply(c, "ASSIGN", w.office, { leadUnitId: unit, coUnitIds: [], deadline });
      c = await apply(c, "SIGN", who);
      return apply(c, "REPORT_PROGRESS", who, { percent: 90, text: "基本完成" });
    };
    cases = {
      // 市生态环境局: A late and still held at the end of May; B closed in May on time; C a complaint it handed back in time that the office then sat on.
      A: await item(1, w.units.lead, w.lead, "2026-05-08"),
      B: await item(2, w.units.lead, w.lead, "2026-05-29"),
      // 市水务局: D closed in May after its deadline.
      D: await item(4, w.units.co, w.co, "2026-05-13"),
    };
    let c = await apply(await w.service.createCase(newComplaint(), w.office), "ACCEPT", w.office); // concludes by 05-31
    cases.C = await apply(c, "ASSIGN", w.office, { leadUnitId: w.units.lead, coUnitIds: [], deadline: "2026-05-10" });
    const submit = async (k: string, who: Actor) => {
      cases[k] = await apply(cases[k]!, "SUBMIT", who, { summary: "完成", attachmentIds: [await evidence(cases[k]!._id.toString(), who)] });
    };
    await days("2026-04-01", "2026-06-05", {
      "2026-05-05": async () => {
        cases.C = await apply(cases.C!, "SUBMIT_RESULT", w.lead, { summary: "经查属实", violationFound: true, attachmentIds: [] });
      },
      "2026-05-12": () => submit("B", w.lead),
      "2026-05-14": async () => {
        cases.B = await apply(cases.B!, "PASS", w.office, await checked(w, cases.B!._id.toString(), { publicityDays: 0 }));
      },
      "2026-05-18": () => submit("D", w.co),
      "2026-05-20": async () => {
        cases.D = await apply(cases.D!, "PASS", w.office, await checked(w, cases.D!._id.toString(), { publicityDays: 0 }));
      },
      "2026-06-03": async () => {
        c = await apply(cases.C!, "APPROVE", w.office);
        c = await apply(c, "REPLY", w.office, { text: "已查处", channel: "书面" });
      },
    });
  });

  it("lists per unit the cases it held, closed (on time), overdue, its notices by level, points and rank; every case figure is its cases", async () => {
    w.clock.set(at("2026-06-05"));
    const levels = await unitLevels();
    const b = await bulletin("2026-05", w.clock.now(), levels);
    expect(b).to.include({ from: "2026-05-01", to: "2026-05-31", cutoff: "2026-05-31", units: 2 });
    const lead = b.rows.find((r) => r.unitId === w.units.lead)!;
    const co = b.rows.find((r) => r.unitId === w.units.co)!;
    expect([lead.held, lead.closed, lead.closedOnTime, lead.overdue]).to.deep.equal([3, 1, 1, 1]);
    expect([co.held, co.closed, co.closedOnTime, co.overdue]).to.deep.equal([1, 1, 0, 0]);
    const numbers = async (unit: string, figure: (typeof CASE_FIGURES)[number]) => (await bulletinCases("2026-05", w.clock.now(), unit, figure)).map((x) => x.ledgerNumber).sort();
    expect(await numbers(w.units.lead, "held")).to.deep.equal(["XF-2026-000001", "ZY2-01", "ZY2-02"]);
    expect(await numbers(w.units.lead, "closedOnTime")).to.deep.equal(["ZY2-02"]);
    // A is overdue in its unit's hands; C is past the unit's 办理时限 but was handed back in time: the office's delay is not the unit's.
    expect(await numbers(w.units.lead, "overdue")).to.deep.equal(["ZY2-01"]);
    for (const row of b.rows) for (const f of CASE_FIGURES) expect((await bulletinCases("2026-05", w.clock.now(), row.unitId, f)).length, `${row.unitName} ${f}`).to.equal(row[f]);
    // Fewer points lost ranks higher.
    expect(co.points).to.be.greaterThan(lead.points);
    expect([co.rank, lead.rank]).to.deep.equal([1, 2]);
    expect(b.summary).to.contain("2026年5月，全市2个责任单位共承办督察整改和信访案件4件，本月办结2件，其中按期办结1件（按期办结率50%）；截至5月31日，超期未办结1件。").and.contain("市生态环境局（扣");
  });

  it("adds up to the scorecard: notices by level, their total and the points, per unit and in all; the office's reminders count for no unit", async () => {
    w.clock.set(at("2026-06-05"));
    const levels = await unitLevels();
    const b = await bulletin("2026-05", w.clock.now(), levels);
    const scores = await scorecard("2026-05-01", "2026-05-31");
    expect(b.rows.map((r) => r.unitId).sort()).to.deep.equal(scores.map((s) => s.unitId).sort());
    for (const s of scores) {
      const row = b.rows.find((r) => r.unitId === s.unitId)!;
      expect(row.points).to.equal(s.points);
      expect(row.noticeTotal).to.equal(s.lines.length);
      for (const l of levels) expect(row.notices[l], l).to.equal(s.counts[l] ?? 0);
      expect(Object.keys(s.counts).every((l) => levels.includes(l as Level))).to.equal(true);
    }
    expect(b.totals.points).to.equal(Math.round(scores.reduce((n, s) => n + s.points, 0) * 10) / 10);
    expect(b.totals.noticeTotal).to.equal(scores.reduce((n, s) => n + s.lines.length, 0));
    for (const l of levels) expect(b.totals.notices[l]).to.equal(scores.reduce((n, s) => n + (s.counts[l] ?? 0), 0));
    // The complaint the office held past its limit produced office reminders, none of them in a unit's row.
    const lead = scores.find((s) => s.unitId === w.units.lead)!;
    expect(lead.lines.filter((l) => l.caseId === cases.C!._id.toString()).map((l) => l.level)).to.deep.equal([]);
    expect(b.totals.points).to.be.lessThan(0);
  });

  it("a unit sees its own row, its rank among all units and the city's totals, and no other unit", async () => {
    w.clock.set(at("2026-06-05"));
    const own = await bulletinFor(w.co, "2026-05", w.clock.now());
    expect(own.rows.map((r) => r.unitName)).to.deep.equal(["市水务局"]);
    expect(own.summary).to.contain("你单位承办案件1件").and.contain("在全市2个责任单位中排名第1").and.contain("全市共承办案件4件").and.not.contain("市生态环境局");
    const none = await bulletinFor(w.other, "2026-05", w.clock.now());
    expect(none.rows).to.deep.equal([]);
    expect(none.summary).to.contain("本月没有承办案件");
  });

  it("the paragraph names every unit it praises up to eight, and says how many beyond that", () => {
    const of = (n: number) =>
      summaryOf({
        month: "2026-11",
        cutoff: "2026-11-30",
        units: n,
        rows: Array.from({ length: n }, (_, i) => ({ unitName: `单位${i + 1}`, points: 0, overdue: 0, specialLetter: false })),
        totals: { held: n, closed: 0, closedOnTime: 0, longTerm: 0, overdue: 0, noticeTotal: 0, notices: {}, points: 0 },
      } as unknown as Bulletin);
    expect(of(1)).to.contain("单位1本月无扣分");
    expect(of(6)).to.contain("单位1、单位2、单位3、单位4、单位5、单位6共6个单位本月无扣分");
    expect(of(10)).to.contain("单位1、单位2、单位3、单位4、单位5等10个单位本月无扣分").and.not.contain("单位6");
  });
});
