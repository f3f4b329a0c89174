/**
 * 领导批示 and 落实情况 through the case service: the history and ledger, the office's 待落实批示 list, the
 * unit's inbox, and the leader's own list; over the API, who may write either.
 */
import { expect } from "chai";
import { Case, CaseHistory, Notice, NoticeDelivery } from "../../src/db/models.ts";
import { listCases } from "../../src/cases/queries.ts";
import { awaitingCountQuery, workLists } from "../../src/cases/worklists.ts";
import { leaderInstructions, openInstructions } from "../../src/cases/leader.ts";
import { issueByHand } from "../../src/notices/issuer.ts";
import { listNotices } from "../../src/notices/inbox.ts";
import { makeWorld, newInspection, refusal, type World } from "../support/fixtures.ts";
import { useApp } from "../support/app.ts";
import { ledgerState } from "../support/ledger.ts";


describe("领导批示 and 落实情况", function () {
  this.timeout(60_000);
  let w: World;
  let a: string;
  let b: string;
  before(async () => {
    w = await makeWorld();
    const ca = await w.service.createCase(newInspection(1), w.office);
    const cb = await w.service.createCase(newInspection(2), w.office);
    [a, b] = [ca._id.toString(), cb._id.toString()];
    for (const id of [a, b]) {
      await w.service.applyEvent(id, { type: "ASSIGN", payload: { leadUnitId: w.units.lead, coUnitIds: [w.units.co], deadline: "2026-06-30" } }, w.office);
      await w.service.applyEvent(id, { type: "SIGN" }, w.lead);
    }
  });

  it("a 批示 enters the history and the ledger without changing the state, and reaches the lead unit's inbox and channels once", async () => {
    const before = await Case.findById(a).lean();
    w.clock.advanceDays(1);
    const r = await w.service.applyEvent(a, { type: "INSTRUCT", payload: { text: "  请月底前完成淘汰，逐台销号  " }, idempotencyKey: "instruct-a-1" }, w.leader);
    expect(r.entry).to.include({ type: "INSTRUCT", from: "rectifying.working", to: "rectifying.working", seq: before!.version + 1 });
    expect(r.entry.payload).to.deep.equal({ text: "请月底前完成淘汰，逐台销号" });
    expect(r.entry.actor.role).to.equal("leader");
    const after = await Case.findById(a).lean();
    expect(after!.state).to.equal(before!.state);
    expect(after!.stateSince!.getTime()).to.equal(before!.stateSince!.getTime());
    expect(after!.deadlineRevision).to.equal(before!.deadlineRevision);
    expect(after!.instructionSince!.toISOString()).to.equal(w.clock.now().toISOString());
    expect(after!.instructedBy).to.deep.equal([w.leader.id]);
    expect(await CaseHistory.countDocuments({ caseId: a, type: "INSTRUCT" })).to.equal(1);

    const notices = await Notice.find({ caseId: a, level: "instruction" }).lean();
    expect(notices).to.have.length(1);
    expect(notices[0]).to.include({ inbox: w.units.lead, event: "INSTRUCT", manual: false, points: 0, holder: null });
    expect(notices[0]!.document!.paragraphs.join("\n")).to.include("请月底前完成淘汰，逐台销号");
    const deliveries = await NoticeDelivery.find({ noticeId: notices[0]!._id }).lean();
    expect(deliveries.find((d) => d.channel === "inbox")).to.include({ status: "sent", target: `inbox:${w.units.lead}` });
    expect((await listNotices(w.lead, { caseId: a })).map((n) => n.level)).to.include("instruction");
    // The same command again changes nothing and tells the unit nothing more.
    const again = await w.service.applyEvent(a, { type: "INSTRUCT", payload: { text: "  请月底前完成淘汰，逐台销号  " }, idempotencyKey: "instruct-a-1" }, w.leader);
    expect(again.replayed).to.equal(true);
    expect(await Notice.countDocuments({ caseId: a, level: "instruction" })).to.equal(1);
  });

  it("only a leader writes a 批示 and only the office records 落实; a unit never does either", async () => {
    const state = await ledgerState();
    for (const actor of [w.office, w.lead, w.co]) expect((await refusal(w.service.applyEvent(a, { type: "INSTRUCT", payload: { text: "x" } }, actor))).status).to.equal(403);
    for (const actor of [w.leader, w.lead, w.co]) expect((await refusal(w.service.applyEvent(a, { type: "CARRY_OUT", payload: { instruction: 1, text: "x" } }, actor))).status).to.equal(403);
    // Another unit's case does not exist for it.
    expect((await refusal(w.service.applyEvent(a, { type: "INSTRUCT", payload: { text: "x" } }, w.other))).status).to.equal(404);
    const blank = await refusal(w.service.applyEvent(a, { type: "INSTRUCT", payload: { text: "   " } }, w.leader));
    expect([blank.status, blank.message]).to.deep.equal([422, "请填写批示内容"]);
    const none = await refusal(w.service.applyEvent(b, { type: "CARRY_OUT", payload: { instruction: 1, text: "已落实" } }, w.office));
    expect(none.status).to.equal(422);
    expect(JSON.stringify(none.details)).to.include("没有这条待落实的批示");
    expect(await ledgerState()).to.equal(state);
  });

  it("a 批示 on a notice is recorded on that notice's case, naming the notice; another case's notice is refused", async () => {
    const notice = await issueByHand((await Case.findById(b).lean())!, { level: "supervision", requirement: "请三日内报送" }, w.office, w.clock);
    const other = await issueByHand((await Case.findById(a).lean())!, { level: "red", requirement: "请报送" }, w.office, w.clock);
    const state = await ledgerState();
    const wrong = await refusal(w.service.applyEvent(b, { type: "INSTRUCT", payload: { text: "请约谈", noticeId: other._id } }, w.leader));
    expect([wrong.status, JSON.stringify(wrong.details)]).to.deep.equal([422, JSON.stringify({ fields: [{ field: "payload.noticeId", message: "本案没有这份通知，不能对它批示" }] })]);
    expect(await ledgerState()).to.equal(state);
    w.clock.advanceDays(1);
    const r = await w.service.applyEvent(b, { type: "INSTRUCT", payload: { text: "请约谈单位主要负责人", noticeId: notice._id } }, w.leader);
    expect(r.entry.payload).to.deep.equal({ text: "请约谈单位主要负责人", noticeId: notice._id });
    expect((r.case.context as { instructions: { noticeId: string }[] }).instructions[0]!.noticeId).to.equal(notice._id);
  });

  it("the office's 待落实批示 lists cases oldest 批示 first with the open 批示; 落实 takes it off, and the leader sees it carried out", async () => {
    const lists = await workLists(w.office, w.clock.now(), 10);
    const group = lists.find((l) => l.group === "instruction")!;
    expect(group.label).to.equal("待落实批示");
    expect(group.items.map((c) => c._id.toString())).to.deep.equal([a, b]);
    const open = await openInstructions(group.items);
    expect(open.get(a)!.map((i) => [i.n, i.text])).to.deep.equal([[1, "请月底前完成淘汰，逐台销号"]]);
    expect((await listCases(w.office, { awaiting: "instruction" }, { page: 1, pageSize: 20, sort: "stateSince" }, w.clock.now())).total).to.equal(2);
    expect(await awaitingCountQuery(w.office, w.clock.now())).to.equal(2);
    // A unit sees the group of its own cases only; the other unit sees none.
    expect((await workLists(w.other, w.clock.now())).find((l) => l.group === "instruction")!.total).to.equal(0);

    const mine = await leaderInstructions(w.leader);
    expect(mine.open.map((i) => i.text)).to.deep.equal(["请月底前完成淘汰，逐台销号", "请约谈单位主要负责人"]);
    expect(mine.done).to.deep.equal([]);

    w.clock.advanceDays(1);
    const r = await w.service.applyEvent(a, { type: "CARRY_OUT", payload: { instruction: 1, text: "已约谈，单位承诺月底前完成" } }, w.office);
    expect(r.entry).to.include({ type: "CARRY_OUT", from: "rectifying.working", to: "rectifying.working" });
    expect((await Case.findById(a).lean())!.instructionSince).to.equal(null);
    const again = await refusal(w.service.applyEvent(a, { type: "CARRY_OUT", payload: { instruction: 1, text: "再次" } }, w.office));
    expect(again.status).to.equal(422);
    const after = (await workLists(w.office, w.clock.now(), 10)).find((l) => l.group === "instruction")!;
    expect(after.items.map((c) => c._id.toString())).to.deep.equal([b]);
    const seen = await leaderInstructions(w.leader);
    expect(seen.open.map((i) => i.caseId)).to.deep.equal([b]);
    expect(seen.done.map((i) => [i.caseId, i.done!.text, i.done!.by])).to.deep.equal([[a, "已约谈，单位承诺月底前完成", "整改办张三"]]);
    // Another leader has written none.
    expect(await leaderInstructions({ ...w.leader, id: "someone-else" })).to.deep.equal({ open: [], done: [] });
  });

  describe("over the API", () => {
    const t = useApp({ world: () => w, users: ["staff", "leader", "lead", "other"], once: true });
    const post = (who: keyof typeof t.as, id: string, body: object) => t.as[who].post(`/api/cases/${id}/events`, body);

    it("a unit gets 403 on its own case and 404 on another's; only the leader writes a 批示, only the office its 落实", async () => {
      const state = await ledgerState();
      const instruct = { type: "INSTRUCT", payload: { text: "请加快进度" } };
      expect((await post("lead", b, instruct)).status).to.equal(403);
      expect((await post("other", b, instruct)).status).to.equal(404);
      expect((await post("staff", b, instruct)).status).to.equal(403);
      expect((await post("leader", b, { type: "CARRY_OUT", payload: { instruction: 1, text: "x" } })).status).to.equal(403);
      expect((await post("lead", b, { type: "CARRY_OUT", payload: { instruction: 1, text: "x" } })).status).to.equal(403);
      const blank = await post("leader", b, { type: "INSTRUCT", payload: { text: "", noticeId: "x".repeat(101) } });
      expect(blank.status).to.equal(422);
      expect(blank.body.error.details.fields.map((f: { field: string }) => f.field)).to.have.members(["payload.text", "payload.noticeId"]);
      expect(await ledgerState()).to.equal(state);

      const res = await post("leader", b, instruct);
      expect(res.status).to.equal(200);
      expect(res.body.entry).to.include({ type: "INSTRUCT" });
      const done = await post("staff", b, { type: "CARRY_OUT", payload: { instruction: 2, text: "已转单位落实" } });
      expect(done.status).to.equal(200);
      const read = await t.as.leader.agent.get(`/api/cases/${b}`);
      expect(read.body.history.filter((h: { type: string }) => h.type === "CARRY_OUT")).to.have.length(1);
    });
  });
});
