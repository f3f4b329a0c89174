/** The figures' pure rules (workflows/figures.ts) and the labels every page shares. */
import { expect } from "chai";
import {
  DEFAULT_RULES,
  NO_UNIT,
  closedOnTime,
  isLongTerm,
  isSevere,
  levelPoints,
  overdueAtCutoff,
  overdueInUnitHands,
  overdueNow,
  stateFilterChoices,
  stateKeys,
  topRung,
  unitScope,
  type Actor,
} from "../../workflows/index.ts";

describe("figures: the pure rules", () => {
  it("a deadline is missed from the day after it; overdue now binds by state, in the unit's hands by holder", () => {
    const rectifying = { kind: "inspection" as const, state: "rectifying.working", deadline: "2026-05-08" };
    expect(overdueNow(rectifying, "2026-05-08")).to.equal(false);
    expect(overdueNow(rectifying, "2026-05-09")).to.equal(true);
    const received = { kind: "complaint" as const, state: "received", deadline: "2026-05-08" };
    expect(overdueNow(received, "2026-05-09")).to.equal(true);
    expect(overdueInUnitHands(received, "2026-05-09")).to.equal(false);
    expect(overdueNow({ ...rectifying, state: "verifying" }, "2026-05-09")).to.equal(false);
    expect(overdueNow({ ...rectifying, deadline: null }, "2030-01-01")).to.equal(false);
  });

  it("overdue at a cut-off reads the dates the case kept, not its state now", () => {
    const c = { kind: "inspection" as const, state: "closed", deadline: "2026-05-08", context: { assignedOn: "2026-04-01", submittedOn: "2026-06-03", closedOn: "2026-06-10" } };
    expect(overdueAtCutoff(c, "2026-05-31")).to.equal(true);
    expect(overdueAtCutoff(c, "2026-06-30")).to.equal(false);
    expect(overdueAtCutoff({ ...c, context: { ...c.context, assignedOn: "2026-06-01" } }, "2026-05-31")).to.equal(false);
  });

  it("a 长期坚持 item is neither on time nor late; a complaint is judged by its statutory limit", () => {
    const longTerm = { kind: "inspection" as const, context: { deadline: null, closedOn: "2026-05-01", longTerm: true } };
    expect([closedOnTime(longTerm), isLongTerm(longTerm)]).to.deep.equal([false, true]);
    const complaint = { kind: "complaint" as const, context: { deadline: "2026-04-10", concludeBy: "2026-05-30", closedOn: "2026-05-20" } };
    expect([closedOnTime(complaint), isLongTerm(complaint)]).to.deep.equal([true, false]);
  });

  it("the top rung is the highest level, of equal rank the later; red and above are severe", () => {
    const at = (d: string) => new Date(`${d}T00:00:00Z`);
    const rungs = [{ level: "red" as const, at: at("2026-05-02") }, { level: "supervision" as const, at: at("2026-05-01") }, { level: "yellow" as const, at: at("2026-05-03") }];
    expect(topRung(rungs, (r) => r)!.level).to.equal("supervision");
    expect(topRung([{ level: "red" as const, at: at("2026-05-01") }, { level: "conclude_overdue" as const, at: at("2026-05-02") }], (r) => r)!.level).to.equal("conclude_overdue");
    expect(["yellow", "red", "supervision", "office_overdue"].map(isSevere)).to.deep.equal([false, true, true, true]);
  });

  it("a unit user's reports are its own unit's whatever it asks; a unit user without a unit sees none", () => {
    const unit: Actor = { id: "u", role: "unit_user", unitId: "A" };
    expect(unitScope(unit, "B")).to.equal("A");
    expect(unitScope({ ...unit, unitId: null }, "B")).to.equal(NO_UNIT);
    expect(unitScope({ id: "s", role: "office_staff" }, "B")).to.equal("B");
  });

  it("a level by hand costs what its rule on the unit's time costs", () => {
    expect(levelPoints(DEFAULT_RULES, "inspection", "supervision")).to.equal(-2);
    expect(levelPoints(DEFAULT_RULES, "complaint", "conclude_overdue")).to.equal(-1);
    expect(levelPoints(DEFAULT_RULES, "inspection", "office_due")).to.equal(0);
  });

  it("the ledger's state filter names each state as the labels do, both kinds at once", () => {
    const top = (k: "inspection" | "complaint") => stateKeys(k).filter((s) => !s.includes("."));
    const choices = new Map(stateFilterChoices({ inspection: top("inspection"), complaint: top("complaint") }));
    expect([choices.get("registered"), choices.get("received"), choices.get("closed"), [...choices.keys()].at(-1)]).to.deep.equal(["已登记", "信访已登记", "已办结/已销号", "closed"]);
  });
});
