import { expect } from "chai";
import {
  CASE_KINDS,
  allowedEvents,
  blockedEvents,
  ruleViolations,
  startCase,
  stateKey,
  step,
  type Actor,
  type CaseEvent,
  type CaseKind,
  type Snapshot,
  type StateValue,
} from "../../workflows/index.ts";
import { covers, definedStates, definedTransitions, generateEdges, type Cast } from "../support/paths.ts";

const at = "2026-03-02T01:00:00.000Z"; // 2026-03-02 09:00 in Shanghai
const actor = (id: string, role: Actor["role"], unitId: string | null = null): Actor => ({ id, role, unitId });
const cast: Cast = {
  office: actor("o", "office_staff"),
  lead: actor("l", "unit_user", "A"),
  co: actor("c", "unit_user", "B"),
  system: actor("system", "system"),
  leader: actor("boss", "leader"),
  units: { lead: "A", co: "B" },
};
const other = actor("x", "unit_user", "C");
const leader = cast.leader!;
const inputs = { inspection: {}, complaint: { receivedOn: "2026-03-02" } };

/** Sends commands in order; each must be taken. */
function walk(kind: CaseKind, commands: [string, Actor, Record<string, unknown>?][], input: object = inputs[kind]): Snapshot {
  let s = startCase(kind, input as never);
  for (const [type, a, payload] of commands) {
    const next = step(kind, s, { ...payload, type, actor: a, at } as CaseEvent);
    if (!next) throw new Error(`${type} refused in ${stateKey(s.value as StateValue)}`);
    s = next;
  }
  return s;
}
const refuses = (kind: CaseKind, s: Snapshot, type: string, a: Actor, payload: Record<string, unknown> = {}, when = at) =>
  expect(step(kind, s, { ...payload, type, actor: a, at: when } as CaseEvent), `${type} by ${a.role}/${a.unitId}`).to.equal(null);

const assign = { leadUnitId: "A", coUnitIds: ["B"], deadline: "2026-06-30" };
const signed: [string, Actor, Record<string, unknown>?][] = [["ASSIGN", cast.office, assign], ["SIGN", cast.lead]];
/** The office's 现场核查 recorded with its pass. */
const pass = { checkedBy: "张三、李四", checkedOn: "2026-03-02", opinion: "现场核查合格", attachmentIds: ["photo"] };
const visit = { visitedOn: "2026-03-02", visitMethod: "电话", satisfaction: "满意" };

