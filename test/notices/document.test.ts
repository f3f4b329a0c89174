/**
 * The 督办通知 printed as a 公文: rendered to PDF by chromium (as a browser prints it), read back with
 * poppler (pdfinfo, pdftotext per page, pdftoppm): the notice on one A4 page, its 回执 alone on the
 * next, nothing fetched while printing. Page 1 is kept as a PNG in test-artifacts/.
 */
import { execFile } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { promisify } from "node:util";
import { expect } from "chai";
import type { Browser } from "playwright-core";
import { addCalendarDays, startOfDay, type Actor } from "../../workflows/index.ts";
import { WorkCalendar } from "../../src/calendar/workdays.ts";
import { acknowledge } from "../../src/notices/inbox.ts";
import { issueByHand, type NoticeRecord } from "../../src/notices/issuer.ts";
import { renderNoticeDocument } from "../../src/notices/render.ts";
import { updateSettings } from "../../src/notices/settings.ts";
import { NoticeSweeper } from "../../src/notices/sweep.ts";
import { launchChromium } from "../support/browser.ts";
import { makeWorld, newInspection, type World } from "../support/fixtures.ts";

const run = promisify(execFile);
const ARTIFACTS = "test-artifacts";
const cal = new WorkCalendar();
const admin: Actor = { id: "admin-1", name: "管理员", role: "office_admin", unitId: null };
const squeeze = (s: string) => s.replace(/\s+/g, "");

