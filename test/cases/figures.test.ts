/**
 * The published figures on a small world (docs/domain.md#figures): a 长期坚持 item is neither on time
 * nor late, so closing one leaves every 按期 rate as it was and is counted apart; and each rule as the
 * database evaluates it (src/cases/figures.ts) picks the same cases as its pure definition (workflows/figures.ts).
 */
import { expect } from "chai";
import { closedOnTime, isLongTerm, overdueAtCutoff, overdueInUnitHands, overdueNow, shanghaiDate, type Actor, type CaseKind } from "../../workflows/index.ts";
import { caseFilter } from "../../src/cases/queries.ts";
import { caseStats, unitFigures } from "../../src/cases/stats.ts";
import { Case, type CaseDoc } from "../../src/db/models.ts";
import { bulletin, bulletinCases, unitLevels } from "../../src/notices/bulletin.ts";
import { checked, evidence, makeWorld, newComplaint, newInspection, type World } from "../support/fixtures.ts";
import { withApp } from "../support/app.ts";

describe("published figures", function () {
  this.timeout(60_000);
  let w: World;
  const apply = (c: CaseDoc, type: string, actor: Actor, payload: Record<string, unknown> = {}) =>
    w.service.applyEvent(c._id.toString(), { type, payload }, actor).then((r) => r.case);
  const close = async (c: CaseDoc) => {
    c = await apply(c, "SUBMIT", w.lead, { summary: "完成", attachmentIds: [await evidence(c._id.toString(), w.lead)] });
    return apply(c, "PASS", w.office, await checked(w, c._id.toString(), { publicityDays: 0 }));
  };

  before(async () => {
    w = await makeWorld("2026-04-01T09:00:00+08:00");
    const assigned = async (n: number, deadline: string | null, longTerm = false) => {
      const c = await w.service.createCase({ ...newInspection(n), longTerm }, w.office);
      const a = await apply(c, "ASSIGN", w.office, { leadUnitId: w.units.lead, coUnitIds: [], ...(deadline ? { deadline } : {}) });
      return apply(a, "SIGN", w.lead);
    };
    // ZY2-01 closes on time; ZY2-05, 长期坚持 without a deadline, closes too; ZY2-02 is past its deadline in
    // the unit's hands; a complaint never accepted is past its acceptance limit in the office's hands.
    const [one, five, two] = [await assigned(1, "2026-04-30"), await assigned(5, null, true), await assigned(2, "2026-04-10")];
    await w.service.createCase(newComplaint(), w.office);
    w.clock.set("2026-04-20T10:00:00+08:00");
    await close(one);
    await close(five);
    expect(two.state).to.equal("rectifying.working");
  });

  it("a 长期坚持 item closed is neither on time nor late: the 按期 rates stay at 100 % and it is counted apart", async () => {
    const stats = await caseStats(w.office, { from: "2026-01-01", to: "2026-12-31" }, w.clock.now());
    expect(stats.inspections).to.deep.equal({ closed: 2, closedOnTime: 1, longTerm: 1, onTimeRate: 1 });
    const [lead] = (await unitFigures(w.clock.now())).filter((u) => u.unitId === w.units.lead);
    expect(lead).to.include({ closed: 2, onTime: 1, longTerm: 1, onTimeRate: 1, overdue: 1 });

    w.clock.set("2026-05-05T10:00:00+08:00");
    const b = await bulletin("2026-04", w.clock.now(), await unitLevels());
    expect(b.rows.find((r) => r.unitId === w.units.lead)).to.include({ closed: 2, closedOnTime: 1, longTerm: 1, overdue: 1 });
    expect(b.summary).to.contain("其中按期办结1件、长期坚持1件（按期办结率100%，长期坚持事项不计）");
    expect((await bulletinCases("2026-04", w.clock.now(), w.units.lead, "longTerm")).map((c) => c.ledgerNumber)).to.deep.equal(["ZY2-05"]);
    w.clock.set("2026-04-20T10:00:00+08:00");
  });

  it("the leader's 首页 shows the city's 按期整改率 at 100 % and the 长期坚持 item apart", async () => {
    await withApp(w, ["leader"], async ({ leader }) => {
      const home = (await leader.agent.get("/").expect(200)).text;
      expect(home).to.match(/100(\.0)?%<\/div><div>2026 年督察问题按期整改率<br><small>长期坚持 1 件另计<\/small>/);
    });
  });

  it("each rule in the database picks the cases its pure definition picks", async () => {
    const now = w.clock.now();
    const today = shanghaiDate(now);
    const docs = await Case.find().lean<CaseDoc[]>();
    const dated = (d: CaseDoc) => ({ kind: d.kind as CaseKind, state: d.state, deadline: d.deadline, context: d.context as Record<string, string | null> });
    const numbers = (ds: CaseDoc[]) => ds.map((d) => d.ledgerNumber).sort();

    const overdue = await Case.find(caseFilter(w.office, { overdue: true }, now)).lean<CaseDoc[]>();
    expect(numbers(overdue)).to.deep.equal(numbers(docs.filter((d) => overdueNow(dated(d), today))));
    expect(overdue).to.have.length(2);
    // The complaint waits on the office: overdue in the ledger, not in the unit's hands.
    expect(numbers(docs.filter((d) => overdueInUnitHands(dated(d), today)))).to.deep.equal(["ZY2-02"]);

    const traced = async (figure: "overdue" | "closedOnTime" | "longTerm") => (await bulletinCases("2026-04", now, w.units.lead, figure)).map((c) => c.ledgerNumber).sort();
    const lead = docs.filter((d) => d.leadUnitId === w.units.lead);
    expect(await traced("overdue")).to.deep.equal(numbers(lead.filter((d) => overdueAtCutoff(dated(d), today))));
    expect(await traced("closedOnTime")).to.deep.equal(numbers(lead.filter((d) => closedOnTime(dated(d)))));
    expect(await traced("longTerm")).to.deep.equal(numbers(lead.filter((d) => d.state === "closed" && isLongTerm(dated(d)))));
    expect(await traced("closedOnTime")).to.deep.equal(["ZY2-01"]);
  });

  it("a case whose extension request awaits the office is overdue nowhere until the date asked for has passed too (docs/domain.md#extension-pending-overdue)", async () => {
    const now = w.clock.now();
    const today = shanghaiDate(now);
    const [statsBefore, [leadBefore]] = [await caseStats(w.office, { from: "2026-01-01", to: "2026-12-31" }, now), (await unitFigures(now)).filter((u) => u.unitId === w.units.lead)];
    // Both past their deadlines (04-10, 04-08); one asked for 05-31, the other for 04-15, itself passed by today (04-20).
    w.clock.set("2026-04-02T10:00:00+08:00");
    const pending = async (n: number, deadline: string, asked: string) => {
      const c = await w.service.createCase(newInspection(n), w.office);
      const signed = await apply(await apply(c, "ASSIGN", w.office, { leadUnitId: w.units.lead, coUnitIds: [], deadline }), "SIGN", w.lead);
      return apply(signed, "REQUEST_EXTENSION", w.lead, { deadline: asked, reason: "工程量大" });
    };
    const waiting = await pending(6, "2026-04-10", "2026-05-31");
    const lapsed = await pending(7, "2026-04-08", "2026-04-15");
    w.clock.set("2026-04-20T10:00:00+08:00");
    const docs = await Case.find().lean<CaseDoc[]>();
    const dated = (d: CaseDoc) => ({ kind: d.kind as CaseKind, state: d.state, deadline: d.deadline, context: d.context as never });
    const numbers = (ds: CaseDoc[]) => ds.map((d) => d.ledgerNumber).sort();
    const overdue = await Case.find(caseFilter(w.office, { overdue: true }, now)).lean<CaseDoc[]>();
    expect(numbers(overdue)).to.deep.equal(numbers(docs.filter((d) => overdueNow(dated(d), today))));
    expect(numbers(overdue)).to.include(lapsed.ledgerNumber).and.not.include(waiting.ledgerNumber);
    expect(numbers(docs.filter((d) => overdueInUnitHands(dated(d), today)))).to.include(lapsed.ledgerNumber).and.not.include(waiting.ledgerNumber);
    // The dashboard's 超期 card and the unit table count the lapsed request only.
    expect((await caseStats(w.office, { from: "2026-01-01", to: "2026-12-31" }, now)).overdue).to.equal(statsBefore.overdue + 1);
    expect((await unitFigures(now)).find((u) => u.unitId === w.units.lead)!.overdue).to.equal(leadBefore!.overdue + 1);
    // Refused, the old deadline binds again: overdue from it.
    await apply(waiting, "REJECT_EXTENSION", w.office, { reason: "理由不充分" });
    expect(numbers(await Case.find(caseFilter(w.office, { overdue: true }, now)).lean<CaseDoc[]>())).to.include(waiting.ledgerNumber);
  });
});