describe("case machines", () => {
  for (const kind of CASE_KINDS) {
    describe(`${kind}: generated paths`, () => {
      const edges = generateEdges(kind, inputs[kind], cast, at);
      const observed = edges.map((e) => ({ from: e.from, type: e.command.type, to: e.to }));

      it("reach every state", () => {
        const reached = new Set(observed.flatMap((e) => [e.from, e.to]));
        for (const state of definedStates(kind))
          expect([...reached].some((r) => r === state || r.startsWith(`${state}.`)), state).to.equal(true);
      });

      it("take every transition written in the machine", () => {
        const missing = definedTransitions(kind).filter((t) => !observed.some((e) => covers(e, t)));
        expect(missing).to.deep.equal([]);
      });

      it("replay from the initial state to the same end states", () => {
        for (const e of edges) {
          const s = walk(kind, [...e.prefix, e.command].map((c) => [c.type, c.actor, c.payload] as [string, Actor, Record<string, unknown>]));
          expect(stateKey(s.value as StateValue)).to.equal(e.to);
        }
      });
    });
  }

  describe("inspection guards", () => {
    const k = "inspection";
    it("only the office assigns, verifies, approves extensions and reopens", () => {
      const s0 = startCase(k, {});
      for (const a of [cast.lead, leader, cast.system]) refuses(k, s0, "ASSIGN", a, assign);
      const pending = walk(k, [...signed, ["REQUEST_EXTENSION", cast.lead, { deadline: "2026-07-31", reason: "r" }]]);
      refuses(k, pending, "APPROVE_EXTENSION", cast.lead);
      refuses(k, pending, "REJECT_EXTENSION", leader, { reason: "r" });
      const verifying = walk(k, [...signed, ["SUBMIT", cast.lead, { summary: "s", attachmentIds: ["e"] }]]);
      refuses(k, verifying, "PASS", cast.lead);
      refuses(k, verifying, "REJECT", leader, { reason: "r" });
      const publicizing = walk(k, [...signed, ["SUBMIT", cast.lead, { summary: "s", attachmentIds: ["e"] }], ["PASS", cast.office, pass]]);
      refuses(k, publicizing, "OBJECTION", cast.co, { reason: "r" });
      const closed = walk(k, [...signed, ["SUBMIT", cast.lead, { summary: "s", attachmentIds: ["e"] }], ["PASS", cast.office, { ...pass, publicityDays: 0 }]]);
      refuses(k, closed, "REOPEN", cast.lead, { reason: "r", deadline: "2026-09-30" });
    });

    it("only the lead unit signs, returns, requests extension and submits; co-units report progress", () => {
      const assigned = walk(k, [["ASSIGN", cast.office, assign]]);
      for (const a of [cast.co, other, cast.office]) {
        refuses(k, assigned, "SIGN", a);
        refuses(k, assigned, "RETURN", a, { reason: "r" });
      }
      const s = walk(k, signed);
      refuses(k, s, "SUBMIT", cast.co, { summary: "s", attachmentIds: ["e"] });
      refuses(k, s, "REQUEST_EXTENSION", cast.co, { deadline: "2026-07-31", reason: "r" });
      refuses(k, s, "REPORT_PROGRESS", other, { percent: 10, text: "t", attachmentIds: [] });
      refuses(k, s, "REPORT_PROGRESS", cast.office, { percent: 10, text: "t", attachmentIds: [] });
      expect(step(k, s, { type: "REPORT_PROGRESS", actor: cast.co, at, percent: 10, text: "t", attachmentIds: [] } as CaseEvent)).to.not.equal(null);
    });

    it("submitting needs evidence", () => {
      const s = walk(k, signed);
      const e = { type: "SUBMIT", actor: cast.lead, at, summary: "s", attachmentIds: [] } as CaseEvent;
      expect(step(k, s, e)).to.equal(null);
      expect(ruleViolations(k, s, e)).to.deep.equal([{ field: "attachmentIds", message: "申请销号须上传佐证材料" }]);
    });

    it("passing close-out review records the office's 现场核查 (who, when, opinion, photos), not dated in the future nor before the submission", () => {
      const verifying = walk(k, [...signed, ["SUBMIT", cast.lead, { summary: "s", attachmentIds: ["e"] }]]);
      expect(verifying.context.submittedOn).to.equal("2026-03-02");
      const e = (payload: Record<string, unknown>) => ({ type: "PASS", actor: cast.office, at, ...pass, ...payload }) as CaseEvent;
      expect(ruleViolations(k, verifying, e({ attachmentIds: [] }))).to.deep.equal([{ field: "attachmentIds", message: "请上传现场核查（验收）的照片或资料" }]);
      expect(ruleViolations(k, verifying, e({ checkedOn: "2026-03-03" }))).to.deep.equal([{ field: "checkedOn", message: "核查（验收）日期不能晚于今天" }]);
      expect(ruleViolations(k, verifying, e({ checkedOn: "2026-03-01" }))).to.deep.equal([{ field: "checkedOn", message: "核查（验收）日期不能早于申请销号的日期" }]);
      for (const bad of [{ attachmentIds: [] }, { checkedOn: "2026-03-03" }]) expect(step(k, verifying, e(bad))).to.equal(null);
      const publicizing = step(k, verifying, e({}))!;
      expect(publicizing.context.verification).to.deep.equal({ checkedBy: "张三、李四", checkedOn: "2026-03-02", opinion: "现场核查合格", attachmentIds: ["photo"] });
    });

    it("deadlines may not lie in the past, extensions must move the deadline later", () => {
      refuses(k, startCase(k, {}), "ASSIGN", cast.office, { ...assign, deadline: "2026-03-01" });
      refuses(k, startCase(k, {}), "ASSIGN", cast.office, { leadUnitId: "A", coUnitIds: [] });
      refuses(k, startCase(k, {}), "ASSIGN", cast.office, { leadUnitId: "A", coUnitIds: ["A"], deadline: "2026-06-30" });
      expect(step(k, startCase(k, { longTerm: true }), { type: "ASSIGN", actor: cast.office, at, leadUnitId: "A", coUnitIds: [] } as CaseEvent)).to.not.equal(null);
      const s = walk(k, signed);
      refuses(k, s, "REQUEST_EXTENSION", cast.lead, { deadline: "2026-06-30", reason: "r" });
      const closed = walk(k, [...signed, ["SUBMIT", cast.lead, { summary: "s", attachmentIds: ["e"] }], ["PASS", cast.office, { ...pass, publicityDays: 0 }]]);
      refuses(k, closed, "REOPEN", cast.office, { reason: "r", deadline: "2026-02-28" });
    });

    it("only the system ends the publicity period; publicity of 0 days closes at once", () => {
      const base: [string, Actor, Record<string, unknown>?][] = [...signed, ["SUBMIT", cast.lead, { summary: "s", attachmentIds: ["e"] }]];
      const publicizing = walk(k, [...base, ["PASS", cast.office, pass]]);
      expect(stateKey(publicizing.value as StateValue)).to.equal("publicizing");
      refuses(k, publicizing, "PUBLICITY_END", cast.office);
      expect(stateKey(walk(k, [...base, ["PASS", cast.office, { ...pass, publicityDays: 0 }]]).value as StateValue)).to.equal("closed");
    });

    it("the deadline revision moves on assignment, approved extension and reopening only", () => {
      const s = walk(k, [
        ...signed,
        ["REQUEST_EXTENSION", cast.lead, { deadline: "2026-07-31", reason: "r" }],
        ["REJECT_EXTENSION", cast.office, { reason: "no" }],
      ]);
      expect(s.context.deadlineRevision).to.equal(1);
      const approved = walk(k, [
        ...signed,
        ["REQUEST_EXTENSION", cast.lead, { deadline: "2026-07-31", reason: "r" }],
        ["APPROVE_EXTENSION", cast.office],
      ]);
      expect(approved.context).to.include({ deadlineRevision: 2, deadline: "2026-07-31" });
      const reopened = walk(k, [
        ...signed,
        ["SUBMIT", cast.lead, { summary: "s", attachmentIds: ["e"] }],
        ["PASS", cast.office, { ...pass, publicityDays: 0 }],
        ["REOPEN", cast.office, { reason: "r", deadline: "2026-09-30" }],
      ]);
      expect(reopened.context).to.include({ deadlineRevision: 2, deadline: "2026-09-30", reopenCount: 1 });
    });

    it("申请销号 declares the rectification complete (100 %); while an extension is pending it is refused with the reason until the unit withdraws the request", () => {
      const s = walk(k, [...signed, ["REPORT_PROGRESS", cast.lead, { percent: 30, text: "三成", attachmentIds: [] }]]);
      expect(s.context.progressPercent).to.equal(30);
      const submit = { type: "SUBMIT", actor: cast.lead, at, summary: "s", attachmentIds: ["e"] } as CaseEvent;
      const submitted = step(k, s, submit)!;
      expect(stateKey(submitted.value as StateValue)).to.equal("verifying");
      expect(submitted.context.progressPercent).to.equal(100);

      const pending = step(k, s, { type: "REQUEST_EXTENSION", actor: cast.lead, at, deadline: "2026-07-31", reason: "r" } as CaseEvent)!;
      expect(step(k, pending, submit)).to.equal(null);
      expect(ruleViolations(k, pending, submit)).to.deep.equal([{ field: "state", message: "延期申请尚待整改办审批，不能申请销号；如已办结，请先撤回延期申请" }]);
      expect(allowedEvents(pending, cast.lead, at)).to.have.members(["REPORT_PROGRESS", "WITHDRAW_EXTENSION"]);
      expect(blockedEvents(k, pending, cast.lead, at)).to.deep.equal([{ type: "SUBMIT", reasons: ["延期申请尚待整改办审批，不能申请销号；如已办结，请先撤回延期申请"] }]);
      // Only the unit that asked takes its request back; the office decides instead.
      for (const a of [cast.co, other, cast.office]) refuses(k, pending, "WITHDRAW_EXTENSION", a);
      expect(blockedEvents(k, pending, cast.co, at)).to.deep.equal([]);
      const withdrawn = step(k, pending, { type: "WITHDRAW_EXTENSION", actor: cast.lead, at } as CaseEvent)!;
      expect(stateKey(withdrawn.value as StateValue)).to.equal("rectifying.working");
      expect(withdrawn.context).to.include({ pendingExtension: null, deadline: "2026-06-30", deadlineRevision: 1, extensionCount: 0 });
      expect(stateKey(step(k, withdrawn, submit)!.value as StateValue)).to.equal("verifying");
    });

    it("an approved extension records the revision it started and the day of approval", () => {
      const s = walk(k, [...signed, ["REQUEST_EXTENSION", cast.lead, { deadline: "2026-07-31", reason: "r" }], ["APPROVE_EXTENSION", cast.office]]);
      expect(s.context.extensionGranted).to.deep.equal({ revision: 2, on: "2026-03-02" });
    });

    it("lists what an actor may do now, without a payload", () => {
      const s = walk(k, signed);
      expect(allowedEvents(s, cast.lead, at)).to.have.members(["REPORT_PROGRESS", "SUBMIT", "REQUEST_EXTENSION"]);
      expect(allowedEvents(s, cast.co, at)).to.deep.equal(["REPORT_PROGRESS"]);
      expect(allowedEvents(s, leader, at)).to.deep.equal(["INSTRUCT"]);
      expect(allowedEvents(s, cast.office, at)).to.deep.equal([]);
    });
  });

  describe("领导批示 and 落实情况 (both kinds)", () => {
    const instruct = (text = "请抓紧整改", noticeId?: string) => ({ text, ...(noticeId ? { noticeId } : {}) });
    for (const kind of CASE_KINDS) {
      const open = kind === "inspection" ? signed : ([["ACCEPT", cast.office], ["ASSIGN", cast.office, { ...assign, deadline: "2026-04-15" }]] as typeof signed);
      const closing: typeof signed =
        kind === "inspection"
          ? [["SUBMIT", cast.lead, { summary: "s", attachmentIds: ["e"] }], ["PASS", cast.office, { ...pass, publicityDays: 0 }]]
          : [["SUBMIT_RESULT", cast.lead, { summary: "s", violationFound: false, attachmentIds: [] }], ["APPROVE", cast.office], ["REPLY", cast.office, { text: "t", channel: "书面" }], ["CLOSE", cast.office, visit]];

      it(`${kind}: only a leader writes a 批示, in any state but closed, and the state does not change`, () => {
        const s = walk(kind, open);
        for (const a of [cast.office, cast.lead, cast.co, other, cast.system]) refuses(kind, s, "INSTRUCT", a, instruct());
        const next = step(kind, s, { type: "INSTRUCT", actor: leader, at, ...instruct("请月底前完成", "n-1") } as CaseEvent)!;
        expect(next.value).to.deep.equal(s.value);
        expect(next.context.instructions).to.deep.equal([{ n: 1, at, by: "boss", noticeId: "n-1", doneAt: null, doneBy: null }]);
        expect(next.context.deadlineRevision).to.equal(s.context.deadlineRevision);
        refuses(kind, walk(kind, [...open, ...closing]), "INSTRUCT", leader, instruct());
        // Registered, not yet with a unit: the leader may already instruct.
        expect(allowedEvents(startCase(kind, inputs[kind] as never), leader, at)).to.deep.equal(["INSTRUCT"]);
      });

      it(`${kind}: only the office records 落实, of a 批示 still open, also once the case is closed`, () => {
        const s = walk(kind, [...open, ["INSTRUCT", leader, instruct("一")], ["INSTRUCT", leader, instruct("二")]]);
        const done = { instruction: 2, text: "已约谈单位负责人" };
        for (const a of [leader, cast.lead, cast.co, cast.system]) refuses(kind, s, "CARRY_OUT", a, done);
        refuses(kind, s, "CARRY_OUT", cast.office, { instruction: 3, text: "x" });
        expect(ruleViolations(kind, s, { type: "CARRY_OUT", actor: cast.office, at, instruction: 3, text: "x" } as CaseEvent).map((v) => v.field)).to.deep.equal(["instruction"]);
        const later = "2026-03-03T01:00:00.000Z";
        const after = step(kind, s, { type: "CARRY_OUT", actor: cast.office, at: later, ...done } as CaseEvent)!;
        expect(after.value).to.deep.equal(s.value);
        expect(after.context.instructions.map((i: { n: number; doneAt: string | null }) => [i.n, i.doneAt])).to.deep.equal([[1, null], [2, later]]);
        refuses(kind, after, "CARRY_OUT", cast.office, done);
        // The case closes with 批示 1 still open: the office may still record it.
        const closed = walk(kind, [...open, ["INSTRUCT", leader, instruct()], ...closing]);
        expect(allowedEvents(closed, cast.office, at)).to.include("CARRY_OUT");
        expect(step(kind, closed, { type: "CARRY_OUT", actor: cast.office, at, instruction: 1, text: "已落实" } as CaseEvent)).to.not.equal(null);
      });

      it(`${kind}: 落实 is neither offered nor listed as blocked while no 批示 awaits it`, () => {
        const s = walk(kind, open);
        expect(allowedEvents(s, cast.office, at)).to.not.include("CARRY_OUT");
        expect(blockedEvents(kind, s, cast.office, at).map((b) => b.type)).to.not.include("CARRY_OUT");
        expect(ruleViolations(kind, s, { type: "CARRY_OUT", actor: cast.office, at, instruction: 1, text: "x" } as CaseEvent)).to.have.length(1);
      });
    }

    it("a case keeps at most 50 批示; the 51st is refused with the reason", () => {
      let s = walk("inspection", signed);
      for (let i = 0; i < 50; i++) s = step("inspection", s, { type: "INSTRUCT", actor: leader, at, text: `第${i + 1}条` } as CaseEvent)!;
      refuses("inspection", s, "INSTRUCT", leader, instruct());
      expect(blockedEvents("inspection", s, leader, at)).to.deep.equal([{ type: "INSTRUCT", reasons: ["本案批示已达 50 条，不能再批示"] }]);
    });
  });

  describe("complaint guards", () => {
    const k = "complaint";
    const accepted: [string, Actor, Record<string, unknown>?][] = [["ACCEPT", cast.office]];
    const investigating: [string, Actor, Record<string, unknown>?][] = [...accepted, ["ASSIGN", cast.office, { leadUnitId: "A", coUnitIds: ["B"], deadline: "2026-04-15" }]];

    it("sets the statutory limits: 15 days to accept, 60 days from acceptance to conclude", () => {
      const s0 = startCase(k, { receivedOn: "2026-03-02" });
      expect(s0.context).to.include({ acceptBy: "2026-03-17", deadline: "2026-03-17", deadlineRevision: 1 });
      const s1 = walk(k, accepted);
      expect(s1.context).to.include({ acceptedOn: "2026-03-02", concludeBy: "2026-05-01", deadlineRevision: 2 });
    });

    it("only the office accepts, declines, transfers, assigns, reviews, replies and closes", () => {
      const s0 = startCase(k, { receivedOn: "2026-03-02" });
      for (const t of ["ACCEPT", "DECLINE", "TRANSFER"]) refuses(k, s0, t, cast.lead, { reason: "r", to: "x" });
      refuses(k, walk(k, accepted), "ASSIGN", leader, { leadUnitId: "A", coUnitIds: [], deadline: "2026-04-15" });
      const reviewing = walk(k, [...investigating, ["SUBMIT_RESULT", cast.lead, { summary: "s", violationFound: false, attachmentIds: [] }]]);
      refuses(k, reviewing, "APPROVE", cast.lead);
      refuses(k, reviewing, "REJECT", cast.lead, { reason: "r" });
      const replying = walk(k, [...investigating, ["SUBMIT_RESULT", cast.lead, { summary: "s", violationFound: false, attachmentIds: [] }], ["APPROVE", cast.office]]);
      refuses(k, replying, "REPLY", cast.lead, { text: "t", channel: "书面" });
      const replied = walk(k, [["DECLINE", cast.office, { reason: "r" }], ["REPLY", cast.office, { text: "t", channel: "书面" }]]);
      refuses(k, replied, "CLOSE", cast.lead);
      refuses(k, replied, "REQUEST_REVIEW", cast.lead, { reason: "r" });
    });

    it("only the assigned unit submits the result; co-units report progress", () => {
      const s = walk(k, investigating);
      refuses(k, s, "SUBMIT_RESULT", cast.co, { summary: "s", violationFound: false, attachmentIds: [] });
      refuses(k, s, "REPORT_PROGRESS", other, { percent: 10, text: "t", attachmentIds: [] });
      refuses(k, s, "REQUEST_EXTENSION", cast.co, { deadline: "2026-04-25", reason: "r" });
      refuses(k, walk(k, [...investigating, ["REQUEST_EXTENSION", cast.lead, { deadline: "2026-04-25", reason: "r" }]]), "APPROVE_EXTENSION", cast.lead);
    });

    it("报送查处结果 while an extension is pending is refused with the reason until the unit withdraws the request", () => {
      const pending = walk(k, [...investigating, ["REQUEST_EXTENSION", cast.lead, { deadline: "2026-04-25", reason: "r" }]]);
      const result = { type: "SUBMIT_RESULT", actor: cast.lead, at, summary: "s", violationFound: false, attachmentIds: [] } as CaseEvent;
      expect(step(k, pending, result)).to.equal(null);
      expect(blockedEvents(k, pending, cast.lead, at)).to.deep.equal([{ type: "SUBMIT_RESULT", reasons: ["延期申请尚待整改办审批，不能报送查处结果；如已办结，请先撤回延期申请"] }]);
      refuses(k, pending, "WITHDRAW_EXTENSION", cast.co);
      const withdrawn = step(k, pending, { type: "WITHDRAW_EXTENSION", actor: cast.lead, at } as CaseEvent)!;
      expect(withdrawn.context).to.include({ pendingExtension: null, deadline: "2026-04-15", extensionCount: 0 });
      expect(stateKey(step(k, withdrawn, result)!.value as StateValue)).to.equal("reviewing");
    });

    it("closes after the 回访 records the complainant's satisfaction, dated between the reply and today", () => {
      const replied = walk(k, [["DECLINE", cast.office, { reason: "r" }], ["REPLY", cast.office, { text: "t", channel: "书面" }]]);
      const e = (payload: Record<string, unknown>) => ({ type: "CLOSE", actor: cast.office, at, ...visit, ...payload }) as CaseEvent;
      expect(ruleViolations(k, replied, e({ visitedOn: "2026-03-03" }))).to.deep.equal([{ field: "visitedOn", message: "回访日期不能晚于今天" }]);
      expect(ruleViolations(k, replied, e({ visitedOn: "2026-03-01" }))).to.deep.equal([{ field: "visitedOn", message: "回访日期不能早于答复日期" }]);
      expect(step(k, replied, e({ visitedOn: "2026-03-03" }))).to.equal(null);
      const closed = step(k, replied, e({ satisfaction: "基本满意" }))!;
      expect(closed.context).to.include({ visitedOn: "2026-03-02", satisfaction: "基本满意", closedOn: "2026-03-02" });
    });

    it("the assigned deadline lies between today and the statutory limit", () => {
      const s = walk(k, accepted);
      refuses(k, s, "ASSIGN", cast.office, { leadUnitId: "A", coUnitIds: [], deadline: "2026-03-01" });
      refuses(k, s, "ASSIGN", cast.office, { leadUnitId: "A", coUnitIds: [], deadline: "2026-05-02" });
      refuses(k, s, "ASSIGN", cast.office, { leadUnitId: "A", coUnitIds: ["A"], deadline: "2026-04-15" });
    });

    it("one extension, of at most 30 days past the statutory limit", () => {
      const s = walk(k, investigating);
      refuses(k, s, "REQUEST_EXTENSION", cast.lead, { deadline: "2026-06-01", reason: "r" });
      refuses(k, s, "REQUEST_EXTENSION", cast.lead, { deadline: "2026-04-15", reason: "r" });
      const once = walk(k, [...investigating, ["REQUEST_EXTENSION", cast.lead, { deadline: "2026-05-31", reason: "r" }], ["APPROVE_EXTENSION", cast.office]]);
      expect(once.context).to.include({ deadline: "2026-05-31", concludeBy: "2026-05-31", extensionCount: 1 });
      refuses(k, once, "REQUEST_EXTENSION", cast.lead, { deadline: "2026-06-05", reason: "r" });
      expect(allowedEvents(once, cast.lead, at)).to.not.include("REQUEST_EXTENSION");
    });

    it("a review may be asked within 30 days of the reply, and a declined case cannot go back to a unit", () => {
      const replied = walk(k, [["DECLINE", cast.office, { reason: "r" }], ["REPLY", cast.office, { text: "t", channel: "书面" }]]);
      refuses(k, replied, "REQUEST_REVIEW", cast.office, { reason: "r" }, "2026-04-02T01:00:00.000Z");
      const reviewing = step(k, replied, { type: "REQUEST_REVIEW", actor: cast.office, at: "2026-04-01T01:00:00.000Z", reason: "r" } as CaseEvent)!;
      expect(reviewing.context).to.include({ reviewCount: 1, deadline: "2026-05-01" });
      refuses(k, reviewing, "REJECT", cast.office, { reason: "r" });
    });

    it("a transferred complaint is closed and cannot be reviewed", () => {
      const s = walk(k, [["TRANSFER", cast.office, { to: "市信访局" }]]);
      expect(stateKey(s.value as StateValue)).to.equal("closed");
      refuses(k, s, "REQUEST_REVIEW", cast.office, { reason: "r" });
    });
  });
});