describe("the 督办通知 as a 公文 on one A4 page", function () {
  this.timeout(120_000);
  let browser: Browser;
  let w: World;

  before(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    w = await makeWorld("2026-03-02T09:00:00+08:00");
    await updateSettings(
      { issuerMark: "市生态环境保护督察整改工作领导小组办公室", signer: "市生态环境保护督察整改工作领导小组办公室", contactName: "王敏", contactPhone: "0371-67891234", cc: "分管副市长，市委督查室，市政府督查室", verificationTerm: "现场核查" },
      admin,
    );
  });

  /** Prints the HTML as chromium does (A4 from the page's own @page rule); the PDF's path and the requests made. */
  async function print(html: string, name: string): Promise<{ path: string; requests: string[] }> {
    const page = await browser.newPage();
    const requests: string[] = [];
    page.on("request", (r) => requests.push(r.url()));
    await page.setContent(html, { waitUntil: "load" });
    await page.evaluate(() => document.fonts.ready);
    const path = `${ARTIFACTS}/${name}.pdf`;
    await page.pdf({ path, preferCSSPageSize: true, printBackground: true });
    await page.close();
    return { path, requests };
  }
  const pageCount = async (pdf: string) => Number(/Pages:\s+(\d+)/.exec((await run("pdfinfo", [pdf])).stdout)![1]);
  const pageSize = async (pdf: string) => /Page size:\s+([\d.]+) x ([\d.]+) pts/.exec((await run("pdfinfo", [pdf])).stdout)!.slice(1).map(Number);
  const textOn = async (pdf: string, n: number) => squeeze((await run("pdftotext", ["-f", String(n), "-l", String(n), pdf, "-"])).stdout);

  /** An item already five working days late when the sweep sees it: the ladder's 督办通知, numbered. */
  async function supervisionNotice(): Promise<NoticeRecord> {
    const c = await w.service.createCase({ ...newInspection(), title: "城区部分燃煤锅炉淘汰不彻底，仍有12台10蒸吨以下燃煤锅炉在用" }, w.office);
    await w.service.applyEvent(c._id.toString(), { type: "ASSIGN", payload: { leadUnitId: w.units.lead, coUnitIds: [w.units.co], deadline: "2026-04-29" } }, w.office);
    w.clock.set(startOfDay(addCalendarDays(cal.addWorkdays("2026-04-29", 5), 1)));
    const r = await new NoticeSweeper(w.service, w.clock).sweep();
    const n = r.issued.find((x) => x.level === "supervision");
    expect(n, JSON.stringify(r.issued.map((x) => x.level))).to.not.equal(undefined);
    return n!;
  }

  it("puts the whole notice on page 1 and the 回执 alone on page 2, with fonts from the machine; keeps the PNG of page 1", async () => {
    const n = await supervisionNotice();
    const doc = n.document!;
    const { path, requests } = await print(await renderNoticeDocument(n), "supervision-notice");
    expect(requests.filter((u) => !u.startsWith("data:") && u !== "about:blank"), "fetched while printing").to.deep.equal([]);
    expect(await pageCount(path)).to.equal(2);
    const [wPt, hPt] = await pageSize(path);
    expect(Math.round(wPt!)).to.equal(595);
    expect(Math.round(hPt!)).to.equal(842);

    const first = await textOn(path, 1);
    const second = await textOn(path, 2);
    const body = [doc.sender.issuerMark, n.number!, doc.title, `${doc.to}：`, ...doc.paragraphs, doc.sender.signer, "联系人：王敏", "联系电话：0371-67891234", "抄送：分管副市长"];
    for (const part of body) expect(first, part).to.contain(squeeze(part));
    expect(first).to.not.contain("盖章");
    // Page 2 is the 回执 only: no sentence of the notice's body falls there.
    expect(second).to.contain("回执").and.contain(n.number!).and.contain("收文单位");
    for (const p of doc.paragraphs) expect(second, `page 2 holds body text: ${p}`).to.not.contain(squeeze(p).slice(0, 12));
    expect(second).to.not.contain("现予以督办");

    // Without its 回执 the notice is one page.
    const alone = await print(await renderNoticeDocument(n, { receipt: false }), "supervision-notice-alone");
    expect(await pageCount(alone.path)).to.equal(1);
    await run("pdftoppm", ["-f", "1", "-l", "1", "-r", "90", "-png", "-singlefile", path, `${ARTIFACTS}/supervision-notice-page1`]);
  });

  it("a long 督办要求 written by hand still fits the notice on one page", async () => {
    const c = await w.service.createCase({ ...newInspection(2), title: "部分工业园区污水集中处理设施建设滞后，园区企业废水未经有效处理直接排入城市管网" }, w.office);
    const assigned = (await w.service.applyEvent(c._id.toString(), { type: "ASSIGN", payload: { leadUnitId: w.units.lead, coUnitIds: [], deadline: "2026-04-29" } }, w.office)).case;
    w.clock.set("2026-05-20T10:00:00+08:00");
    const requirement =
      "一、立即组织对园区内全部涉水企业开展排查，逐户建立台账，对未经预处理直接排放的企业依法责令停产整治；二、加快园区污水集中处理设施及配套管网建设，倒排工期，明确每一阶段的完成时限和责任人；三、每周五前向整改办书面报送工作进展，并附现场照片、监测报告等佐证材料。";
    const n = await issueByHand(assigned, { level: "supervision", requirement }, w.office, w.clock);
    const { path } = await print(await renderNoticeDocument(n, { receipt: false }), "supervision-notice-long");
    expect(await pageCount(path)).to.equal(1);
    const first = await textOn(path, 1);
    for (const part of [...n.document!.paragraphs, n.document!.sender.signer, "联系人：王敏"]) expect(first, part).to.contain(squeeze(part));
  });

  it("the in-app 签收 marks the 回执 received", async () => {
    const n = await supervisionNotice();
    const before = await print(await renderNoticeDocument(n), "supervision-receipt-before");
    expect(await textOn(before.path, 2)).to.contain("签收人：").and.not.contain("在系统中签收（");
    const signed = await acknowledge(n._id, w.lead, w.clock);
    const after = await print(await renderNoticeDocument(signed), "supervision-receipt-signed");
    expect(await textOn(after.path, 2)).to.contain(squeeze(`已于${new Date(signed.ackAt!).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false })}在系统中签收`));
  });
});
