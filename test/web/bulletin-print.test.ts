/**
 * The issued 通报 printed by chromium (A4, @media print): the header carries the 期号, the issuing office
 * and the date, and a city's worth of units fits its pages without a stray last page.
 */
import { writeFile } from "node:fs/promises";
import { expect } from "chai";
import type { Actor } from "../../workflows/index.ts";
import { createUnit } from "../../src/directory.ts";
import { issueBulletin } from "../../src/notices/bulletins.ts";
import { NoticeSweeper } from "../../src/notices/sweep.ts";
import { newInspection } from "../support/fixtures.ts";
import { DESK, PHONE, SHOTS, browserHarness } from "../support/browser.ts";

/** Pages in a PDF chromium wrote (each page object is `/Type /Page`; the tree's root is `/Type /Pages`). */
const pagesOf = (pdf: Buffer) => (pdf.toString("latin1").match(/\/Type\s*\/Page\b/g) ?? []).length;

const UNITS = ["市发展改革委", "市工业和信息化局", "市自然资源局", "市城管局", "市交通运输局", "乙区人民政府", "丙县人民政府", "市商务局", "市农业农村局", "市卫生健康委", "市公安局", "甲区人民政府"];

describe("the printed 通报", function () {
  this.timeout(120_000);
  const h = browserHarness(() => "2026-03-02T09:00:00+08:00");

  /** `extra` more units beside the world's three, each with a case late at April's end; April issued on May 6. */
  async function issued(extra: number): Promise<string> {
    const w = h.w;
    const units = [w.units.lead, w.units.co, w.units.other];
    for (const name of UNITS.slice(0, extra)) units.push((await createUnit({ name }))._id.toString());
    let n = 0;
    for (const unitId of units) {
      const liaison: Actor = { id: `liaison-${unitId}`, name: "联络员", role: "unit_user", unitId };
      for (let k = 0; k < 2; k++) {
        let c = await w.service.createCase(newInspection(++n), w.office);
        c = (await w.service.applyEvent(c._id.toString(), { type: "ASSIGN", payload: { leadUnitId: unitId, coUnitIds: [], deadline: k ? "2026-04-20" : "2026-04-28" } }, w.office)).case;
        await w.service.applyEvent(c._id.toString(), { type: "SIGN", payload: {} }, liaison);
      }
    }
    const sweeper = new NoticeSweeper(w.service, w.clock);
    for (const day of ["2026-04-21", "2026-04-29"]) {
      w.clock.set(`${day}T08:00:00+08:00`);
      await sweeper.sweep();
    }
    w.clock.set("2026-05-06T10:00:00+08:00");
    return (await issueBulletin({ month: "2026-04" }, w.office, w.clock.now())).id;
  }

  for (const [extra, label] of [
    [0, "three units"],
    [12, "fifteen units (the demo's city)"],
  ] as const) {
    it(`on A4 with ${label}: one page, headed by the 期号, the office and the date`, async () => {
      const id = await issued(extra);
      const { page } = await h.as("staff", { viewport: DESK });
      await page.goto(`${h.base}/bulletin?issue=${id}`);
      expect(await page.locator(".masthead").textContent()).to.match(/市生态环境保护督察整改工作领导小组办公室\s+2026年第1期\s+2026年5月6日/);
      await page.screenshot({ path: `${SHOTS}/bulletin-issued-${extra + 3}-desk.png`, fullPage: true });
      const pdf = await page.pdf({ preferCSSPageSize: true });
      await writeFile(`${SHOTS}/bulletin-issued-${extra + 3}.pdf`, pdf);
      expect(pagesOf(pdf), "pages of the printed bulletin").to.equal(1);
      const phone = await h.as("staff", { viewport: PHONE });
      await phone.page.goto(`${h.base}/bulletin?issue=${id}`);
      await phone.page.screenshot({ path: `${SHOTS}/bulletin-issued-${extra + 3}-phone.png`, fullPage: true });
      if (!extra) {
        // The office's draft of the same month, with its 发布更正 form opened.
        await page.goto(`${h.base}/bulletin?month=2026-04&draft=true`);
        await page.click(".issue-form summary");
        await page.screenshot({ path: `${SHOTS}/bulletin-draft-desk.png`, fullPage: true });
        await phone.page.goto(`${h.base}/bulletin?month=2026-04&draft=true`);
        await phone.page.click(".issue-form summary");
        await phone.page.screenshot({ path: `${SHOTS}/bulletin-draft-phone.png`, fullPage: true });
      }
      expect(h.problems).to.deep.equal([]);
    });
  }
});
