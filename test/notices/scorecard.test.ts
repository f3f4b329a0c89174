/**
 * The scorecard's rule for notices issued by hand (docs/domain.md#scorecard): a 督办通知 by hand counts
 * like one the ladder issues when the unit held the case, and not at all on the office's time; the page
 * states the rule and shows, per level, the points that are scored.
 */
import { expect } from "chai";
import type { Actor } from "../../workflows/index.ts";
import type { CaseDoc } from "../../src/db/models.ts";
import { Notice } from "../../src/db/models.ts";
import { issueByHand } from "../../src/notices/issuer.ts";
import { rescoreHandNotices } from "../../src/notices/backfill.ts";
import { updateRule } from "../../src/notices/rules.ts";
import { scorecard } from "../../src/notices/scorecard.ts";
import { evidence, makeWorld, newInspection, type World } from "../support/fixtures.ts";
import { withApp } from "../support/app.ts";

describe("the scorecard: notices issued by hand", function () {
  this.timeout(60_000);
  let w: World;
  let held: CaseDoc;
  let office: CaseDoc;
  const apply = (c: CaseDoc, type: string, actor: Actor, payload: Record<string, unknown> = {}) =>
    w.service.applyEvent(c._id.toString(), { type, payload }, actor).then((r) => r.case);
  const byHand = (c: CaseDoc, level: string) => issueByHand(c, { level, requirement: "请于5个工作日内报送整改情况" }, w.office, w.clock);

  before(async () => {
    w = await makeWorld("2026-04-01T09:00:00+08:00");
    const rectifying = async (n: number) => {
      const c = await w.service.createCase(newInspection(n), w.office);
      return apply(await apply(c, "ASSIGN", w.office, { leadUnitId: w.units.lead, coUnitIds: [], deadline: "2026-06-30" }), "SIGN", w.lead);
    };
    held = await rectifying(1);
    const other = await rectifying(2);
    // Handed back for 销号审核: the office holds it.
    office = await apply(other, "SUBMIT", w.lead, { summary: "完成", attachmentIds: [await evidence(other._id.toString(), w.lead)] });
  });

  it("a 督办通知 by hand while the unit holds the case costs what an automatic one costs; on the office's time, nothing", async () => {
    const mine = await byHand(held, "supervision");
    expect(mine).to.include({ manual: true, holder: "unit", points: -2 });
    expect(mine.number).to.match(/^督办〔2026〕\d+号$/);
    const theirs = await byHand(office, "supervision");
    expect(theirs).to.include({ manual: true, holder: "office", points: 0 });
    const [lead] = await scorecard("2026-04-01", "2026-04-30");
    expect(lead).to.include({ unitId: w.units.lead, points: -2 });
    expect(lead!.counts).to.deep.equal({ supervision: 1 });
    expect(lead!.lines.map((l) => l.noticeId)).to.deep.equal([mine._id]);
  });

  it("follows the rules as the office set them, and scores hand notices issued before the rule once", async () => {
    await updateRule("inspection.supervision", { points: -3 }, { id: "admin", role: "office_admin", unitId: null, name: "管理员" });
    const n = await byHand(held, "supervision");
    expect(n.points).to.equal(-3);
    // One issued before hand notices counted (scored 0 then) is scored at start, once.
    await Notice.updateOne({ _id: n._id }, { $set: { points: 0 } });
    expect(await rescoreHandNotices()).to.equal(1);
    expect((await Notice.findById(n._id).lean())!.points).to.equal(-3);
    // Reminders cost nothing by hand either.
    expect((await byHand(held, "due_reminder")).points).to.equal(0);
  });

  it("the page states the rule and, per level, the points that are scored", async () => {
    await withApp(w, ["staff"], async ({ staff }) => {
      const page = await staff.agent.get(`/scorecard?from=2026-04-01&to=2026-04-30&unit=${w.units.lead}`).expect(200);
      expect(page.text).to.contain("整改办手动发出的通知").and.contain("与系统按规则发出的同级别通知同样计分");
      expect(page.text).to.contain("督办通知<br><small>（−3 分）</small>").and.contain("黄色预警<br><small>（−0.5 分）</small>");
      expect(page.text).to.contain("督办通知 −3 分");
      // Two 督办 by hand at −2 and −3 (the due reminder costs 0): −5 in the unit's row and its lines.
      expect(page.text).to.contain("合计 -5 分");
    });
  });
});
