/**
 * The office's day and the liaison's phone in a real browser (Debian's chromium through
 * playwright-core) against the real app and services: registration of both kinds, import with
 * preview and confirmation, batch actions, a manual 督办, the liaison's flow at 390×844, and
 * axe-core on every page at desk and phone widths. Screenshots land in test-artifacts/screenshots/.
 */
import { expect } from "chai";
import { createRequire } from "node:module";
import mongoose from "mongoose";
import type { Page } from "playwright-core";
import { addCalendarDays, shanghaiDate } from "../../workflows/index.ts";
import { Case, Notice } from "../../src/db/models.ts";
import { issueByHand } from "../../src/notices/issuer.ts";
import { PNG, newComplaint, newInspection } from "../support/fixtures.ts";
import { DESK, PHONE, SHOTS, browserHarness } from "../support/browser.ts";

const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

describe("the office and the liaison in a browser", function () {
  this.timeout(180_000);
  const h = browserHarness();
  const problems = h.problems;
  // A form refused with 4xx is logged by the browser as a failed resource: expected where a test sends one.
  const as = async (username: string, viewport = DESK) => (await h.as(username, { viewport, bypassCSP: true, ignore: /status of 4\d\d/ })).page;
  let w: typeof h.w;
  let base: string;
  beforeEach(() => {
    w = h.w;
    base = h.base;
  });
  /** The day `days` after the world's today (its clock's day in China). */
  const future = (days: number) => addCalendarDays(shanghaiDate(w.clock.now()), days);

  const submit = async (page: Page, selector: string) => {
    await Promise.all([page.waitForNavigation(), page.click(selector)]);
  };
  const noSidewaysScroll = async (page: Page, where: string) => {
    const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
    expect(scroll, `${where}: the page scrolls sideways at ${width} px`).to.be.at.most(width);
  };
  /** The filter selects (e.g. 排序) too narrow for the option they show. */
  const cutSelects = (page: Page) =>
    page.evaluate(() =>
      [...document.querySelectorAll<HTMLSelectElement>(".filters select")]
        // A select folded away (the phone's filter panel) is not cut off; the liaison's test unfolds it.
        .filter((s) => s.offsetParent !== null)
        .filter((s) => {
          const probe = document.createElement("span");
          probe.style.cssText = `position:absolute;white-space:nowrap;font:${getComputedStyle(s).font}`;
          probe.textContent = s.options[s.selectedIndex]?.text ?? "";
          document.body.appendChild(probe);
          const text = probe.getBoundingClientRect().width;
          probe.remove();
          // The arrow and padding take about 24 px.
          return text + 24 > s.clientWidth;
        })
        .map((s) => `${s.name}: “${s.options[s.selectedIndex]?.text}”`),
    );
  /** axe-core's serious and critical findings on the page as it is now. */
  async function axe(page: Page): Promise<string[]> {
    await page.addScriptTag({ path: AXE });
    return page.evaluate(async () => {
      const r = await (window as unknown as { axe: { run: (c: unknown, o: unknown) => Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } }).axe.run(document, {
        resultTypes: ["violations"],
      });
      return r.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(" | ")}`);
    });
  }

  it("registers an inspection problem and a complaint from the 台账, errors beside the fields with the input kept", async () => {
    const page = await as("staff");
    await page.goto(`${base}/cases`);
    await submit(page, "#register-inspection");
    expect(await page.textContent("h1")).to.contain("登记督察反馈问题");
    // Required fields left blank: refused beside each field, in Chinese, and what was typed stays.
    await page.fill("#new-description", "仍有12台10蒸吨以下燃煤锅炉在用");
    await page.fill("#new-plannedDeadline", "2026-02-30");
    await submit(page, '#register-form button[type="submit"]');
    expect(await page.textContent('.field:has(#new-ledgerNumber) .field-error')).to.contain("请填写反馈问题序号");
    expect(await page.textContent('.field:has(#new-title) .field-error')).to.contain("请填写问题标题");
    expect(await page.textContent('.field:has(#new-plannedDeadline) .field-error')).to.contain("不是有效日期");
    expect(await page.inputValue("#new-description")).to.equal("仍有12台10蒸吨以下燃煤锅炉在用");
    await page.screenshot({ path: `${SHOTS}/register-inspection-errors-1440.png`, fullPage: true });
    await page.fill("#new-ledgerNumber", "ZY2-31");
    await page.fill("#new-title", "城区部分燃煤锅炉淘汰不彻底");
    await page.fill("#new-round", "中央第二轮");
    await page.selectOption("#new-category", "大气");
    await page.fill("#new-plannedDeadline", future(60));
    await page.check("#new-immediate");
    await submit(page, '#register-form button[type="submit"]');
    expect(page.url()).to.match(/\/cases\/[0-9a-f]{24}\?done=CREATE$/);
    expect(await page.textContent("h1")).to.contain("ZY2-31").and.contain("城区部分燃煤锅炉淘汰不彻底");
    expect(await page.textContent("#flash")).to.contain("已登记");
    expect(await page.textContent("#case-deadline")).to.contain("立行立改");

    await page.goto(`${base}/cases`);
    await submit(page, "#register-complaint");
    await page.fill("#new-title", "夜间工地噪声扰民");
    await page.fill("#new-complainant\\.name", "李四");
    await page.fill("#new-complainant\\.phone", "13800000000");
    await submit(page, '#register-form button[type="submit"]');
    expect(await page.textContent('.field:has(#new-channel) .field-error')).to.contain("来源渠道应为");
    expect(await page.inputValue("#new-complainant\\.name")).to.equal("李四");
    await page.selectOption("#new-channel", "12369热线");
    await submit(page, '#register-form button[type="submit"]');
    expect(await page.textContent("h1")).to.match(/XF-\d{4}-\d{6} 夜间工地噪声扰民/);
    expect(await page.textContent(".fields")).to.contain("李四").and.contain("13800000000");
    await page.screenshot({ path: `${SHOTS}/registered-complaint-1440.png`, fullPage: true });
    expect(await Case.countDocuments({})).to.equal(2);
    expect(problems).to.deep.equal([]);
  });

  it("previews an import with bad rows (nothing written), then previews and confirms a clean list", async () => {
    const page = await as("staff");
    await page.goto(`${base}/cases`);
    await submit(page, "#import-list");
    const header = "序号,督察轮次,问题描述,类别,牵头单位,配合单位,整改目标,整改措施,整改时限";
    const good = [
      "ZY2-41,中央第二轮,城区燃煤锅炉淘汰不彻底，仍有锅炉在用,大气,市生态环境局,市水务局,全部淘汰,分批替代,2030年12月底前",
      "ZY2-42,中央第二轮,工业园区污水厂出水总氮超标,水,市水务局,,稳定达标,提标改造,2030年6月30日",
    ];
    const bad = [...good, "ZY2-43,中央第二轮,某河段黑臭水体反弹,水,市环保厅,,消除黑臭,截污纳管,2030年6月"];
    await page.setInputFiles("#import-file", { name: "问题清单.csv", mimeType: "text/csv", buffer: Buffer.from([header, ...bad].join("\n")) });
    expect(await page.textContent(".picked")).to.contain("问题清单.csv");
    await submit(page, '#import-form button[type="submit"]');
    expect(await page.textContent("#import-message")).to.contain("未写入任何数据");
    const errors = await page.textContent("#import-errors");
    expect(errors).to.contain("4").and.contain("牵头单位").and.contain("市环保厅");
    expect(await page.locator("#confirm-import").count()).to.equal(0);
    // The streamed log ends with its last step; no progress bar is left showing once the check is done.
    expect((await page.textContent(".progress-log p.step:last-child"))?.trim()).to.equal("已完成");
    expect(await page.locator(".progress-log progress:visible").count()).to.equal(0);
    await page.screenshot({ path: `${SHOTS}/import-bad-rows-1440.png`, fullPage: true });
    expect(await Case.countDocuments({})).to.equal(0);

    await page.goto(`${base}/cases/import`);
    await page.setInputFiles("#import-file", { name: "问题清单.csv", mimeType: "text/csv", buffer: Buffer.from([header, ...good].join("\n")) });
    await submit(page, '#import-form button[type="submit"]');
    expect(await page.textContent("#count-create")).to.equal("2");
    expect(await page.textContent("#import-preview")).to.contain("ZY2-41").and.contain("ZY2-42");
    expect(await Case.countDocuments({})).to.equal(0);
    await submit(page, '#confirm-import button[type="submit"]');
    expect(await page.textContent("#import-message")).to.contain("导入完成：新登记 2 项");
    expect(await page.textContent("#import-preview")).to.contain("ZY2-41");
    await page.screenshot({ path: `${SHOTS}/import-done-1440.png`, fullPage: true });
    expect(await Case.countDocuments({ ledgerNumber: mongoose.trusted({ $in: ["ZY2-41", "ZY2-42"] }) })).to.equal(2);
    // The same list again: every row unchanged, nothing to confirm.
    await page.goto(`${base}/cases/import`);
    await page.setInputFiles("#import-file", { name: "问题清单.csv", mimeType: "text/csv", buffer: Buffer.from([header, ...good].join("\n")) });
    await submit(page, '#import-form button[type="submit"]');
    expect(await page.textContent("#count-unchanged")).to.equal("2");
    expect(await page.textContent("#import-unchanged")).to.contain("ZY2-41");
    expect(await page.locator("#confirm-import").count()).to.equal(0);
    expect(problems).to.deep.equal([]);
  });

  it("an imported list is assigned in two clicks (按清单交办); the case shows its planned assignment and the 交办 form starts from it", async () => {
    const page = await as("staff");
    await page.goto(`${base}/cases/import`);
    expect(await page.getAttribute("#import-template", "href")).to.equal("/cases/import/template.xlsx");
    await page.screenshot({ path: `${SHOTS}/import-page-1440.png`, fullPage: true });
    const header = "序号,督察轮次,问题描述,类别,牵头单位,配合单位,整改目标,整改措施,整改时限";
    const rows = [
      "QD-61,中央第二轮,城区燃煤锅炉淘汰不彻底，仍有锅炉在用,大气,市生态环境局,市水务局、市住建局,全部淘汰,分批替代,2030年12月底前",
      "QD-62,中央第二轮,工业园区污水厂出水总氮超标,水,市水务局,,稳定达标,提标改造,2030年6月30日",
    ];
    await page.setInputFiles("#import-file", { name: "问题清单.csv", mimeType: "text/csv", buffer: Buffer.from([header, ...rows].join("\n")) });
    await submit(page, '#import-form button[type="submit"]');
    await submit(page, '#confirm-import button[type="submit"]');
    expect(await page.textContent("#import-message")).to.contain("导入完成：新登记 2 项");

    // The case page: the list's units and deadline, and 交办 prefilled with them (配合单位 as checkboxes).
    const one = (await Case.findOne({ ledgerNumber: "QD-61" }).lean())!._id.toString();
    await page.goto(`${base}/cases/${one}`);
    expect(await page.textContent("#case-planned")).to.contain("牵头：市生态环境局").and.contain("市水务局、市住建局").and.contain("2030-12-31");
    expect(await page.inputValue("#ASSIGN-leadUnitId")).to.equal(w.units.lead);
    expect(await page.isChecked(`#ASSIGN-coUnitIds-box input[value="${w.units.co}"]`)).to.equal(true);
    expect(await page.isChecked(`#ASSIGN-coUnitIds-box input[value="${w.units.other}"]`)).to.equal(true);
    expect(await page.inputValue("#ASSIGN-deadline")).to.equal("2030-12-31");
    // With JavaScript, the filter box narrows the list; ticked units stay in view.
    await page.uncheck(`#ASSIGN-coUnitIds-box input[value="${w.units.other}"]`);
    await page.fill("#ASSIGN-coUnitIds", "生态");
    const shown = await page.$$eval("#ASSIGN-coUnitIds-box .unit-list label", (ls) => ls.filter((l) => !(l as HTMLElement).hidden).map((l) => l.textContent?.trim()));
    expect(shown).to.have.members(["市生态环境局", "市水务局"]);
    await page.fill("#ASSIGN-coUnitIds", "");
    await page.check(`#ASSIGN-coUnitIds-box input[value="${w.units.other}"]`);
    await page.screenshot({ path: `${SHOTS}/case-planned-1440.png`, fullPage: true });
    await page.locator("#action-ASSIGN").screenshot({ path: `${SHOTS}/assign-form-1440.png` });

    // The 待交办 list: tick all, 按清单交办 — two clicks.
    await page.goto(`${base}/cases?awaiting=assign&sort=ledgerNumber`);
    await page.click("#batch-all");
    await submit(page, "#batch-assign-planned");
    const result = await page.textContent("#batch-result");
    expect(result).to.contain("成功 2 件，未办理 0 件").and.contain("QD-61").and.contain("已交办 市生态环境局、市水务局、市住建局，时限 2030-12-31");
    const assigned = await Case.find({ ledgerNumber: mongoose.trusted({ $in: ["QD-61", "QD-62"] }) }).sort({ ledgerNumber: 1 }).lean();
    expect(assigned.map((c) => [c.state, c.leadUnitId, c.deadline])).to.deep.equal([
      ["assigned", w.units.lead, "2030-12-31"],
      ["assigned", w.units.co, "2030-06-30"],
    ]);
    await page.screenshot({ path: `${SHOTS}/assign-planned-result-1440.png`, fullPage: true });

    // At phone width: the import page and a planned case's 交办 form.
    const phone = await as("staff", PHONE);
    await phone.goto(`${base}/cases/import`);
    await noSidewaysScroll(phone, "import page");
    await phone.screenshot({ path: `${SHOTS}/import-page-390.png`, fullPage: true });
    const fresh = await w.service.createCase({ ...newInspection(63), plannedLeadUnitId: w.units.lead, plannedCoUnitIds: [w.units.co], plannedDeadline: "2030-03-31" }, w.office);
    await phone.goto(`${base}/cases/${fresh._id.toString()}`);
    await noSidewaysScroll(phone, "case page");
    expect(await phone.isChecked(`#ASSIGN-coUnitIds-box input[value="${w.units.co}"]`)).to.equal(true);
    await phone.screenshot({ path: `${SHOTS}/case-planned-390.png`, fullPage: true });
    await phone.locator("#action-ASSIGN").screenshot({ path: `${SHOTS}/assign-form-390.png` });
    expect(problems).to.deep.equal([]);
  });

  it("assigns several cases at once and names the one that could not be; the unit signs them at once", async () => {
    const ids: string[] = [];
    for (let i = 1; i <= 3; i++) ids.push((await w.service.createCase(newInspection(50 + i), w.office))._id.toString());
    // The third is assigned already: ASSIGN is not allowed in its state.
    await w.service.applyEvent(ids[2]!, { type: "ASSIGN", payload: { leadUnitId: w.units.other, deadline: future(30) } }, w.office);
    const office = await as("staff");
    await office.goto(`${base}/cases?sort=ledgerNumber`);
    for (const id of ids) await office.check(`input[name="ids"][value="${id}"]`);
    await office.selectOption("#b-lead", w.units.lead);
    await office.check(`#b-coUnitIds-box input[value="${w.units.co}"]`);
    await office.fill("#b-deadline", future(40));
    await submit(office, "#batch-assign");
    const result = await office.textContent("#batch-result");
    expect(result).to.contain("成功 2 件，未办理 1 件").and.contain("ZY2-53").and.contain("不能执行此操作");
    await office.screenshot({ path: `${SHOTS}/batch-assign-1440.png`, fullPage: true });
    expect((await Case.find({ _id: mongoose.trusted({ $in: ids.slice(0, 2) }) }).sort({ ledgerNumber: 1 }).lean()).map((c) => c.state)).to.deep.equal(["assigned", "assigned"]);

    // 催办 to all three: each gets a notice.
    await office.goto(`${base}/cases?sort=ledgerNumber`);
    for (const id of ids) await office.check(`input[name="ids"][value="${id}"]`);
    await office.fill("#b-requirement", "请加快办理");
    await submit(office, "#batch-urge");
    expect(await office.textContent("#batch-result")).to.contain("成功 3 件");
    expect(await Notice.countDocuments({ manual: true })).to.equal(3);

    const unit = await as("lead", PHONE);
    await unit.goto(`${base}/cases`);
    await noSidewaysScroll(unit, "台账 (phone)");
    // On the phone the filters fold behind one button, so the cases come first; it unfolds them.
    expect(await unit.isVisible(".filters select[name=kind]")).to.equal(false);
    await unit.click("label.filters-button");
    expect(await unit.isVisible(".filters select[name=kind]")).to.equal(true);
    expect(await cutSelects(unit)).to.deep.equal([]);
    await noSidewaysScroll(unit, "台账 (phone, filters open)");
    await unit.goto(`${base}/cases?kind=inspection`);
    expect(await unit.isVisible(".filters select[name=kind]"), "a filter set keeps the panel open").to.equal(true);
    expect(await unit.textContent("label.filters-button")).to.contain("已筛选");
    await unit.goto(`${base}/cases`);
    for (const id of ids.slice(0, 2)) await unit.check(`input[name="ids"][value="${id}"]`);
    await submit(unit, "#batch-sign");
    expect(await unit.textContent("#batch-result")).to.contain("成功 2 件");
    await unit.screenshot({ path: `${SHOTS}/batch-sign-390.png`, fullPage: true });
    expect((await Case.find({ _id: mongoose.trusted({ $in: ids.slice(0, 2) }) }).sort({ ledgerNumber: 1 }).lean()).map((c) => c.state)).to.deep.equal(["rectifying.working", "rectifying.working"]);

    // The unit acknowledges its notices at once.
    await unit.goto(`${base}/notices?state=unacknowledged`);
    await unit.check("#ack-all");
    await submit(unit, "#ack-selected");
    expect(await unit.textContent("#ack-result")).to.contain("已签收");
    expect(await Notice.countDocuments({ inbox: w.units.lead, ackAt: null })).to.equal(0);
    expect(problems).to.deep.equal([]);
  });

  it("issues a manual 督办 from the case page: numbered, in the unit's inbox", async () => {
    const c = await w.service.createCase(newInspection(61), w.office);
    const id = c._id.toString();
    await w.service.applyEvent(id, { type: "ASSIGN", payload: { leadUnitId: w.units.lead, deadline: future(20) } }, w.office);
    const office = await as("staff");
    await office.goto(`${base}/cases/${id}`);
    await submit(office, '#manual-notice button[type="submit"]');
    expect(await office.textContent("#manual-notice .field-error")).to.contain("请填写督办要求");
    await office.selectOption("#notice-level", "supervision");
    await office.fill("#notice-requirement", "请于5个工作日内书面报告整改进展");
    await submit(office, '#manual-notice button[type="submit"]');
    const year = Number(shanghaiDate(w.clock.now()).slice(0, 4));
    expect(await office.textContent("#flash")).to.match(new RegExp(`已发出通知（督办〔${year}〕\\d+号）`));
    expect(await office.textContent("#case-notices")).to.contain("督办通知").and.contain(`督办〔${year}〕`);
    await office.screenshot({ path: `${SHOTS}/manual-notice-1440.png`, fullPage: true });
    const unit = await as("lead");
    await unit.goto(`${base}/notices?level=supervision`);
    expect(await unit.textContent("#notice-list")).to.contain(`督办〔${year}〕`);
    expect(problems).to.deep.equal([]);
  });

  it("lets a liaison sign, report progress with a camera photo and submit reusing it, one-handed on a 390×844 phone", async () => {
    const c = await w.service.createCase(newInspection(71), w.office);
    const id = c._id.toString();
    await w.service.applyEvent(id, { type: "ASSIGN", payload: { leadUnitId: w.units.lead, deadline: future(30) } }, w.office);
    const page = await as("lead", PHONE);
    await noSidewaysScroll(page, "首页");
    // The navigation is folded behind 菜单.
    expect(await page.isVisible('nav[aria-label="主导航"]')).to.equal(false);
    await page.click("label.nav-button");
    expect(await page.isVisible('nav[aria-label="主导航"]')).to.equal(true);
    await page.screenshot({ path: `${SHOTS}/liaison-menu-390.png` });
    await submit(page, 'nav[aria-label="主导航"] a[href="/cases"]');
    await noSidewaysScroll(page, "台账");
    await submit(page, `a[href="/cases/${id}"] >> nth=0`);
    await noSidewaysScroll(page, "案件");
    const signBox = await page.locator('#action-SIGN button[type="submit"]').boundingBox();
    expect(signBox!.height, "a thumb-sized button").to.be.at.least(44);
    await submit(page, '#action-SIGN button[type="submit"]');
    expect(await page.textContent("#case-state")).to.contain("整改中");
    // The camera input: image/* with capture, beside the ordinary file picker.
    expect(await page.getAttribute("#REPORT_PROGRESS-attachmentIds-camera", "accept")).to.equal("image/*");
    expect(await page.getAttribute("#REPORT_PROGRESS-attachmentIds-camera", "capture")).to.equal("environment");
    await page.fill("#REPORT_PROGRESS-percent", "60");
    await page.fill("#REPORT_PROGRESS-text", "已完成6台锅炉替代");
    await page.setInputFiles("#REPORT_PROGRESS-attachmentIds-camera", { name: "IMG_0001.png", mimeType: "image/png", buffer: PNG });
    expect(await page.textContent("#action-REPORT_PROGRESS .picked")).to.contain("IMG_0001.png");
    await page.screenshot({ path: `${SHOTS}/liaison-report-390.png`, fullPage: true });
    await submit(page, '#action-REPORT_PROGRESS button[type="submit"]');
    await noSidewaysScroll(page, "案件（报送后）");
    expect(await page.textContent(".timeline")).to.contain("进度 60%");
    // 申请销号 chooses the photo already uploaded instead of uploading it again.
    await page.fill("#SUBMIT-summary", "全部完成");
    await page.check('#action-SUBMIT input[name="existingAttachmentIds"]');
    await submit(page, '#action-SUBMIT button[type="submit"]');
    expect(await page.textContent("#case-state")).to.contain("销号审核");
    await page.screenshot({ path: `${SHOTS}/liaison-submitted-390.png`, fullPage: true });
    await noSidewaysScroll(page, "案件（申请销号后）");
    expect(problems).to.deep.equal([]);
  });

  it("every page: no serious or critical axe-core finding and no sideways scroll, at 1440 and 390 wide (screenshots of each)", async () => {
    const a = await w.service.createCase(newInspection(81), w.office);
    const aid = a._id.toString();
    await w.service.applyEvent(aid, { type: "ASSIGN", payload: { leadUnitId: w.units.lead, deadline: future(30) } }, w.office);
    await w.service.applyEvent(aid, { type: "SIGN" }, w.lead);
    await w.service.applyEvent(aid, { type: "REPORT_PROGRESS", payload: { percent: 40, text: "进展过半" } }, w.lead);
    // Issued on the case as it stands now (held by the unit), so the notice is in the unit's inbox.
    const notice = await issueByHand((await Case.findById(aid).lean()) as never, { level: "supervision", requirement: "请加快整改" }, w.office, w.clock);
    const cpl = await w.service.createCase(newComplaint(), w.office);
    const pages: Record<string, [string, string][]> = {
      staff: [
        ["dashboard-office", "/"],
        ["ledger", "/cases"],
        ["register-inspection", "/cases/new/inspection"],
        ["register-complaint", "/cases/new/complaint"],
        ["import", "/cases/import"],
        ["case-office", `/cases/${aid}`],
        ["complaint-office", `/cases/${cpl._id.toString()}`],
        ["notices-office", "/notices"],
        ["scorecard-office", "/scorecard"],
        ["bulletin-office", "/bulletin"],
        ["bulletin-trace-office", "/bulletin/trace?figure=held&unit=-"],
        ["not-found", "/no-such-page"],
      ],
      lead: [
        ["dashboard-unit", "/"],
        ["ledger-unit", "/cases"],
        ["case-unit", `/cases/${aid}`],
        ["notices-unit", "/notices"],
        ["scorecard-unit", "/scorecard"],
        ["bulletin-unit", "/bulletin"],
      ],
      leader: [["dashboard-leader", "/"]],
      admin: [
        ["admin", "/admin"],
        ["admin-units", "/admin/units"],
        ["admin-users", "/admin/users"],
        ["admin-channels", "/admin/channels"],
        ["admin-channels-unit", `/admin/channels/${w.units.lead}`],
        ["admin-rules", "/admin/rules"],
        ["admin-texts", "/admin/texts"],
        ["admin-settings", "/admin/settings"],
        ["admin-holidays", "/admin/holidays"],
        ["admin-queues", "/admin/queues"],
        ["api-docs", "/api-docs"],
      ],
    };
    const findings: string[] = [];
    for (const [label, viewport] of [["1440", DESK], ["390", PHONE]] as const) {
      const login = await h.anonymous({ viewport, bypassCSP: true });
      await login.goto(`${base}/login`);
      for (const f of await axe(login)) findings.push(`login@${label} ${f}`);
      await login.screenshot({ path: `${SHOTS}/login-${label}.png`, fullPage: true });
      for (const [who, list] of Object.entries(pages)) {
        const page = await as(who, viewport);
        for (const [name, url] of list) {
          await page.goto(`${base}${url}`);
          if (name === "api-docs") await page.waitForSelector(".swagger-ui .opblock", { timeout: 20_000 });
          if (name.startsWith("dashboard")) await page.waitForSelector("#chart-trend canvas", { timeout: 20_000 });
          for (const f of await axe(page)) findings.push(`${name}@${label} ${f}`);
          if (name !== "api-docs") await noSidewaysScroll(page, `${name}@${label}`);
          for (const cut of await cutSelects(page)) findings.push(`${name}@${label} select text cut off: ${cut}`);
          await page.screenshot({ path: `${SHOTS}/${name}-${label}.png`, fullPage: true });
        }
      }
      const unit = await as("lead", viewport);
      expect((await unit.goto(`${base}/notices/${notice._id}/print`))!.status()).to.equal(200);
      await noSidewaysScroll(unit, `supervision-notice@${label}`);
      // On screen: 打印 (script on) and 返回 to the case; the seal's place shown.
      expect(await unit.locator("button[data-print]").isVisible()).to.equal(true);
      expect(await unit.locator(".toolbar a").getAttribute("href")).to.match(/^\/cases\/[0-9a-f]{24}$/);
      expect(await unit.locator(".notice .seal").isVisible()).to.equal(true);
      await unit.screenshot({ path: `${SHOTS}/supervision-notice-${label}.png`, fullPage: true });
      // Printed: neither the bar nor the seal outline.
      await unit.emulateMedia({ media: "print" });
      expect(await unit.locator(".toolbar").isVisible()).to.equal(false);
      expect(await unit.locator(".notice .seal").isVisible()).to.equal(false);
      await unit.emulateMedia({ media: "screen" });
    }
    expect(findings).to.deep.equal([]);
    expect(problems.filter((p) => !p.includes("404"))).to.deep.equal([]);
  });
});
