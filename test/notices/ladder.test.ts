import { expect } from "chai";
import mongoose from "mongoose";
import { addCalendarDays, noticeKey, startOfDay, type Actor } from "../../workflows/index.ts";
import { WorkCalendar } from "../../src/calendar/workdays.ts";
import { CaseSchedule, Notice, NoticeDelivery, Sequence, Unit, type CaseDoc } from "../../src/db/models.ts";
import { acknowledge, listNotices, noticeState } from "../../src/notices/inbox.ts";
import { issueByHand } from "../../src/notices/issuer.ts";
import { NoticeDeliverer } from "../../src/notices/delivery.ts";
import { loadConfig } from "../../src/config.ts";
import { deliveryOptions } from "../../src/worker.ts";
import { officeQueue } from "../../src/notices/office-queue.ts";
import { loadRules, updateRule } from "../../src/notices/rules.ts";
import { scorecard } from "../../src/notices/scorecard.ts";
import { NoticeSweeper } from "../../src/notices/sweep.ts";
import { checked, evidence, makeWorld, newComplaint, newInspection, type World } from "../support/fixtures.ts";

const cal = new WorkCalendar();
const ms = (d: Date, delta: number) => new Date(d.getTime() + delta);
/** Start of the day after `date` plus n workdays: when "after n workdays" has passed. */
const afterWorkdays = (date: string, n: number) => startOfDay(addCalendarDays(cal.addWorkdays(date, n), 1));
const beforeWorkdays = (date: string, n: number) => startOfDay(cal.addWorkdays(date, -n));

