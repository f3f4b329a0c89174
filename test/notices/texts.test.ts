/**
 * The words of each level, as the sweep issues them: what a 签收提醒 asks, the deadline and the working
 * days left or overdue of 到期/黄色/红色, the formal wording of 督办通知 and 约谈/通报, 信访编号 and
 * 《信访工作条例》 for complaints; the texts as data the admin edits with a preview.
 */
import { expect } from "chai";
import { addCalendarDays, startOfDay, type Actor } from "../../workflows/index.ts";
import { WorkCalendar } from "../../src/calendar/workdays.ts";
import { Notice, type CaseDoc } from "../../src/db/models.ts";
import { issueByHand, type NoticeRecord } from "../../src/notices/issuer.ts";
import { renderNoticeDocument } from "../../src/notices/render.ts";
import { updateSettings } from "../../src/notices/settings.ts";
import { NoticeSweeper } from "../../src/notices/sweep.ts";
import { chineseDate, loadTexts, preview, updateText } from "../../src/notices/texts.ts";
import { makeWorld, newComplaint, newInspection, refusal, type World } from "../support/fixtures.ts";

const cal = new WorkCalendar();
const afterWorkdays = (date: string, n: number) => startOfDay(addCalendarDays(cal.addWorkdays(date, n), 1));
const beforeWorkdays = (date: string, n: number) => startOfDay(cal.addWorkdays(date, -n));
const admin: Actor = { id: "admin-1", name: "管理员", role: "office_admin", unitId: null };

