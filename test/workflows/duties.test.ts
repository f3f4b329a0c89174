import { expect } from "chai";
import {
  CASE_KINDS,
  DEFAULT_RULES,
  DUTIES,
  dutyOf,
  holderOf,
  ladderFor,
  leafStates,
  partiesOf,
  startCase,
  stateKey,
  stateKeys,
  step,
  type Actor,
  type CaseClock,
  type CaseEvent,
  type CaseKind,
  type Snapshot,
  type StateValue,
} from "../../workflows/index.ts";
import { WorkCalendar } from "../../src/calendar/workdays.ts";

const cal = new WorkCalendar();
const at = "2026-03-02T01:00:00.000Z";
const office: Actor = { id: "o", role: "office_staff" };
const lead: Actor = { id: "l", role: "unit_user", unitId: "A" };

function walk(kind: CaseKind, commands: [string, Actor, Record<string, unknown>?][], input: object): Snapshot {
  let s = startCase(kind, input as never);
  for (const [type, a, payload] of commands) {
    const next = step(kind, s, { ...payload, type, actor: a, at } as CaseEvent);
    if (!next) throw new Error(`${type} refused`);
    s = next;
  }
  return s;
}
const clockOf = (kind: CaseKind, s: Snapshot): CaseClock => ({ kind, state: stateKey(s.value as StateValue), context: s.context as CaseClock["context"] });
const levelsAt = (c: CaseClock, now: string) => ladderFor(c, DEFAULT_RULES, cal).timed.filter((t) => t.at <= new Date(now)).map((t) => `${t.holder}:${t.rule.level}`);

describe("who holds each state (workflows/duties.ts)", () => {
  for (const kind of CASE_KINDS) {
    it(`every state of the ${kind} machine declares its holder, and the table names no other state`, () => {
      for (const state of stateKeys(kind)) expect(dutyOf(kind, state), state).to.not.equal(null);
      for (const leaf of leafStates(kind)) expect(dutyOf(kind, leaf)!.step, leaf).to.be.a("string").and.not.equal("");
      expect(Object.keys(DUTIES[kind]).filter((k) => !stateKeys(kind).includes(k))).to.deep.equal([]);
    });
  }

  it("the office holds registration, acceptance, review, reply, close-out review and publicity; the unit signing, rectifying and investigating", () => {
    const by = (kind: CaseKind, holder: string) => leafStates(kind).filter((s) => holderOf(kind, s) === holder);
    expect(by("inspection", "unit")).to.have.members(["assigned", "rectifying.working", "rectifying.extensionPending"]);
    expect(by("inspection", "office")).to.have.members(["registered", "verifying", "publicizing"]);
    expect(by("complaint", "unit")).to.have.members(["investigating.working", "investigating.extensionPending"]);
    expect(by("complaint", "office")).to.have.members(["received", "accepted", "reviewing", "replying", "replied"]);
    expect(holderOf("inspection", "closed")).to.equal(null);
  });

  it("each default rule applies only in states its holders hold, and only a unit's rungs cost points", () => {
    for (const r of DEFAULT_RULES) {
      const held = stateKeys(r.kind).filter((k) => r.states.some((s) => k === s || k.startsWith(`${s}.`)));
      expect(held.every((k) => partiesOf(r.kind, k).some((p) => r.holders.includes(p))), r.id).to.equal(true);
      if (!r.holders.includes("unit")) expect(r.points, r.id).to.equal(0);
      if (r.holders.includes("office") && !r.holders.includes("unit")) expect(r.recipients, r.id).to.not.include.members(["unit"]);
    }
  });

  it("a complaint the unit has handed back reminds the office, against the statutory limit, never the unit", () => {
    const investigating = walk(
      "complaint",
      [
        ["ACCEPT", office],
        ["ASSIGN", office, { leadUnitId: "A", coUnitIds: [], deadline: "2026-03-20" }],
      ],
      { receivedOn: "2026-03-02" },
    );
    // Past the unit's deadline while it holds the case: its own rungs.
    expect(levelsAt(clockOf("complaint", investigating), "2026-03-22T00:00:00+08:00")).to.deep.equal(["unit:conclude_warning", "unit:conclude_overdue"]);
    const reviewing = step("complaint", investigating, { type: "SUBMIT_RESULT", summary: "s", violationFound: false, attachmentIds: [], actor: lead, at } as CaseEvent)!;
    // Long past the unit's deadline, the office holds it: only the office's rungs, counted from the 60-day limit (05-01).
    const c = clockOf("complaint", reviewing);
    expect(levelsAt(c, "2026-04-27T00:00:00+08:00")).to.deep.equal([]);
    expect(levelsAt(c, "2026-04-28T00:00:00+08:00")).to.deep.equal(["office:office_due"]);
    expect(levelsAt(c, "2026-05-02T00:00:00+08:00")).to.deep.equal(["office:office_due", "office:office_overdue"]);
  });

  it("while the unit's extension request awaits the office, the unit's rungs are held and the office is reminded to decide", () => {
    const investigating: [string, Actor, Record<string, unknown>?][] = [
      ["ACCEPT", office],
      ["ASSIGN", office, { leadUnitId: "A", coUnitIds: [], deadline: "2026-03-20" }],
    ];
    const pending = walk("complaint", [...investigating, ["REQUEST_EXTENSION", lead, { deadline: "2026-04-10", reason: "r" }]], { receivedOn: "2026-03-02" });
    const c = clockOf("complaint", pending);
    expect(partiesOf("complaint", c.state)).to.deep.equal(["unit", "office"]);
    // Requested 03-02 (Monday): the office's reminder after two working days; past the old deadline nothing for the unit.
    expect(levelsAt(c, "2026-03-04T23:59:59+08:00")).to.deep.equal([]);
    expect(levelsAt(c, "2026-03-05T00:00:00+08:00")).to.deep.equal(["office:office_extension"]);
    const ladder = ladderFor(c, DEFAULT_RULES, cal);
    expect(ladder.held.map((h) => `${h.holder}:${h.rule.level}:${h.why}`)).to.have.members(["unit:conclude_warning:decision", "unit:conclude_overdue:decision"]);
    // Refused: the same deadline, the unit's rungs back on its ladder.
    const refused = step("complaint", pending, { type: "REJECT_EXTENSION", reason: "no", actor: office, at } as CaseEvent)!;
    expect(levelsAt(clockOf("complaint", refused), "2026-03-22T00:00:00+08:00")).to.deep.equal(["unit:conclude_warning", "unit:conclude_overdue"]);
  });

  it("an inspection item in close-out review past its deadline reminds the office only", () => {
    const verifying = walk(
      "inspection",
      [
        ["ASSIGN", office, { leadUnitId: "A", coUnitIds: [], deadline: "2026-04-30" }],
        ["SIGN", lead],
        ["SUBMIT", lead, { summary: "s", attachmentIds: ["e"] }],
      ],
      {},
    );
    expect(levelsAt(clockOf("inspection", verifying), "2026-06-30T00:00:00+08:00")).to.deep.equal(["office:office_due", "office:office_overdue"]);
  });
});