describe("the escalation ladder", () => {
  let w: World;
  let sweeper: NoticeSweeper;
  beforeEach(async () => {
    w = await makeWorld("2026-03-02T09:00:00+08:00");
    sweeper = new NoticeSweeper(w.service, w.clock);
  });

  /** Moves the clock and sweeps; the levels issued, in order. */
  async function sweepAt(at: Date): Promise<string[]> {
    w.clock.set(at);
    const r = await sweeper.sweep();
    expect(r.problems, JSON.stringify(r.problems)).to.deep.equal([]);
    return r.issued.map((n) => n.level);
  }
  const apply = (c: CaseDoc, type: string, actor: Actor, payload: Record<string, unknown> = {}) =>
    w.service.applyEvent(c._id.toString(), { type, payload }, actor).then((r) => r.case);

  async function assignedInspection(deadline = "2026-04-30", n = 1) {
    const c = await w.service.createCase(newInspection(n), w.office);
    return apply(c, "ASSIGN", w.office, { leadUnitId: w.units.lead, coUnitIds: [w.units.co], deadline });
  }

  it("fires each rung for an inspection case once, at its working-day moment, never early", async () => {
    const deadline = "2026-04-30";
    let c = await assignedInspection(deadline);
    expect(await sweepAt(w.clock.now())).to.deep.equal([]);

    const sign = afterWorkdays("2026-03-02", 2);
    expect(await sweepAt(ms(sign, -1))).to.deep.equal([]);
    expect(await sweepAt(sign)).to.deep.equal(["sign_reminder"]);
    expect(await sweepAt(ms(sign, 60_000))).to.deep.equal([]);
    c = await apply(c, "SIGN", w.lead);
    // Keep the progress on schedule so that only the deadline triggers the yellow warning.
    c = await apply(c, "REPORT_PROGRESS", w.lead, { percent: 90, text: "基本完成" });

    const rungs: [string, Date][] = [
      ["due_reminder", beforeWorkdays(deadline, 5)],
      ["yellow", beforeWorkdays(deadline, 2)],
      ["red", startOfDay(addCalendarDays(deadline, 1))],
      ["supervision", afterWorkdays(deadline, 5)],
      ["escalation", afterWorkdays(deadline, 15)],
    ];
    for (const [level, at] of rungs) {
      expect(await sweepAt(ms(at, -1)), `before ${level}`).to.deep.equal([]);
      expect(await sweepAt(at), `at ${level}`).to.deep.equal([level]);
      expect(await sweepAt(ms(at, 1000)), `after ${level}`).to.deep.equal([]);
    }
    const notices = await Notice.find({ caseId: c._id.toString() }).sort({ issuedAt: 1 }).lean();
    expect(notices.map((n) => n.level)).to.deep.equal(["sign_reminder", ...rungs.map(([l]) => l)]);
    expect(notices.find((n) => n.level === "supervision")!.number).to.equal("督办〔2026〕1号");
    expect(notices.every((n) => n.unitId === w.units.lead && n.revision === 1)).to.equal(true);
    expect((await CaseSchedule.findById(c._id.toString()).lean())!.nextAt).to.equal(null);
    // The unit's inbox carries the rungs whose rule names the unit (or its head), from the moment they are issued; 约谈/通报 goes to leaders only.
    const inbox = new Map((await NoticeDelivery.find({ channel: "inbox" }).lean()).map((d) => [d.noticeId, d.status]));
    expect(Object.fromEntries(notices.map((n) => [n.level, inbox.get(n._id)]))).to.deep.equal({
      sign_reminder: "sent",
      due_reminder: "sent",
      yellow: "sent",
      red: "sent",
      supervision: "sent",
      escalation: "skipped",
    });
  });

  it("raises the yellow warning when progress falls behind schedule, once per deadline", async () => {
    let c = await assignedInspection("2026-04-30");
    c = await apply(c, "SIGN", w.lead);
    // 60 days from 03-02 to the end of 04-30; 0% reported + 20 points margin → behind after 12 days.
    const behind = new Date("2026-03-14T00:00:00+08:00");
    expect(await sweepAt(ms(behind, -1))).to.deep.equal([]);
    expect(await sweepAt(behind)).to.deep.equal(["yellow"]);
    c = await apply(c, "REPORT_PROGRESS", w.lead, { percent: 10, text: "开始施工" });
    expect(await sweepAt(beforeWorkdays("2026-04-30", 2))).to.not.include("yellow");
  });

  it("progress reported in time keeps the behind-schedule warning away", async () => {
    let c = await assignedInspection("2026-04-30");
    c = await apply(c, "SIGN", w.lead);
    w.clock.set("2026-03-10T10:00:00+08:00");
    c = await apply(c, "REPORT_PROGRESS", w.lead, { percent: 30, text: "三成" });
    // now behind only when elapsed share exceeds 50%: 30 days after 03-02 → 04-01.
    expect(await sweepAt(new Date("2026-03-31T23:59:00+08:00"))).to.deep.equal([]);
    expect(await sweepAt(new Date("2026-04-01T00:00:00+08:00"))).to.deep.equal(["yellow"]);
  });

  it("fires the complaint limits: 15 days to accept, 60 days to conclude", async () => {
    let c = await w.service.createCase(newComplaint(), w.office); // received 2026-03-02, accept by 03-17
    expect(await sweepAt(ms(new Date("2026-03-14T00:00:00+08:00"), -1))).to.deep.equal([]);
    expect(await sweepAt(new Date("2026-03-14T00:00:00+08:00"))).to.deep.equal(["accept_warning"]);
    expect(await sweepAt(ms(new Date("2026-03-18T00:00:00+08:00"), -1))).to.deep.equal([]);
    expect(await sweepAt(new Date("2026-03-18T00:00:00+08:00"))).to.deep.equal(["accept_overdue"]);
    c = await apply(c, "ACCEPT", w.office); // accepted 03-18 → conclude by 05-17
    expect(c.deadline).to.equal("2026-05-17");
    c = await apply(c, "ASSIGN", w.office, { leadUnitId: w.units.lead, coUnitIds: [], deadline: "2026-05-17" });
    expect(await sweepAt(ms(new Date("2026-05-14T00:00:00+08:00"), -1))).to.deep.equal([]);
    expect(await sweepAt(new Date("2026-05-14T00:00:00+08:00"))).to.deep.equal(["conclude_warning"]);
    expect(await sweepAt(new Date("2026-05-18T00:00:00+08:00"))).to.deep.equal(["conclude_overdue"]);
    expect(await sweepAt(new Date("2026-06-18T00:00:00+08:00"))).to.deep.equal([]);
  });

  it("no unit is warned or scored for the office's time: a complaint the unit handed back reminds the office", async () => {
    await Unit.updateOne({ _id: w.units.lead }, { $set: { "notify.emails": ["lead@unit.example"], "notify.webhookUrl": "http://127.0.0.1:9/hook", "notify.webhookSecret": "0123456789abcdef" } });
    let c = await apply(await w.service.createCase(newComplaint(), w.office), "ACCEPT", w.office); // conclude by 05-01
    c = await apply(c, "ASSIGN", w.office, { leadUnitId: w.units.lead, coUnitIds: [], deadline: "2026-03-20" });
    w.clock.set("2026-03-10T10:00:00+08:00");
    c = await apply(c, "SUBMIT_RESULT", w.lead, { summary: "经查属实", violationFound: true, attachmentIds: [] });
    // The unit's deadline passes while the office reviews: nothing for the unit.
    expect(await sweepAt(startOfDay("2026-03-22"))).to.deep.equal([]);
    c = await apply(c, "APPROVE", w.office);
    expect(await sweepAt(startOfDay("2026-04-28"))).to.deep.equal(["office_due"]);
    expect(await sweepAt(startOfDay("2026-05-02"))).to.deep.equal(["office_overdue"]);
    const notices = await Notice.find({ caseId: c._id.toString() }).sort({ issuedAt: 1 }).lean();
    expect(notices.map((n) => [n.level, n.holder, n.state, n.inbox, n.points])).to.deep.equal([
      ["office_due", "office", "replying", "office", 0],
      ["office_overdue", "office", "replying", "office", 0],
    ]);
    expect(notices[1]!.recipients).to.deep.equal(["office", "leader"]);
    // Delivered to the office's inbox only: the unit's inbox, email and webhook are never used.
    const deliveries = await NoticeDelivery.find({ noticeId: mongoose.trusted({ $in: notices.map((n) => n._id) }) }).lean();
    expect(deliveries.map((d) => `${d.channel}:${d.status}:${d.target ?? ""}`).sort()).to.deep.equal(
      ["email:skipped:", "email:skipped:", "inbox:sent:inbox:office", "inbox:sent:inbox:office", "webhook:skipped:", "webhook:skipped:"],
    );
    expect(await listNotices(w.lead)).to.deep.equal([]);
    expect((await listNotices(w.office, { officeInbox: true })).map((n) => n.level)).to.have.members(["office_due", "office_overdue"]);
    expect(await scorecard("2026-01-01", "2026-12-31")).to.deep.equal([]);
    // The office's staff acknowledge the office's reminders; a unit cannot, nor can the leader.
    await acknowledge(notices[1]!._id, w.office, w.clock);
    expect((await Notice.findById(notices[1]!._id).lean())!.ackBy).to.equal(w.office.id);
    for (const who of [w.lead, w.leader]) expect(await acknowledge(notices[0]!._id, who, w.clock).catch((e) => e.status)).to.be.oneOf([403, 404]);
  });

  it("an inspection item the office holds past its deadline reminds the office and the leader; the unit scores only its own time", async () => {
    let a = await apply(await assignedInspection("2026-04-30", 1), "SIGN", w.lead);
    a = await apply(a, "REPORT_PROGRESS", w.lead, { percent: 95, text: "收尾" });
    let b = await apply(await assignedInspection("2026-04-30", 2), "SIGN", w.lead);
    b = await apply(b, "REPORT_PROGRESS", w.lead, { percent: 95, text: "收尾" });
    // a is handed back on time; b a day late (after its red warning).
    w.clock.set("2026-04-20T10:00:00+08:00");
    a = await apply(a, "SUBMIT", w.lead, { summary: "完成", attachmentIds: [await evidence(a._id.toString(), w.lead)] });
    expect(await sweepAt(beforeWorkdays("2026-04-30", 5))).to.deep.equal(["due_reminder"]);
    expect(await sweepAt(beforeWorkdays("2026-04-30", 2))).to.have.members(["yellow", "office_due"]);
    expect(await sweepAt(startOfDay("2026-05-01"))).to.have.members(["red", "office_overdue"]);
    w.clock.set("2026-05-01T10:00:00+08:00");
    b = await apply(b, "SUBMIT", w.lead, { summary: "完成", attachmentIds: [await evidence(b._id.toString(), w.lead)] });
    // b's unit rungs stop; its office rungs are both past at once: the office gets one reminder, the higher.
    expect(await sweepAt(afterWorkdays("2026-04-30", 5))).to.deep.equal(["office_overdue"]);
    const [score, ...others] = await scorecard("2026-01-01", "2026-12-31");
    expect(others).to.deep.equal([]);
    expect(score!.lines.map((l) => `${l.ledgerNumber}:${l.level}`)).to.have.members(["ZY2-02:due_reminder", "ZY2-02:yellow", "ZY2-02:red"]);
    expect(score!.points).to.equal(-1.5);
    const officeHeld = await Notice.find({ holder: "office" }).lean();
    expect(officeHeld.length).to.be.greaterThan(0);
    expect(officeHeld.every((n) => (n.supersededBy ? n.inbox === null : n.inbox === "office") && n.points === 0)).to.equal(true);
  });

  it("after an approved extension the old revision's notices never go out and the ladder restarts from the new deadline", async () => {
    let c = await apply(await assignedInspection("2026-04-30"), "SIGN", w.lead);
    c = await apply(c, "REPORT_PROGRESS", w.lead, { percent: 95, text: "收尾" });
    await Unit.updateOne({ _id: w.units.lead }, { $set: { "notify.emails": ["lead@unit.example"] } });
    const red = startOfDay("2026-05-01");
    expect(await sweepAt(red)).to.include("red");
    const redNotice = (await Notice.findOne({ caseId: c._id.toString(), level: "red" }).lean())!;
    c = await apply(c, "REQUEST_EXTENSION", w.lead, { deadline: "2026-06-30", reason: "设备到货延迟" });
    c = await apply(c, "APPROVE_EXTENSION", w.office);
    expect(c.deadlineRevision).to.equal(2);
    // The red warning of revision 1 reached the inbox when it was issued; its email had not gone out yet:
    // it is cancelled, not sent.
    expect((await NoticeDelivery.findById(`${redNotice._id}:inbox`).lean())!.status).to.equal("sent");
    const deliverer = new NoticeDeliverer({ ...deliveryOptions(loadConfig(process.env)), attempts: 1, backoffMs: 10, smtpFrom: "x@y", webhookTimeoutMs: 1000 });
    const job = { data: { noticeId: redNotice._id, channel: "email" }, attemptsMade: 0, opts: { attempts: 1 } };
    expect(await deliverer.process(job as never)).to.match(/^cancelled/);
    const email = (await NoticeDelivery.findById(`${redNotice._id}:email`).lean())!;
    expect(email).to.include({ status: "cancelled", cancelReason: "办理期限已调整（新的期限版本）" });
    expect(email.sentAt).to.equal(null);
    // Nothing of revision 1 fires any more; revision 2 starts its own ladder.
    expect(await sweepAt(afterWorkdays("2026-04-30", 5))).to.deep.equal([]);
    expect(await sweepAt(beforeWorkdays("2026-06-30", 5))).to.deep.equal(["due_reminder"]);
    const rev2 = await Notice.find({ caseId: c._id.toString(), revision: 2 }).lean();
    expect(rev2.map((n) => n._id)).to.deep.equal([noticeKey(c._id.toString(), "inspection.due_reminder", 2)]);
  });

  describe("while an extension request awaits the office (time the office holds is never the unit's)", () => {
    /** Signed, on schedule, deadline 04-30; the unit asks on Monday 04-20 to move it to 06-30. */
    async function requested() {
      let c = await apply(await assignedInspection("2026-04-30"), "SIGN", w.lead);
      c = await apply(c, "REPORT_PROGRESS", w.lead, { percent: 95, text: "收尾" });
      expect(await sweepAt(new Date("2026-04-20T09:00:00+08:00"))).to.deep.equal([]);
      w.clock.set("2026-04-20T10:00:00+08:00");
      c = await apply(c, "REQUEST_EXTENSION", w.lead, { deadline: "2026-06-30", reason: "设备到货延迟" });
      // The office is reminded to decide two working days after the request; the unit's due reminder, due the same day, is held.
      const decide = afterWorkdays("2026-04-20", 2);
      expect(await sweepAt(ms(decide, -1))).to.deep.equal([]);
      expect(await sweepAt(decide)).to.deep.equal(["office_extension"]);
      // The old deadline passes and the 督办 rung falls due: nothing reaches the unit.
      expect(await sweepAt(afterWorkdays("2026-04-30", 6))).to.deep.equal([]);
      const reminder = (await Notice.findById(noticeKey(c._id.toString(), "inspection.extension_decision", 1)).lean())!;
      expect(reminder).to.include({ holder: "office", inbox: "office", points: 0, state: "rectifying.extensionPending", supersededBy: null });
      expect(reminder.document!.paragraphs[0]).to.contain("延期至2026年6月30日");
      expect(await Notice.countDocuments({ caseId: c._id.toString(), holder: "unit" })).to.equal(0);
      expect(await listNotices(w.lead)).to.deep.equal([]);
      // The office's 首页 lists the decision it owes, late since the reminder's day.
      const queue = await officeQueue(w.clock.now());
      expect(queue.map((s) => [s.step, s.items.map((i) => [i.caseId, i.levelLabel, i.limit, i.overdue])])).to.deep.equal([
        ["延期审批", [[c._id.toString(), "延期待批提醒", "2026-04-22", true]]],
      ]);
      return c;
    }

    it("holds the unit's rungs and reminds the office; approval starts a new revision and the held rungs never fire", async () => {
      let c = await requested();
      w.clock.set(ms(afterWorkdays("2026-04-30", 6), 3600_000));
      c = await apply(c, "APPROVE_EXTENSION", w.office);
      expect(c.deadlineRevision).to.equal(2);
      for (const at of [ms(w.clock.now(), 60_000), afterWorkdays("2026-04-30", 16), ms(beforeWorkdays("2026-06-30", 5), -1)]) expect(await sweepAt(at)).to.deep.equal([]);
      expect(await Notice.countDocuments({ caseId: c._id.toString(), revision: 1, holder: "unit" })).to.equal(0);
      expect(await sweepAt(beforeWorkdays("2026-06-30", 5))).to.deep.equal(["due_reminder"]);
      const [score] = await scorecard("2026-01-01", "2026-12-31");
      expect([score!.points, score!.lines.map((l) => l.noticeId)]).to.deep.equal([0, [noticeKey(c._id.toString(), "inspection.due_reminder", 2)]]);
    });

    it("on rejection issues the highest held rung then, once, dated then; the lower ones are superseded, the office's reminder stands", async () => {
      let c = await requested();
      const decided = ms(afterWorkdays("2026-04-30", 6), 3600_000);
      w.clock.set(decided);
      c = await apply(c, "REJECT_EXTENSION", w.office, { reason: "理由不充分" });
      w.clock.set(ms(decided, 60_000));
      const r = await sweeper.sweep();
      expect(r.issued.map((n) => [n.level, n.holder, n.state, n.inbox, n.points])).to.deep.equal([["supervision", "unit", "rectifying.working", w.units.lead, -2]]);
      expect(r.issued[0]!.issuedAt).to.deep.equal(ms(decided, 60_000));
      expect(r.issued[0]!.number).to.equal("督办〔2026〕1号");
      const top = noticeKey(c._id.toString(), "inspection.supervision", 1);
      expect(r.superseded.map((n) => [n.level, n.supersededBy])).to.have.deep.members([
        ["due_reminder", top],
        ["yellow", top],
        ["red", top],
      ]);
      expect((await Notice.findById(noticeKey(c._id.toString(), "inspection.extension_decision", 1)).lean())!.supersededBy).to.equal(null);
      expect(await sweepAt(ms(decided, 120_000))).to.deep.equal([]);
      expect((await listNotices(w.lead)).map((n) => n.level)).to.deep.equal(["supervision"]);
      // The ladder goes on from there as usual.
      expect(await sweepAt(afterWorkdays("2026-04-30", 15))).to.deep.equal(["escalation"]);
    });

    it("a withdrawn request lets the held rungs fire as a refusal does", async () => {
      let c = await requested();
      w.clock.set(ms(afterWorkdays("2026-04-30", 6), 3600_000));
      c = await apply(c, "WITHDRAW_EXTENSION", w.lead);
      expect(await sweepAt(ms(w.clock.now(), 60_000))).to.deep.equal(["supervision"]);
      expect(await Notice.countDocuments({ caseId: c._id.toString(), holder: "unit", supersededBy: null })).to.equal(1);
    });

    it("an extension approved so late that its own warning is already due costs the unit nothing: the warning of the granted deadline is not issued", async () => {
      let c = await apply(await w.service.createCase(newComplaint(), w.office), "ACCEPT", w.office); // conclude by 05-01
      c = await apply(c, "ASSIGN", w.office, { leadUnitId: w.units.lead, coUnitIds: [], deadline: "2026-03-31" });
      w.clock.set("2026-03-10T10:00:00+08:00");
      c = await apply(c, "REQUEST_EXTENSION", w.lead, { deadline: "2026-04-20", reason: "需委托第三方监测" });
      expect(await sweepAt(startOfDay("2026-03-13"))).to.deep.equal(["office_extension"]);
      // The unit's deadline passes while the office still decides: held.
      expect(await sweepAt(startOfDay("2026-04-02"))).to.deep.equal([]);
      // Approved on 04-18, two days before the granted date: its 办理期限预警 (3 days before) fell due on the office's time.
      w.clock.set("2026-04-18T10:00:00+08:00");
      c = await apply(c, "APPROVE_EXTENSION", w.office);
      expect(await sweepAt(ms(w.clock.now(), 60_000))).to.deep.equal([]);
      expect(await Notice.countDocuments({ caseId: c._id.toString(), holder: "unit" })).to.equal(0);
      // Missing the granted date is the unit's own.
      expect(await sweepAt(startOfDay("2026-04-21"))).to.deep.equal(["conclude_overdue"]);
      const [score] = await scorecard("2026-01-01", "2026-12-31");
      expect(score!.counts).to.deep.equal({ conclude_overdue: 1 });
    });
  });

  it("a 退回 is told to the unit that must act, in its inbox with the reason, once, and never scored", async () => {
    let c = await apply(await assignedInspection("2026-04-30"), "SIGN", w.lead);
    c = await apply(c, "SUBMIT", w.lead, { summary: "完成", attachmentIds: [await evidence(c._id.toString(), w.lead)] });
    const reject = { type: "REJECT", payload: { reason: "缺少整改后现场照片" }, idempotencyKey: "reject-1" };
    await w.service.applyEvent(c._id.toString(), reject, w.office);
    // The same command again (a retry) tells the unit nothing more.
    expect((await w.service.applyEvent(c._id.toString(), reject, w.office)).replayed).to.equal(true);
    const notices = await Notice.find({ caseId: c._id.toString() }).lean();
    expect(notices.map((n) => [n.level, n.inbox, n.holder, n.points, n.manual, n.event, n.state])).to.deep.equal([["returned", w.units.lead, null, 0, false, "REJECT", "rectifying.working"]]);
    expect(notices[0]!.document!.title).to.equal("退回整改通知");
    expect(notices[0]!.document!.paragraphs.join("")).to.contain("退回理由：缺少整改后现场照片").and.contain("继续整改");
    expect((await listNotices(w.lead)).map((n) => n.level)).to.deep.equal(["returned"]);
    for (const who of [w.co, w.other]) expect(await listNotices(who)).to.deep.equal([]);
    expect(await scorecard("2026-01-01", "2026-12-31")).to.deep.equal([]);
    // A complaint's 退回 (查处结果 sent back) likewise.
    let k = await apply(await w.service.createCase(newComplaint(), w.office), "ACCEPT", w.office);
    k = await apply(k, "ASSIGN", w.office, { leadUnitId: w.units.lead, coUnitIds: [], deadline: "2026-04-15" });
    k = await apply(k, "SUBMIT_RESULT", w.lead, { summary: "经查属实", violationFound: true, attachmentIds: [] });
    k = await apply(k, "REJECT", w.office, { reason: "未附执法记录" });
    const told = (await listNotices(w.lead, { caseId: k._id.toString() }))[0]!;
    expect(told.level).to.equal("returned");
    expect(told.document!.paragraphs.join("")).to.contain("退回理由：未附执法记录").and.contain("继续查处");
    // The office cannot send one by hand: it comes from a 退回 alone.
    expect((await issueByHand(c, { level: "returned", requirement: "x" }, w.office, w.clock).catch((e) => e)).status).to.equal(422);
  });

  it("signing, submitting or closing a case stops its pending warnings", async () => {
    const signed = await assignedInspection("2026-04-30", 1);
    await apply(signed, "SIGN", w.lead);
    let submitted = await apply(await assignedInspection("2026-04-30", 2), "SIGN", w.lead);
    submitted = await apply(submitted, "REPORT_PROGRESS", w.lead, { percent: 100, text: "完成" });
    submitted = await apply(submitted, "SUBMIT", w.lead, { summary: "完成", attachmentIds: [await evidence(submitted._id.toString(), w.lead)] });
    let closed = await w.service.createCase(newComplaint(), w.office);
    closed = await apply(closed, "TRANSFER", w.office, { to: "市信访局" });
    // Long after every deadline: the signed case gets its deadline ladder but no sign reminder, the
    // submitted case no warning to its unit (the office, which holds it now, is reminded), the
    // transferred complaint nothing.
    const levels = await sweepAt(new Date("2026-06-30T00:00:00+08:00"));
    expect(levels).to.not.include("sign_reminder");
    expect(await Notice.countDocuments({ caseId: submitted._id.toString(), holder: "unit" })).to.equal(0);
    expect(await Notice.countDocuments({ caseId: submitted._id.toString(), inbox: w.units.lead })).to.equal(0);
    expect(await Notice.countDocuments({ caseId: closed._id.toString() })).to.equal(0);
  });

  it("catches up after the workers were down with one notice: the highest rung; the lower ones are recorded as superseded", async () => {
    const c = await apply(await assignedInspection("2026-04-30"), "SIGN", w.lead);
    await apply(c, "REPORT_PROGRESS", w.lead, { percent: 95, text: "收尾" });
    // Down from before the due reminder until after the red warning: three rungs fell due.
    w.clock.set(startOfDay("2026-05-02"));
    const r = await sweeper.sweep();
    expect(r.issued.map((n) => n.level)).to.deep.equal(["red"]);
    const redId = noticeKey(c._id.toString(), "inspection.red", 1);
    expect(r.superseded.map((n) => [n.level, n.supersededBy, n.inbox, n.points, n.deliveries])).to.have.deep.members([
      ["due_reminder", redId, null, 0, []],
      ["yellow", redId, null, 0, []],
    ]);
    // Once: a second pass, or another sweeper, issues nothing more.
    expect(await sweepAt(startOfDay("2026-05-02"))).to.deep.equal([]);
    const second = new NoticeSweeper(w.service, w.clock);
    expect((await second.sweep()).issued).to.deep.equal([]);
    expect(await Notice.countDocuments({ caseId: c._id.toString() })).to.equal(3);
    // Visible on the case (to the office), never delivered, never scored; the unit's inbox holds the red warning alone.
    const onCase = await listNotices(w.office, { caseId: c._id.toString() });
    expect(Object.fromEntries(onCase.map((n) => [n.level, noticeState(n)]))).to.deep.equal({ due_reminder: "superseded", yellow: "superseded", red: "issued" });
    expect(await NoticeDelivery.countDocuments({ noticeId: mongoose.trusted({ $ne: redId }) })).to.equal(0);
    expect((await listNotices(w.lead)).map((n) => n.level)).to.deep.equal(["red"]);
    expect((await listNotices(w.office)).map((n) => n.level)).to.deep.equal(["red"]);
    const [score] = await scorecard("2026-01-01", "2026-12-31");
    expect(score!.counts).to.deep.equal({ red: 1 });
    expect(score!.points).to.equal(-1);
    // The next rung is issued in its own pass as usual.
    expect(await sweepAt(afterWorkdays("2026-04-30", 5))).to.deep.equal(["supervision"]);
  });

  it("an item already late when the sweep first sees it gets one notice, the numbered 督办通知; numbers go to issued notices only", async () => {
    const c = await assignedInspection("2026-04-30");
    w.clock.set(afterWorkdays("2026-04-30", 6));
    const r = await sweeper.sweep();
    expect(r.issued.map((n) => [n.level, n.number])).to.deep.equal([["supervision", "督办〔2026〕1号"]]);
    expect(r.superseded.map((n) => n.level)).to.have.members(["sign_reminder", "due_reminder", "yellow", "red"]);
    expect(await Notice.countDocuments({ caseId: c._id.toString(), number: mongoose.trusted({ $ne: null }) })).to.equal(1);
    expect((await listNotices(w.lead)).length).to.equal(1);
  });

  it("a complaint registered after its acceptance limit gets 受理超期 only", async () => {
    w.clock.set("2026-04-11T09:00:00+08:00");
    const c = await w.service.createCase({ ...newComplaint(), receivedOn: "2026-03-02" }, w.office);
    w.clock.set("2026-04-11T09:01:00+08:00");
    const r = await sweeper.sweep();
    expect(r.issued.map((n) => n.level)).to.deep.equal(["accept_overdue"]);
    expect(r.superseded.map((n) => n.level)).to.deep.equal(["accept_warning"]);
    expect((await Notice.findById(noticeKey(c._id.toString(), "complaint.accept_overdue", 1)).lean())!.inbox).to.equal("office");
  });

  it("pages through more changed cases than one pass takes, and reaches every one", async () => {
    const cases: CaseDoc[] = [];
    for (let i = 1; i <= 7; i++) {
      w.clock.set(ms(w.clock.now(), 1000));
      cases.push(await assignedInspection("2026-04-30", i));
    }
    // Each pass takes at most 3 changed cases: the third pass must reach the last one. A full pass says
    // more may be waiting (the worker then queues the next pass at once); once all are seen, a pass says none are.
    const more: boolean[] = [];
    for (let pass = 0; pass < 3; pass++) more.push((await sweeper.sweep(3)).more);
    expect(more.slice(0, 2)).to.deep.equal([true, true]);
    for (let pass = 0; pass < 3 && more.at(-1); pass++) more.push((await sweeper.sweep(3)).more);
    expect(more.at(-1)).to.equal(false);
    expect(await CaseSchedule.countDocuments()).to.equal(7);
    w.clock.set(afterWorkdays("2026-03-02", 2));
    const issued: string[] = [];
    for (let pass = 0; pass < 3; pass++) issued.push(...(await sweeper.sweep(3)).issued.map((n) => n.caseId));
    expect(new Set(issued)).to.deep.equal(new Set(cases.map((c) => c._id.toString())));
  });

  it("sets aside a due schedule whose case is gone, and a page of them does not make the worker sweep again at once", async () => {
    // Schedules of cases that are not in the ledger (as after restoring an older ledger), due long ago.
    const orphans = ["6a0000000000000000000001", "6a0000000000000000000002"];
    const long = new Date("2026-03-01T00:00:00Z");
    await CaseSchedule.insertMany(orphans.map((_id) => ({ _id, nextAt: long, version: 1, computedAt: long })));
    const first = await sweeper.sweep(2);
    expect(first.more, "a full page of orphans moved nothing on").to.equal(false);
    for (const o of await CaseSchedule.find({ _id: mongoose.trusted({ $in: orphans }) }).lean()) expect([o.nextAt, o.problem]).to.deep.equal([null, "案件不存在"]);
    // They no longer stand first in line: a real case's rung is reached.
    const c = await assignedInspection("2026-04-30", 1);
    await sweeper.sweep(2);
    w.clock.set(afterWorkdays("2026-03-02", 2));
    expect((await sweeper.sweep(2)).issued.map((n) => n.caseId)).to.include(c._id.toString());
  });

  it("concurrent sweeps issue each notice once", async () => {
    for (let i = 1; i <= 5; i++) await assignedInspection("2026-04-30", i);
    w.clock.set(startOfDay("2026-05-02"));
    const sweeps = await Promise.all(Array.from({ length: 4 }, () => new NoticeSweeper(w.service, w.clock).sweep()));
    const issued = sweeps.flatMap((s) => s.issued.map((n) => n._id));
    const superseded = sweeps.flatMap((s) => s.superseded.map((n) => n._id));
    expect(new Set(issued).size).to.equal(issued.length);
    expect(new Set(superseded).size).to.equal(superseded.length);
    expect(await Notice.countDocuments()).to.equal(issued.length + superseded.length);
    // Per case the red warning is issued; sign reminder, due reminder and yellow are superseded by it.
    expect(issued.length).to.equal(5);
    expect(superseded.length).to.equal(5 * 3);
    expect(await Notice.countDocuments({ level: "red", supersededBy: null })).to.equal(5);
  });

  it("ends a publicity period after its working days, by the system", async () => {
    let c = await apply(await assignedInspection("2026-04-30"), "SIGN", w.lead);
    c = await apply(c, "SUBMIT", w.lead, { summary: "完成", attachmentIds: [await evidence(c._id.toString(), w.lead)] });
    w.clock.set("2026-03-20T10:00:00+08:00");
    c = await apply(c, "PASS", w.office, await checked(w, c._id.toString(), { publicityDays: 5 }));
    const end = afterWorkdays("2026-03-20", 5);
    w.clock.set(ms(end, -1));
    expect((await sweeper.sweep()).publicityEnded).to.deep.equal([]);
    w.clock.set(end);
    expect((await sweeper.sweep()).publicityEnded).to.deep.equal([c._id.toString()]);
    const closed = await w.service.getCase(c._id.toString(), w.office);
    expect(closed.state).to.equal("closed");
    const last = (await w.service.history(c._id.toString())).at(-1)!;
    expect(last).to.deep.include({ type: "PUBLICITY_END", to: "closed" });
    expect(last.actor.role).to.equal("system");
  });

  it("reports a deadline the calendar cannot count, instead of guessing, and keeps calendar-day rungs", async () => {
    await apply(await assignedInspection("2027-03-31"), "SIGN", w.lead);
    w.clock.set(startOfDay("2026-12-31"));
    const r = await sweeper.sweep();
    expect(r.problems.map((p) => p.message).join()).to.contain("2027 年的法定节假日安排尚未收录");
    const schedule = (await CaseSchedule.findOne({}).lean())!;
    expect(schedule.problem).to.contain("2027");
    expect(schedule.nextAt).to.not.equal(null);
  });

  it("20 concurrent supervision notices get 20 distinct, consecutive numbers", async () => {
    const c = await assignedInspection("2026-04-30");
    const made = await Promise.all(
      Array.from({ length: 20 }, () => issueByHand(c, { level: "supervision", requirement: "请于5个工作日内书面报告" }, w.office, w.clock)),
    );
    const numbers = made.map((n) => Number(/〔2026〕(\d+)号/.exec(n.number ?? "")![1])).sort((a, b) => a - b);
    expect(numbers).to.deep.equal(Array.from({ length: 20 }, (_, i) => i + 1));
    const stored = await Notice.find({ level: "supervision" }, { number: 1 }).lean();
    expect(new Set(stored.map((n) => n.number)).size).to.equal(20);
  });

  it("a supervision notice a crash left unnumbered gets its number from the next sweep, the one it had claimed if any", async () => {
    const c = await assignedInspection("2026-04-30");
    const first = await issueByHand(c, { level: "supervision", requirement: "请于5个工作日内书面报告" }, w.office, w.clock);
    const second = await issueByHand(c, { level: "supervision", requirement: "请于5个工作日内书面报告" }, w.office, w.clock);
    expect([first.number, second.number]).to.deep.equal(["督办〔2026〕1号", "督办〔2026〕2号"]);
    // As if the process died after issuing: the first before claiming a number, the second after claiming but before writing it.
    await Sequence.deleteOne({ ref: first._id });
    await Notice.updateMany({ _id: mongoose.trusted({ $in: [first._id, second._id] }) }, { $set: { number: null } });
    await sweepAt(new Date("2026-03-03T09:00:00+08:00"));
    const after = new Map((await Notice.find({ level: "supervision" }, { number: 1 }).lean()).map((n) => [String(n._id), n.number]));
    expect(after.get(second._id)).to.equal("督办〔2026〕2号");
    expect(after.get(first._id)).to.equal("督办〔2026〕3号");
  });

  it("only the office issues notices by hand, with a requirement", async () => {
    const c = await assignedInspection("2026-04-30");
    await issueByHand(c, { level: "supervision", requirement: "x" }, w.lead, w.clock).then(
      () => expect.fail("a unit issued a notice"),
      (e) => expect(e.status).to.equal(403),
    );
    await issueByHand(c, { level: "supervision", requirement: " " }, w.office, w.clock).then(
      () => expect.fail("accepted an empty requirement"),
      (e) => expect(e.details.fields[0]).to.deep.equal({ field: "requirement", message: "请填写督办要求" }),
    );
    expect(await Notice.countDocuments()).to.equal(0);
  });

  it("a changed rule applies to schedules computed after the change; only the admin may change it", async () => {
    await loadRules();
    const admin: Actor = { id: "a", name: "管理员", role: "office_admin", unitId: null };
    await updateRule("inspection.due_reminder", { triggers: [{ anchor: "deadline", direction: "before", days: 10, unit: "workday" }] }, w.office).then(
      () => expect.fail("office staff changed a rule"),
      (e) => expect(e.status).to.equal(403),
    );
    const bad = await updateRule("inspection.due_reminder", { points: 3 }, admin).catch((e) => e);
    expect(bad.status).to.equal(422);
    // A state or an anchor the kind does not have would make a rule that never fires.
    const never = await updateRule("inspection.due_reminder", { states: ["rectifying", "investigating"], triggers: [{ anchor: "acceptBy", direction: "before", days: 3, unit: "calendar" }] }, admin).catch((e) => e);
    expect(never).to.include({ status: 422, code: "invalid_fields" });
    expect(never.details.fields).to.deep.equal([
      { field: "states", message: "没有这些案件状态：investigating" },
      { field: "triggers", message: "此类案件没有起算点“受理期限”" },
    ]);
    expect((await loadRules()).find((r) => r.id === "inspection.due_reminder")!.states).to.deep.equal(["assigned", "rectifying"]);
    await updateRule("inspection.due_reminder", { states: ["rectifying.working", "assigned"] }, admin);
    await updateRule("inspection.due_reminder", { states: ["assigned", "rectifying"] }, admin);
    await updateRule("inspection.due_reminder", { triggers: [{ anchor: "deadline", direction: "before", days: 10, unit: "workday" }] }, admin);
    const c = await apply(await assignedInspection("2026-04-30"), "SIGN", w.lead);
    await apply(c, "REPORT_PROGRESS", w.lead, { percent: 95, text: "收尾" });
    expect(await sweepAt(ms(beforeWorkdays("2026-04-30", 10), -1))).to.deep.equal([]);
    expect(await sweepAt(beforeWorkdays("2026-04-30", 10))).to.deep.equal(["due_reminder"]);
  });

  it("a 专函督办 takes two yellow cards of the unit's own time in one quarter: a superseded or office-time yellow does not count", async () => {
    const held = async (n: number, deadline: string) => {
      const c = await apply(await assignedInspection(deadline, n), "SIGN", w.lead);
      return apply(c, "REPORT_PROGRESS", w.lead, { percent: 95, text: "推进中" });
    };
    await held(1, "2026-04-30");
    await held(2, "2026-04-30");
    await sweepAt(beforeWorkdays("2026-04-30", 2)); // a yellow each, on the unit's time
    let [score] = await scorecard("2026-01-01", "2026-12-31");
    expect(score!.specialLetters.map((l) => [l.quarter, l.noticeIds.length])).to.deep.equal([["2026Q2", 2]]);

    w = await makeWorld("2026-03-02T09:00:00+08:00");
    sweeper = new NoticeSweeper(w.service, w.clock);
    await held(1, "2026-04-30"); // its yellow counts
    await held(2, "2026-04-27"); // first seen past its deadline: the yellow is superseded by the red
    let c = await held(3, "2026-04-30"); // handed back; the office issues a yellow by hand while it holds the case
    c = await apply(c, "SUBMIT", w.lead, { summary: "完成", attachmentIds: [await evidence(c._id.toString(), w.lead)] });
    expect(await sweepAt(beforeWorkdays("2026-04-30", 2))).to.have.members(["yellow", "red", "office_due"]);
    const byHand = await issueByHand(c, { level: "yellow", requirement: "请抓紧审核" }, w.office, w.clock);
    expect(byHand).to.include({ holder: "office", points: 0 });
    [score] = await scorecard("2026-01-01", "2026-12-31");
    expect(score!.counts).to.deep.equal({ yellow: 1, red: 1 });
    expect(score!.specialLetters).to.deep.equal([]);
    expect(score!.points).to.equal(-1.5);
  });

  it("scores units from their notices, each point traceable to a notice and its case", async () => {
    const a = await apply(await assignedInspection("2026-04-30", 1), "SIGN", w.lead);
    await apply(a, "REPORT_PROGRESS", w.lead, { percent: 95, text: "收尾" });
    const b = await apply(await assignedInspection("2026-04-30", 2), "SIGN", w.lead);
    await apply(b, "REPORT_PROGRESS", w.lead, { percent: 95, text: "收尾" });
    for (const at of [beforeWorkdays("2026-04-30", 2), startOfDay("2026-05-01"), afterWorkdays("2026-04-30", 5)]) await sweepAt(at); // yellow, red and supervision for both
    const [score, ...others] = await scorecard("2026-01-01", "2026-12-31");
    expect(others).to.deep.equal([]);
    expect(score!.unitId).to.equal(w.units.lead);
    expect(score!.counts).to.include({ yellow: 2, red: 2, supervision: 2 });
    expect(score!.points).to.equal(2 * (-0.5 - 1 - 2));
    expect(score!.specialLetterQuarters).to.deep.equal(["2026Q2"]);
    expect(score!.lines.map((l) => l.ledgerNumber)).to.include.members(["ZY2-01", "ZY2-02"]);
    const sum = score!.lines.reduce((s, l) => s + l.points, 0);
    expect(sum).to.equal(score!.points);
    expect(await scorecard("2026-01-01", "2026-04-01")).to.deep.equal([]);
  });
});