describe("notice texts by level", () => {
  let w: World;
  let sweeper: NoticeSweeper;
  beforeEach(async () => {
    w = await makeWorld("2026-03-02T09:00:00+08:00");
    sweeper = new NoticeSweeper(w.service, w.clock);
  });

  const apply = (c: CaseDoc, type: string, actor: Actor, payload: Record<string, unknown> = {}) =>
    w.service.applyEvent(c._id.toString(), { type, payload }, actor).then((r) => r.case);
  /** Sweeps at `at`; the one notice issued. */
  async function issuedAt(at: Date): Promise<NoticeRecord> {
    w.clock.set(at);
    const r = await sweeper.sweep();
    expect(r.issued, `one notice at ${at.toISOString()}`).to.have.length(1);
    return r.issued[0]!;
  }
  const text = (n: NoticeRecord) => n.document!.paragraphs.join("\n");

  it("each rung of an inspection item asks what its level asks, with the deadline and the working days left or overdue", async () => {
    const deadline = "2026-04-29"; // a Wednesday: the red warning falls on a working day
    let c = await w.service.createCase(newInspection(), w.office);
    c = await apply(c, "ASSIGN", w.office, { leadUnitId: w.units.lead, coUnitIds: [w.units.co], deadline });

    const sign = await issuedAt(afterWorkdays("2026-03-02", 2));
    const signOn = cal.addWorkdays("2026-03-02", 3);
    expect(sign.document).to.deep.include({ title: "签收提醒", to: "市生态环境局" });
    expect(text(sign))
      .to.contain("台账编号为ZY2-01的“城区部分燃煤锅炉淘汰不彻底”已于2026年3月2日交由你单位牵头负责")
      .and.contain(`请于${chineseDate(cal.addWorkdays(signOn, 2))}前（2个工作日内）登录系统签收`);

    c = await apply(c, "SIGN", w.lead);
    c = await apply(c, "REPORT_PROGRESS", w.lead, { percent: 90, text: "基本完成" });
    const due = await issuedAt(beforeWorkdays(deadline, 5));
    expect(due.document!.title).to.equal("到期提醒");
    expect(text(due)).to.contain("整改时限为2026年4月29日，距期限还有5个工作日").and.not.contain("尚未签收");

    const yellow = await issuedAt(beforeWorkdays(deadline, 2));
    expect(text(yellow)).to.contain("整改时限为2026年4月29日，距期限还有2个工作日，临近期限尚未完成。现予黄色预警。");

    const red = await issuedAt(startOfDay("2026-04-30"));
    expect(text(red)).to.contain("整改时限为2026年4月29日，已超期1天，尚未完成整改。现予红色预警。").and.contain("书面报送超期原因");

    const supervisionAt = afterWorkdays(deadline, 5);
    const supervision = await issuedAt(supervisionAt);
    const on = addCalendarDays(cal.addWorkdays(deadline, 5), 1);
    expect(supervision.number).to.equal("督办〔2026〕1号");
    expect(supervision.document!.title).to.equal("关于加快整改“城区部分燃煤锅炉淘汰不彻底”的督办通知");
    expect(text(supervision))
      .to.contain("你单位牵头负责的督察反馈问题整改任务“城区部分燃煤锅炉淘汰不彻底”（台账编号：ZY2-01），整改时限为2026年4月29日")
      .and.match(new RegExp(`截至${chineseDate(on)}已超期\\d+天（${cal.workdaysBetween(deadline, on)}个工作日）`))
      .and.contain("现予以督办")
      .and.contain("主要负责同志亲自过问")
      .and.contain(`并于${chineseDate(cal.addWorkdays(on, 5))}前`);

    const escalation = await issuedAt(afterWorkdays(deadline, 15));
    expect(escalation.document!.to).to.equal("分管领导");
    expect(escalation.document!.title).to.equal("关于市生态环境局超期未完成整改的约谈通报建议");
    expect(text(escalation)).to.contain("建议对市生态环境局主要负责同志进行约谈，并在全市范围内予以通报");
  });

  it("a 督办通知 issued by hand says where the case stands against its deadline: not yet due, due today, or overdue", async () => {
    let c = await w.service.createCase(newInspection(), w.office);
    c = await apply(c, "ASSIGN", w.office, { leadUnitId: w.units.lead, deadline: "2026-03-31" });
    c = await apply(c, "SIGN", w.lead);
    const early = await issueByHand(c, { level: "supervision", requirement: "请加快进度" }, w.office, w.clock);
    expect(text(early)).to.contain("整改时限为2026年3月31日，截至2026年3月2日距期限还有").and.not.contain("已超期");
    w.clock.set(startOfDay("2026-03-31"));
    const today = await issueByHand(c, { level: "supervision", requirement: "请今日完成" }, w.office, w.clock);
    expect(text(today)).to.contain("截至2026年3月31日今日到期，尚未完成整改");
    w.clock.set(startOfDay("2026-04-02"));
    const late = await issueByHand(c, { level: "supervision", requirement: "请立即完成" }, w.office, w.clock);
    expect(text(late)).to.contain("截至2026年4月2日已超期2天，尚未完成整改");
  });

  it("a yellow warning raised by progress behind schedule says so", async () => {
    let c = await w.service.createCase(newInspection(), w.office);
    c = await apply(c, "ASSIGN", w.office, { leadUnitId: w.units.lead, coUnitIds: [], deadline: "2026-04-30" });
    c = await apply(c, "SIGN", w.lead);
    const yellow = await issuedAt(new Date("2026-03-14T00:00:00+08:00"));
    expect(text(yellow)).to.contain("已报送的进度（0%）明显滞后于序时进度。现予黄色预警。");
  });

  it("complaints say 信访编号 and cite 《信访工作条例》 for the acceptance and conclusion limits; the office is told about its own part", async () => {
    let c = await w.service.createCase(newComplaint(), w.office); // received 03-02, accept by 03-17
    const accept = await issuedAt(startOfDay("2026-03-14"));
    expect(accept.document).to.deep.include({ title: "受理期限预警", to: "整改办" });
    expect(text(accept))
      .to.contain("信访编号为XF-2026-000001的“夜间工地噪声扰民”于2026年3月2日收到，受理期限为2026年3月17日，距期限还有3天")
      .and.contain("依据：《信访工作条例》第二十二条");
    w.clock.set("2026-03-16T10:00:00+08:00");
    c = await apply(c, "ACCEPT", w.office); // conclude by 05-15
    c = await apply(c, "ASSIGN", w.office, { leadUnitId: w.units.lead, coUnitIds: [], deadline: "2026-04-30" });
    const warning = await issuedAt(startOfDay("2026-04-27"));
    expect(warning.document).to.deep.include({ title: "办理期限预警", to: "市生态环境局" });
    expect(text(warning))
      .to.contain("信访编号为XF-2026-000001的“夜间工地噪声扰民”交由你单位查处，办理时限为2026年4月30日，距期限还有3天")
      .and.contain("《信访工作条例》第三十四条")
      .and.not.contain("台账编号");
    w.clock.set("2026-04-28T10:00:00+08:00");
    c = await apply(c, "SUBMIT_RESULT", w.lead, { summary: "经查属实", violationFound: true, attachmentIds: [] });
    c = await apply(c, "APPROVE", w.office);
    const late = await issuedAt(startOfDay("2026-05-16"));
    expect(late.document).to.deep.include({ title: "办结超期提醒", to: "整改办" });
    expect(text(late)).to.contain("正处于答复环节，法定办结期限为2026年5月15日，已超期1天").and.contain("《信访工作条例》第三十四条");
  });

  it("texts are data: the admin edits a level's words with a preview; unknown placeholders are refused; a notice keeps the words it was issued with", async () => {
    const c = await w.service.createCase(newInspection(), w.office);
    await apply(c, "ASSIGN", w.office, { leadUnitId: w.units.lead, coUnitIds: [], deadline: "2026-04-30" });
    const first = await issuedAt(afterWorkdays("2026-03-02", 2));

    const edited = { title: "签收催办", body: "请于{答复期限}前签收{编号类别}{编号}。\n{督办要求}", replyDays: 3 };
    const shown = preview("sign_reminder", edited, { office: "整改办", calendar: cal, issuedAt: w.clock.now() });
    expect(shown.samples.map((s) => [s.kind, s.title, s.paragraphs.length])).to.deep.equal([
      ["inspection", "签收催办", 1],
      ["complaint", "签收催办", 1],
    ]);
    expect(shown.samples[0]!.paragraphs[0]).to.equal(`请于${chineseDate(cal.addWorkdays("2026-03-05", 3))}前签收台账编号ZY2-03。`);
    expect(shown.samples[1]!.paragraphs[0]).to.contain("信访编号XF-2026-000123");

    expect((await refusal(updateText("sign_reminder", edited, w.office))).status).to.equal(403);
    const bad = await refusal(updateText("sign_reminder", { ...edited, body: "请于{签收日}前签收" }, admin));
    expect(bad).to.include({ status: 422 });
    expect(bad.details.fields).to.deep.equal([{ field: "body", message: "没有这些占位符：{签收日}（可用的见占位符说明）" }]);
    expect((await refusal(updateText("sign_reminder", { ...edited, replyDays: 0 }, admin))).status).to.equal(422);
    expect((await refusal(updateText("no_such_level", edited, admin))).status).to.equal(404);
    expect((await loadTexts()).sign_reminder.title).to.equal("签收提醒");

    await updateText("sign_reminder", edited, admin);
    const second = await issueByHand(c, { level: "sign_reminder", requirement: "请今日内签收" }, w.office, w.clock);
    expect(second.document).to.deep.include({ title: "签收催办" });
    expect(second.document!.paragraphs).to.deep.equal([`请于${chineseDate(cal.addWorkdays("2026-03-05", 3))}前签收台账编号ZY2-01。`, "请今日内签收"]);
    // The first notice reads as it was issued.
    expect((await Notice.findById(first._id).lean())!.document).to.deep.equal(first.document);
    expect(await renderNoticeDocument((await Notice.findById(first._id).lean()) as NoticeRecord)).to.contain("签收提醒");
  });

  it("prints the office's particulars and escapes what users typed", async () => {
    await updateSettings({ issuerMark: "某市督察整改办", signer: "某市督察整改办", contactName: "王敏", contactPhone: "0371-12345678", cc: "分管副市长", verificationTerm: "验收" }, admin);
    const c = await w.service.createCase({ ...newInspection(3), title: "<script>alert(1)</script>河道整治" }, w.office);
    const assigned = await apply(c, "ASSIGN", w.office, { leadUnitId: w.units.lead, coUnitIds: [], deadline: "2026-04-30" });
    w.clock.set("2026-05-12T10:00:00+08:00");
    const n = await issueByHand(assigned, { level: "supervision", requirement: "请于5日内报告 & <b>整改</b>" }, w.office, w.clock);
    const html = await renderNoticeDocument(n);
    expect(html).to.contain("督办〔2026〕1号").and.contain("市生态环境局：").and.contain("ZY2-03").and.contain("2026年4月30日");
    expect(html).to.contain("某市督察整改办").and.contain("联系人：王敏").and.contain("联系电话：0371-12345678").and.contain("size: A4");
    expect(html).to.contain(`已超期12天（${cal.workdaysBetween("2026-04-30", "2026-05-12")}个工作日）`).and.contain(`${chineseDate(cal.addWorkdays("2026-05-12", 5))}前`);
    expect(html).to.not.contain("<script>alert(1)</script>").and.not.contain("<b>整改</b>");
    expect(html).to.contain("&lt;script&gt;").and.contain("&amp; &lt;b&gt;");
  });
});
