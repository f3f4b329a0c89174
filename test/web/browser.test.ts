/**
 * The pages in a real browser (Debian's chromium through playwright-core) against the real app and
 * services: a case walked from assignment to close-out by clicking, as the office and a unit would.
 * Screenshots land in test-artifacts/screenshots/.
 */
import { expect } from "chai";
import { addCalendarDays, shanghaiDate, startOfDay } from "../../workflows/index.ts";
import { issueByHand } from "../../src/notices/issuer.ts";
import { NoticeSweeper } from "../../src/notices/sweep.ts";
import { Case, NoticeDelivery } from "../../src/db/models.ts";
import { PNG, newInspection } from "../support/fixtures.ts";
import type { Page } from "playwright-core";
import { SHOTS, browserHarness } from "../support/browser.ts";

describe("the web pages in a browser", function () {
  this.timeout(120_000);
  const h = browserHarness();
  const problems = h.problems;
  const as = (username: string) => h.as(username, { viewport: { width: 1360, height: 900 } });
  let w: typeof h.w;
  let base: string;
  beforeEach(() => {
    w = h.w;
    base = h.base;
  });

  const submitAction = async (page: Page, type: string) => {
    await Promise.all([page.waitForNavigation(), page.click(`#action-${type} button[type="submit"]`)]);
  };
  const stateOf = async (page: Page) => (await page.textContent("#case-state"))?.trim();

  it("walks a case from assignment to close-out by clicking, and the dashboard follows", async () => {
    const c = await w.service.createCase(newInspection(), w.office);
    const id = c._id.toString();
    const office = await as("staff");
    await office.page.goto(`${base}/`);
    const closedBefore = await office.page.locator("#by-state").textContent();
    expect(closedBefore).to.not.contain("已销号");

    // The office assigns.
    await office.page.goto(`${base}/cases/${id}`);
    await office.page.selectOption("#ASSIGN-leadUnitId", w.units.lead);
    await office.page.check(`#ASSIGN-coUnitIds-box input[value="${w.units.co}"]`);
    const deadline = addCalendarDays(shanghaiDate(w.clock.now()), 30);
    await office.page.fill("#ASSIGN-deadline", deadline);
    await submitAction(office.page, "ASSIGN");
    expect(await stateOf(office.page)).to.contain("已交办");

    // The unit signs, reports progress with a photo, submits.
    const unit = await as("lead");
    await unit.page.goto(`${base}/cases/${id}`);
    await submitAction(unit.page, "SIGN");
    expect(await stateOf(unit.page)).to.contain("整改中");
    await unit.page.fill("#REPORT_PROGRESS-percent", "60");
    await unit.page.fill("#REPORT_PROGRESS-text", "已完成6台锅炉替代 <b>不是标签</b>");
    await unit.page.setInputFiles("#REPORT_PROGRESS-attachmentIds", { name: "现场照片.png", mimeType: "image/png", buffer: PNG });
    await submitAction(unit.page, "REPORT_PROGRESS");
    expect(await unit.page.locator(".timeline").textContent()).to.contain("已完成6台锅炉替代 <b>不是标签</b>").and.contain("进度 60%");
    expect(await unit.page.locator(".timeline img").count()).to.equal(1);
    // Submitting without evidence is refused beside the field, with the text kept.
    await unit.page.fill("#SUBMIT-summary", "全部完成");
    await submitAction(unit.page, "SUBMIT");
    // The form comes back with 422; the browser notes that status in its console, which is expected here.
    const i = problems.indexOf("lead console: Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)");
    expect(i).to.not.equal(-1);
    problems.splice(i, 1);
    expect(await unit.page.locator("#action-SUBMIT .field-error").textContent()).to.contain("申请销号须上传佐证材料");
    expect(await unit.page.inputValue("#SUBMIT-summary")).to.equal("全部完成");
    await unit.page.setInputFiles("#SUBMIT-attachmentIds", { name: "验收.png", mimeType: "image/png", buffer: PNG });
    await submitAction(unit.page, "SUBMIT");
    expect(await stateOf(unit.page)).to.contain("销号审核");

    // The office rejects once; the unit resubmits; the office passes with publicity.
    await office.page.goto(`${base}/cases/${id}`);
    await office.page.fill("#REJECT-reason", "佐证材料不全，请补充验收报告");
    await submitAction(office.page, "REJECT");
    expect(await stateOf(office.page)).to.contain("整改中");
    await unit.page.goto(`${base}/cases/${id}`);
    await unit.page.fill("#SUBMIT-summary", "已补充验收报告");
    await unit.page.setInputFiles("#SUBMIT-attachmentIds", { name: "验收报告.png", mimeType: "image/png", buffer: PNG });
    await submitAction(unit.page, "SUBMIT");
    await office.page.goto(`${base}/cases/${id}`);
    // Passing records the office's 现场核查: who, when, the opinion and a photo.
    await office.page.fill("#PASS-checkedBy", "整改办张三、李四");
    await office.page.fill("#PASS-checkedOn", shanghaiDate(w.clock.now()));
    await office.page.fill("#PASS-opinion", "现场核查：12台锅炉均已拆除");
    await office.page.setInputFiles("#PASS-attachmentIds", { name: "现场核查.png", mimeType: "image/png", buffer: PNG });
    await office.page.fill("#PASS-publicityDays", "5");
    await submitAction(office.page, "PASS");
    expect(await office.page.textContent("#case-verification")).to.contain("整改办张三、李四").and.contain("现场核查：12台锅炉均已拆除");
    expect(await office.page.locator(".timeline").textContent()).to.contain("现场核查：整改办张三、李四");
    expect(await stateOf(office.page)).to.contain("公示中");
    await office.page.screenshot({ path: `${SHOTS}/case.png`, fullPage: true });

    // The publicity period ends (the sweep, with the clock moved past five working days).
    w.clock.advanceDays(10);
    const swept = await new NoticeSweeper(w.service, w.clock).sweep();
    expect(swept.publicityEnded).to.deep.equal([id]);
    await office.page.goto(`${base}/cases/${id}`);
    expect(await stateOf(office.page)).to.contain("已销号");
    await office.page.goto(`${base}/`);
    expect(await office.page.locator("#by-state").textContent()).to.contain("已销号");
    await office.page.screenshot({ path: `${SHOTS}/dashboard.png`, fullPage: true });
    expect((await Case.findById(id).lean())!.state).to.equal("closed");
    expect(problems).to.deep.equal([]);
  });

  it("shows the 404 page to a unit that types another unit's case URL", async () => {
    const c = await w.service.createCase(newInspection(), w.office);
    await w.service.applyEvent(c._id.toString(), { type: "ASSIGN", payload: { leadUnitId: w.units.lead, deadline: "2026-12-30" } }, w.office);
    const other = await as("other");
    const res = await other.page.goto(`${base}/cases/${c._id.toString()}`);
    expect(res!.status()).to.equal(404);
    const text = await other.page.textContent("main");
    expect(text).to.contain("页面不存在").and.not.contain(c.title).and.not.contain(c.ledgerNumber);
  });

  it("renders the ledger, the inbox and a printable 督办通知 without errors or outside requests", async () => {
    for (let i = 1; i <= 3; i++) {
      const c = await w.service.createCase(newInspection(i), w.office);
      await w.service.applyEvent(c._id.toString(), { type: "ASSIGN", payload: { leadUnitId: w.units.lead, deadline: "2026-12-30" } }, w.office);
    }
    const c = (await Case.findOne({ ledgerNumber: "ZY2-01" }).lean())!;
    w.clock.set(startOfDay("2026-12-31"));
    const notice = await issueByHand(c as never, { level: "supervision", requirement: "请于5个工作日内书面报告整改进展" }, w.office, w.clock);
    // Delivered to the inbox as the worker would (the delivery worker itself is tested elsewhere).
    await NoticeDelivery.updateOne({ _id: `${notice._id}:inbox` }, { $set: { status: "sent", sentAt: w.clock.now() } });
    const office = await as("staff");
    await office.page.goto(`${base}/cases?kind=inspection&sort=ledgerNumber`);
    expect(await office.page.locator("table.grid tbody tr").count()).to.equal(3);
    await office.page.screenshot({ path: `${SHOTS}/ledger.png`, fullPage: true });
    const unit = await as("lead");
    await unit.page.goto(`${base}/notices`);
    expect(await unit.page.locator("table.grid tbody").textContent()).to.contain("督办〔2026〕1号");
    await Promise.all([unit.page.waitForNavigation(), unit.page.click('table.grid button[type="submit"]')]);
    expect(await unit.page.locator("table.grid tbody").textContent()).to.contain("已签收");
    const print = await unit.ctx.newPage();
    await print.goto(`${base}/notices/${notice._id}/print`);
    expect(await print.textContent("body")).to.contain("督办通知").and.contain("市生态环境局：");
    await print.emulateMedia({ media: "print" });
    await print.screenshot({ path: `${SHOTS}/supervision-notice.png`, fullPage: true });
    expect(problems).to.deep.equal([]);
  });
});
