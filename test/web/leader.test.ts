/**
 * The leader's desk in a real browser: the leader's home (overdue and escalated cases by unit, 约谈/通报
 * marked), a 批示 written on a notice from the notice list, the office's 首页 listing it under 待落实批示 and
 * recording its 落实, the unit's inbox telling it, and the leader seeing the 落实 on the case and at home.
 * Screenshots at desk and phone width land in /tmp/shots-leader/.
 */
import { mkdir } from "node:fs/promises";
import { expect } from "chai";
import type { Page } from "playwright-core";
import { Case } from "../../src/db/models.ts";
import { issueByHand } from "../../src/notices/issuer.ts";
import { newInspection } from "../support/fixtures.ts";
import { DESK, PHONE, browserHarness } from "../support/browser.ts";

const SHOTS = "/tmp/shots-leader";
const future = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

describe("the leader's desk and 批示 in a browser", function () {
  this.timeout(180_000);
  const h = browserHarness();
  const as = async (username: string, viewport = DESK) => (await h.as(username, { viewport, ignore: /status of 4\d\d/ })).page;
  const submit = (page: Page, selector: string) => Promise.all([page.waitForNavigation(), page.click(selector)]);
  const shoot = async (page: Page, name: string) => page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
  const noSidewaysScroll = async (page: Page, where: string) => {
    const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
    expect(scroll, `${where}: the page scrolls sideways at ${width} px`).to.be.at.most(width);
  };

  it("a leader writes a 批示 on a 约谈/通报; the office sees it on 首页 and records 落实; the unit is told; the leader sees the 落实", async () => {
    await mkdir(SHOTS, { recursive: true });
    const w = h.w;
    const c = await w.service.createCase(newInspection(3), w.office);
    const id = c._id.toString();
    await w.service.applyEvent(id, { type: "ASSIGN", payload: { leadUnitId: w.units.lead, deadline: future(30) } }, w.office);
    await w.service.applyEvent(id, { type: "SIGN" }, w.lead);
    const notice = await issueByHand((await Case.findById(id).lean())!, { level: "escalation", requirement: "整改严重滞后，提请约谈" }, w.office, w.clock);

    // The leader's home: the case under its unit, marked 约谈/通报.
    for (const [viewport, tag] of [[DESK, "1440"], [PHONE, "390"]] as const) {
      const home = await as("leader", viewport);
      const desk = await home.textContent("#leader-desk");
      expect(desk).to.contain("市生态环境局").and.contain("约谈/通报").and.contain(c.ledgerNumber);
      expect(await home.locator("#leader-desk tr.escalated").count()).to.equal(1);
      expect(await home.locator("#work-lists").count(), "the leader gets no office work list").to.equal(0);
      await noSidewaysScroll(home, `leader home ${tag}`);
      await shoot(home, `leader-home-${tag}`);
    }

    // From the notice list, 批示 on the 约谈/通报: the case page opens with the form naming the notice.
    const leader = await as("leader");
    await leader.goto(`${h.base}/notices`);
    await Promise.all([leader.waitForNavigation(), leader.click(`a[href="/cases/${id}?notice=${notice._id}#action-INSTRUCT"]`)]);
    expect(await leader.textContent("#action-INSTRUCT")).to.contain("针对通知：约谈/通报");
    expect(await leader.locator("#action-SUBMIT, #manual-notice").count()).to.equal(0);
    // Nothing typed: refused in Chinese, nothing written.
    await submit(leader, "#action-INSTRUCT button[type=submit]");
    expect(await leader.textContent("#action-INSTRUCT .error")).to.contain("请填写批示内容");
    await leader.fill("#instruct-text", "请于本周内约谈单位主要负责人，月底前完成淘汰");
    for (const [viewport, tag] of [[DESK, "1440"], [PHONE, "390"]] as const) {
      await leader.setViewportSize(viewport);
      await shoot(leader, `case-instruct-form-${tag}`);
    }
    await leader.setViewportSize(DESK);
    await submit(leader, "#action-INSTRUCT button[type=submit]");
    expect(await leader.textContent("#flash")).to.contain("已领导批示");
    expect(await leader.textContent("#instruction-1")).to.contain("待落实").and.contain("约谈/通报");

    // The office: 首页 lists it under 待落实批示 with the 批示's text; the case page takes the 落实.
    for (const [viewport, tag] of [[DESK, "1440"], [PHONE, "390"]] as const) {
      const office = await as("staff", viewport);
      expect(await office.textContent("#count-instruction")).to.contain("1");
      const row = office.locator('table[data-group="instruction"] tbody tr');
      expect(await row.count()).to.equal(1);
      expect(await row.textContent()).to.contain("请于本周内约谈单位主要负责人");
      expect(await office.locator("#office-queue").count(), "one office list, not two").to.equal(0);
      await noSidewaysScroll(office, `office 首页 ${tag}`);
      await shoot(office, `office-home-${tag}`);
    }
    const office = await as("staff");
    await office.goto(`${h.base}/cases/${id}`);
    await office.fill("#carry-text-1", "已于本周约谈生态环境局主要负责人，单位承诺月底前完成");
    await submit(office, "#carry-out-1 button[type=submit]");
    expect(await office.textContent("#instruction-1")).to.contain("已落实").and.contain("单位承诺月底前完成");
    await office.goto(`${h.base}/`);
    expect(await office.locator('table[data-group="instruction"]').count()).to.equal(0);

    // The unit: the 批示 in its inbox, with its words.
    const unit = await as("lead", PHONE);
    await unit.goto(`${h.base}/notices`);
    expect(await unit.textContent("main")).to.contain("领导批示");
    expect(await unit.locator("#action-INSTRUCT, [id^=carry-out]").count()).to.equal(0);
    await unit.goto(`${h.base}/cases/${id}`);
    expect(await unit.locator("#action-INSTRUCT, [id^=carry-out]").count(), "a unit neither instructs nor records 落实").to.equal(0);

    // The leader: the 落实 on the case page and at home.
    await leader.goto(`${h.base}/cases/${id}`);
    expect(await leader.textContent("#instruction-1")).to.contain("已于本周约谈生态环境局主要负责人");
    await leader.goto(`${h.base}/`);
    expect(await leader.textContent("#leader-done")).to.contain("单位承诺月底前完成");
    expect(h.problems).to.deep.equal([]);
  });
});
