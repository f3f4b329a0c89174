/**
 * What the pages show, read as HTML from the real app (supertest): the defects of issue 13, each
 * as the behaviour that is right now. The browser tests (office.test.ts) cover what needs layout.
 */
import { expect } from "chai";
import { readFileSync, readdirSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { Case, CaseSchedule } from "../../src/db/models.ts";
import { createUnit } from "../../src/directory.ts";
import { issueByHand } from "../../src/notices/issuer.ts";
import { fileSize } from "../../src/http/pages/render.ts";
import { PNG, checked, evidence, newComplaint, newInspection, refusal, visited, type World } from "../support/fixtures.ts";
import { useApp, type Client } from "../support/app.ts";
import { PASSWORD } from "../support/http.ts";
import { csv, demoUnits, stressRows } from "../io/support.ts";

/** The visible text of an HTML page (tags dropped, entities as they stand). */
const textOf = (html: string) => html.replace(/<script[\s\S]*?<\/script>/g, " ").replace(/<[^>]*>/g, " ").replace(/\s+/g, " ");

describe("pages: what the office and the units see", function () {
  this.timeout(60_000);
  const t = useApp({ start: "2026-03-02T09:00:00+08:00", users: ["staff", "lead"] });
  let w: World;
  let staff: Client;
  let lead: Client;
  beforeEach(() => {
    ({ w, as: { staff, lead } } = t);
  });

  const page = async (who: Client, url: string, status = 200) => {
    const res = await who.agent.get(url);
    expect(res.status, url).to.equal(status);
    return res.text;
  };
  const assigned = async (n: number, deadline: string | undefined = "2026-06-30") => {
    const c = await w.service.createCase(newInspection(n), w.office);
    const id = c._id.toString();
    await w.service.applyEvent(id, { type: "ASSIGN", payload: { leadUnitId: w.units.lead, ...(deadline ? { deadline } : {}) } }, w.office);
    return id;
  };

  describe("a year without its holidays", () => {
    it("is the admin's to fix: a banner with the action on every page for the admin, the case's 期限提示 for the office, nothing for the unit", async () => {
      // 2026-12: next year's holidays are neither shipped nor entered.
      w.clock.set(new Date("2026-12-07T09:00:00+08:00"));
      const id = await assigned(3, "2027-03-31");
      await CaseSchedule.updateOne({ _id: id }, { $set: { problem: "2027 年的法定节假日安排尚未收录，无法按工作日计算期限" } }, { upsert: true });
      const admin = await t.signIn("admin");
      for (const url of ["/", "/cases", `/cases/${id}`]) {
        const html = await page(admin, url);
        expect(html, url).to.match(/id="calendar-gaps"[^>]*>2027 年的法定节假日安排尚未收录[^<]*<a href="\/admin\/holidays">/);
      }
      const office = await page(staff, `/cases/${id}`);
      expect(office).to.not.contain("calendar-gaps");
      expect(textOf(office)).to.contain("期限提示 2027 年的法定节假日安排尚未收录");
      const unit = await page(lead, `/cases/${id}`);
      expect(unit).to.not.contain("calendar-gaps").and.not.contain("期限提示").and.not.contain("尚未收录");
      expect(await page(lead, "/")).to.not.contain("尚未收录");
    });
  });

  describe("the case page", () => {
    it("shows each progress report's percent in the timeline (not “进度 —%”)", async () => {
      const id = await assigned(1);
      await w.service.applyEvent(id, { type: "SIGN" }, w.lead);
      await w.service.applyEvent(id, { type: "REPORT_PROGRESS", payload: { percent: 60, text: "六成" } }, w.lead);
      const html = await page(staff, `/cases/${id}`);
      expect(textOf(html)).to.contain("进度 60%").and.not.contain("—%");
    });

    it("shows progress only while an inspection item is rectified or checked: not once closed, never for a complaint", async () => {
      const id = await assigned(2);
      await w.service.applyEvent(id, { type: "SIGN" }, w.lead);
      await w.service.applyEvent(id, { type: "REPORT_PROGRESS", payload: { percent: 60, text: "六成" } }, w.lead);
      expect(await page(staff, `/cases/${id}`)).to.contain('id="case-progress">60%');
      await w.service.applyEvent(id, { type: "SUBMIT", payload: { summary: "完成", attachmentIds: [await evidence(id, w.lead)] } }, w.lead);
      await w.service.applyEvent(id, { type: "PASS", payload: await checked(w, id, { publicityDays: 0 }) }, w.office);
      const closed = await page(staff, `/cases/${id}`);
      expect(closed).to.not.contain('id="case-progress"');
      const ledger = textOf(await page(staff, "/cases?kind=inspection"));
      expect(ledger).to.not.contain("60%");

      const c = await w.service.createCase(newComplaint(), w.office);
      const cid = c._id.toString();
      await w.service.applyEvent(cid, { type: "ACCEPT" }, w.office);
      await w.service.applyEvent(cid, { type: "ASSIGN", payload: { leadUnitId: w.units.lead, deadline: "2026-04-15" } }, w.office);
      const unitView = await page(lead, `/cases/${cid}`);
      expect(unitView).to.contain('id="action-REPORT_PROGRESS"').and.not.contain("整改进度").and.not.contain("REPORT_PROGRESS-percent");
      // The unit reports a complaint's progress in words; a percent sent anyway is dropped.
      await lead.agent.post(`/cases/${cid}/actions/REPORT_PROGRESS`).type("form").send({ _csrf: lead.csrf, text: "已现场核查" }).expect(303);
      expect(textOf(await page(staff, `/cases/${cid}`))).to.contain("已现场核查").and.not.contain("整改进度");
    });

    it("shows the 公示 end date, the date a unit asked to extend to, and the default 公示天数 in the field", async () => {
      const id = await assigned(3);
      await w.service.applyEvent(id, { type: "SIGN" }, w.lead);
      await w.service.applyEvent(id, { type: "REQUEST_EXTENSION", payload: { deadline: "2026-08-31", reason: "汛期施工受阻" } }, w.lead);
      const pending = textOf(await page(staff, `/cases/${id}`));
      expect(pending).to.contain("申请延期至 2026-08-31").and.contain("汛期施工受阻");
      await w.service.applyEvent(id, { type: "APPROVE_EXTENSION" }, w.office);
      // The history says what was asked and what was granted.
      expect(textOf(await page(staff, `/cases/${id}`))).to.contain("申请延期至 2026-08-31").and.contain("时限延至 2026-08-31");
      await w.service.applyEvent(id, { type: "SUBMIT", payload: { summary: "完成", attachmentIds: [await evidence(id, w.lead)] } }, w.lead);
      const verifying = await page(staff, `/cases/${id}`);
      expect(verifying).to.match(/id="PASS-publicityDays" name="publicityDays" value="5"/);
      await w.service.applyEvent(id, { type: "PASS", payload: await checked(w, id) }, w.office);
      // 2026-03-02 (Mon) + 5 working days → 2026-03-09.
      expect(textOf(await page(staff, `/cases/${id}`))).to.contain("2026-03-02 起，至 2026-03-09（5 个工作日）");
    });

    it("labels a requested date 申请延期至 in the history, not as a granted 时限; while it is pending the unit is told why it cannot 申请销号 and may withdraw the request", async () => {
      const id = await assigned(5);
      await w.service.applyEvent(id, { type: "SIGN" }, w.lead);
      await w.service.applyEvent(id, { type: "REQUEST_EXTENSION", payload: { deadline: "2027-05-31", reason: "汛期施工受阻" } }, w.lead);
      const pending = await page(lead, `/cases/${id}`);
      expect(pending).to.contain("<div>申请延期至 2027-05-31</div>").and.not.contain("<div>时限 2027-05-31</div>");
      expect(pending).to.contain('id="blocked-SUBMIT"').and.contain("延期申请尚待整改办审批，不能申请销号；如已办结，请先撤回延期申请");
      expect(pending).to.contain('id="action-WITHDRAW_EXTENSION"').and.not.contain('id="action-SUBMIT"');
      // A 申请销号 posted anyway (another tab) is refused and writes nothing.
      const photo = await evidence(id, w.lead);
      const refused = await lead.agent.post(`/cases/${id}/actions/SUBMIT`).type("form").send({ _csrf: lead.csrf, summary: "已完成", existingAttachmentIds: photo });
      expect(refused.status).to.equal(409);
      expect((await Case.findById(id).lean())!.state).to.equal("rectifying.extensionPending");
      await lead.agent.post(`/cases/${id}/actions/WITHDRAW_EXTENSION`).type("form").send({ _csrf: lead.csrf, note: "改为申请销号" }).expect(303);
      const withdrawn = await page(lead, `/cases/${id}`);
      expect(textOf(withdrawn)).to.contain("撤回延期申请");
      expect(withdrawn).to.contain('id="action-SUBMIT"').and.not.contain('id="blocked-SUBMIT"');
    });

    it("names each evidence file with the step that brought it, so two files of one name read apart", async () => {
      const id = await assigned(8);
      await w.service.applyEvent(id, { type: "SIGN" }, w.lead);
      await w.service.applyEvent(id, { type: "REPORT_PROGRESS", payload: { percent: 50, text: "半数完成", attachmentIds: [await evidence(id, w.lead, "after.png")] } }, w.lead);
      w.clock.advanceDays(1);
      await w.service.applyEvent(id, { type: "SUBMIT", payload: { summary: "完成", attachmentIds: [await evidence(id, w.lead, "after.png")] } }, w.lead);
      const files = textOf((await page(staff, `/cases/${id}`)).match(/<ul id="case-files">[\s\S]*?<\/ul>/)![0]);
      expect(files).to.contain("after.png 报送进展 2026-03-02").and.contain("after.png 申请销号 2026-03-03");
    });

    it("a form sent from an older page (a second tab) says what happened since and keeps what was typed", async () => {
      const id = await assigned(7);
      await w.service.applyEvent(id, { type: "SIGN" }, w.lead);
      await w.service.applyEvent(id, { type: "SUBMIT", payload: { summary: "完成", attachmentIds: [await evidence(id, w.lead)] } }, w.lead);
      const seen = (await Case.findById(id).lean())!.version;
      // Tab 1 passes the item; tab 2, opened before, sends its 退回 with a reason typed meanwhile.
      await w.service.applyEvent(id, { type: "PASS", payload: await checked(w, id, { publicityDays: 5 }) }, w.office);
      const gone = await staff.agent.post(`/cases/${id}/actions/REJECT`).type("form").send({ _csrf: staff.csrf, expectedVersion: String(seen), reason: "东侧围挡仍未完成，请补充照片" });
      expect(gone.status).to.equal(409);
      const note = textOf(gone.text.slice(gone.text.indexOf('id="stale"'), gone.text.indexOf("</div>", gone.text.indexOf('id="stale"'))));
      expect(note).to.contain("退回”没有执行").and.contain("审核通过").and.contain("不能再“退回”").and.contain("东侧围挡仍未完成，请补充照片");
      expect((await Case.findById(id).lean())!.state).to.equal("publicizing");
      // Still open after the other tab's act: the typed text is back in its form, sent at the new version.
      await w.service.applyEvent(id, { type: "OBJECTION", payload: { reason: "群众反映仍有扬尘" } }, w.office);
      const before = (await Case.findById(id).lean())!.version;
      await w.service.applyEvent(id, { type: "REJECT", payload: { reason: "另一人已退回" } }, w.office);
      await w.service.applyEvent(id, { type: "REPORT_PROGRESS", payload: { percent: 100, text: "补拍照片" } }, w.lead);
      const again = await lead.agent.post(`/cases/${id}/actions/REPORT_PROGRESS`).type("form").send({ _csrf: lead.csrf, expectedVersion: String(before), percent: "100", text: "围挡已完成" });
      expect(again.status).to.equal(409);
      expect(textOf(again.text)).to.contain("保留在下方“报送进展”中");
      expect(again.text).to.match(/id="action-REPORT_PROGRESS"[\s\S]*围挡已完成/);
    });

    it("a case sent back (退回) shows 退回整改 with the reason and date at the top until the unit hands it back again", async () => {
      const id = await assigned(6);
      await w.service.applyEvent(id, { type: "SIGN" }, w.lead);
      const submit = async () => w.service.applyEvent(id, { type: "SUBMIT", payload: { summary: "完成", attachmentIds: [await evidence(id, w.lead)] } }, w.lead);
      await submit();
      expect(await page(lead, `/cases/${id}`)).to.not.contain('id="case-sent-back"');
      await staff.agent.post(`/cases/${id}/actions/REJECT`).type("form").send({ _csrf: staff.csrf, reason: "缺少整改后现场照片" }).expect(303);
      const back = await page(lead, `/cases/${id}`);
      const banner = back.indexOf('id="case-sent-back"');
      expect(banner).to.be.greaterThan(-1);
      expect(banner).to.be.lessThan(back.indexOf("基本情况"));
      expect(textOf(back.slice(banner, back.indexOf("</div></div>", banner)))).to.contain("退回整改").and.contain("2026/3/2").and.contain("缺少整改后现场照片");
      // Reporting progress keeps it; handing the case back again ends it.
      await w.service.applyEvent(id, { type: "REPORT_PROGRESS", payload: { percent: 100, text: "已补拍" } }, w.lead);
      expect(await page(lead, `/cases/${id}`)).to.contain('id="case-sent-back"');
      await submit();
      expect(await page(lead, `/cases/${id}`)).to.not.contain('id="case-sent-back"');
    });

    it("refuses to approve an extension to a date that has passed, and says so on the form", async () => {
      const id = await assigned(4, "2026-03-10");
      await w.service.applyEvent(id, { type: "SIGN" }, w.lead);
      await w.service.applyEvent(id, { type: "REQUEST_EXTENSION", payload: { deadline: "2026-03-20", reason: "设备未到" } }, w.lead);
      w.clock.advanceDays(30);
      const html = textOf(await page(staff, `/cases/${id}`));
      expect(html).to.contain("申请延期至 2026-03-20").and.contain("该日期已过，不能同意");
      const e = await refusal(w.service.applyEvent(id, { type: "APPROVE_EXTENSION" }, w.office));
      expect(e.status).to.equal(422);
      expect(e.message).to.contain("申请延期至的日期已过");
      expect((await Case.findById(id).lean())!.deadline).to.equal("2026-03-10");
    });

    it("shows a complaint's 违法行为 finding, 答复方式 and 满意度", async () => {
      const c = await w.service.createCase(newComplaint(), w.office);
      const id = c._id.toString();
      await w.service.applyEvent(id, { type: "ACCEPT" }, w.office);
      await w.service.applyEvent(id, { type: "ASSIGN", payload: { leadUnitId: w.units.lead, deadline: "2026-04-15" } }, w.office);
      await w.service.applyEvent(id, { type: "SUBMIT_RESULT", payload: { summary: "属实", violationFound: true, measures: "立案处罚" } }, w.lead);
      await w.service.applyEvent(id, { type: "APPROVE" }, w.office);
      await w.service.applyEvent(id, { type: "REPLY", payload: { text: "已处理", channel: "电话" } }, w.office);
      await w.service.applyEvent(id, { type: "CLOSE", payload: visited(w, "基本满意") }, w.office);
      const html = await page(staff, `/cases/${id}`);
      expect(html).to.contain('id="case-violation">是').and.contain('id="case-reply-channel">电话').and.contain('id="case-satisfaction">基本满意');
    });

    it("offers evidence uploaded with a progress report for 申请销号, and gives sizes in KB", async () => {
      const id = await assigned(5);
      await w.service.applyEvent(id, { type: "SIGN" }, w.lead);
      const photo = await evidence(id, w.lead, "现场.png");
      await w.service.applyEvent(id, { type: "REPORT_PROGRESS", payload: { percent: 90, text: "九成", attachmentIds: [photo] } }, w.lead);
      const html = await page(lead, `/cases/${id}`);
      expect(html).to.match(new RegExp(`name="existingAttachmentIds" value="${photo}"`));
      expect(textOf(html)).to.contain(`现场.png 报送进展 2026-03-02 · ${fileSize(PNG.length)}`);
      expect([fileSize(512), fileSize(1536), fileSize(2_500_000)]).to.deep.equal(["512 字节", "1.5 KB", "2.4 MB"]);
      const res = await lead.agent
        .post(`/cases/${id}/actions/SUBMIT?_csrf=${lead.csrf}`)
        .field("_csrf", lead.csrf)
        .field("summary", "全部完成")
        .field("existingAttachmentIds", photo);
      expect(res.status).to.equal(303);
      const c = (await Case.findById(id).lean())!;
      expect(c.state).to.equal("verifying");
    });
  });

  describe("the 台账", () => {
    it("sorts cases without a deadline last when sorting by nearest deadline", async () => {
      await assigned(11, "2026-09-30");
      await w.service.createCase(newInspection(12), w.office);
      await assigned(13, "2026-05-31");
      const html = await page(staff, "/cases?sort=deadline");
      const order = [...html.matchAll(/>(ZY2-1\d)</g)].map((m) => m[1]);
      expect([...new Set(order)]).to.deep.equal(["ZY2-13", "ZY2-11", "ZY2-12"]);
      const api = await staff.agent.get("/api/cases?sort=deadline").expect(200);
      expect(api.body.items.map((c: { ledgerNumber: string }) => c.ledgerNumber)).to.deep.equal(["ZY2-13", "ZY2-11", "ZY2-12"]);
    });

    it("finds a unit's cases by the unit's name, short name or alias", async () => {
      const water = await createUnit({ name: "市城市管理综合执法局", shortName: "城管执法局", aliases: ["城管局"] });
      const c = await w.service.createCase(newInspection(21), w.office);
      await w.service.applyEvent(c._id.toString(), { type: "ASSIGN", payload: { leadUnitId: water._id.toString(), deadline: "2026-06-30" } }, w.office);
      await assigned(22);
      for (const q of ["城市管理综合执法", "城管执法局", "城管局"]) {
        const res = await staff.agent.get(`/api/cases?q=${encodeURIComponent(q)}`).expect(200);
        expect(res.body.items.map((x: { ledgerNumber: string }) => x.ledgerNumber), q).to.deep.equal(["ZY2-21"]);
        expect(textOf(await page(staff, `/cases?q=${encodeURIComponent(q)}`))).to.contain("ZY2-21").and.not.contain("ZY2-22");
      }
      // A unit searching another unit's name finds none of that unit's cases.
      expect((await lead.agent.get(`/api/cases?q=${encodeURIComponent("城管局")}`).expect(200)).body.total).to.equal(0);
    });

    it("shows the last page for a page past it, and refuses an impossible date with a Chinese message", async () => {
      for (let i = 31; i <= 33; i++) await w.service.createCase(newInspection(i), w.office);
      const html = textOf(await page(staff, "/cases?page=999"));
      expect(html).to.contain("第 1 / 1 页").and.contain("ZY2-31");
      // The API answers a page past the last with no items and the true total (a client paging until an empty page stops).
      expect((await staff.agent.get("/api/cases?page=999").expect(200)).body).to.deep.include({ items: [], page: 999, pages: 1, total: 3 });
      const bad = await staff.agent.get("/cases?deadlineFrom=2026-02-30");
      expect(bad.status).to.equal(422);
      expect(textOf(bad.text)).to.contain("参数 deadlineFrom 应为有效日期").and.contain("此条件未生效").and.contain("ZY2-31");
      await staff.agent.get("/api/cases?deadlineTo=2026-13-01").expect(422);
    });
  });

  describe("the 首页", () => {
    it("lists states in lifecycle order, says whose 结案率 it is, and labels months as 10月", async () => {
      const a = await assigned(41);
      await w.service.applyEvent(a, { type: "SIGN" }, w.lead);
      await w.service.createCase(newInspection(42), w.office);
      await assigned(43);
      const html = await page(staff, "/");
      const states = [...html.split('id="by-state"')[1]!.split("</table>")[0]!.matchAll(/<td>督察反馈问题<\/td><td>([^<]+)<\/td>/g)].map((m) => m[1]);
      expect(states).to.deep.equal(["已登记", "已交办", "整改中"]);
      expect(textOf(html)).to.contain("2026 年信访结案率").and.not.match(/\d 结案率/);
      const chart = JSON.parse(/data-chart="([^"]*)"/.exec(html)![1]!.replaceAll("&quot;", '"')) as { months: string[] };
      expect(chart.months).to.have.length(12);
      for (const m of chart.months) expect(m).to.match(/^(\d{1,2}月|\d{4}年1月)$/);
      // ECharts is not a blocking script of the page: the figures show before it loads.
      expect(html).to.not.match(/<script src="\/static\/echarts/);
    });
  });

  describe("the 通知 page and GET /api/notices", () => {
    it("filter by level, state, unit and issue date, page as GET /api/cases does, and sort by severity", async () => {
      const a = await assigned(61);
      const b = await assigned(62);
      const doc = async (id: string) => (await Case.findById(id).lean())!;
      await issueByHand((await doc(a)) as never, { level: "due_reminder", requirement: "请按期完成" }, w.office, w.clock);
      w.clock.advanceDays(3);
      await issueByHand((await doc(a)) as never, { level: "supervision", requirement: "请加快" }, w.office, w.clock);
      await issueByHand((await doc(b)) as never, { level: "red", requirement: "已超期" }, w.office, w.clock);
      const api = async (q: string) => (await staff.agent.get(`/api/notices${q}`).expect(200)).body as { items: { level: string; caseId: string }[]; total: number; page: number; pages: number; pageSize: number };
      expect(await api("?pageSize=2&page=2")).to.deep.include({ total: 3, page: 2, pages: 2, pageSize: 2 });
      // Issue 23: a page past the last is empty (as GET /api/cases), with the true total and pages.
      expect(await api("?pageSize=2&page=9"), "a page past the last is empty").to.deep.include({ items: [], total: 3, page: 9, pages: 2 });
      expect((await api("?sort=-severity")).items.map((n) => n.level)).to.deep.equal(["supervision", "red", "due_reminder"]);
      expect((await api("?level=red")).items.map((n) => n.caseId)).to.deep.equal([b]);
      expect((await api("?from=2026-03-04")).total).to.equal(2);
      expect((await api("?to=2026-03-02")).items.map((n) => n.level)).to.deep.equal(["due_reminder"]);
      expect((await api(`?unit=${w.units.other}`)).total).to.equal(0);
      expect((await api("?state=unacknowledged")).total).to.equal(3);
      await staff.agent.get("/api/notices?from=2026-02-30").expect(422);
      await staff.agent.get("/api/notices?from=2026-03-05&to=2026-03-01").expect(422);
      // The unit's own inbox; its acknowledgement moves the notice out of 未签收.
      const inbox = (await lead.agent.get("/api/notices?state=unacknowledged").expect(200)).body;
      expect(inbox.total).to.equal(3);
      await lead.agent.post("/api/notices/ack").set("X-CSRF-Token", lead.csrf).send({ ids: inbox.items.map((n: { id: string }) => n.id) }).expect(200);
      expect((await lead.agent.get("/api/notices?state=unacknowledged").expect(200)).body.total).to.equal(0);
      const html = await page(staff, "/notices?level=supervision&sort=-severity");
      expect(textOf(html)).to.contain("共 1 件").and.contain("第 1 / 1 页");
      const list = textOf(html.split('id="notice-list"')[1]!.split("</table>")[0]!);
      expect(list).to.contain("督办通知").and.not.contain("红色预警");
    });
  });

  describe("导入问题清单", () => {
    it("streams the preview of a large list: progress lines arrive before the report", async function () {
      this.timeout(120_000);
      await demoUnits();
      const server = t.app.listen(0, "127.0.0.1");
      await new Promise((r) => server.once("listening", r));
      try {
        const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        const login = await fetch(`${base}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "staff", password: PASSWORD }) });
        const cookie = login.headers.get("set-cookie")!.split(";")[0]!;
        const { csrfToken } = (await login.json()) as { csrfToken: string };
        const form = new FormData();
        form.append("_csrf", csrfToken);
        form.append("file", new Blob([csv([...stressRows(3000)])], { type: "text/csv" }), "问题清单.csv");
        const res = await fetch(`${base}/cases/import?_csrf=${csrfToken}`, { method: "POST", headers: { cookie }, body: form });
        expect(res.status).to.equal(200);
        const chunks: string[] = [];
        const decoder = new TextDecoder();
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) chunks.push(decoder.decode(chunk, { stream: true }));
        const firstProgress = chunks.findIndex((c) => c.includes("<progress"));
        const report = chunks.findIndex((c) => c.includes('id="import-report"'));
        expect(firstProgress, "a progress line").to.be.at.least(0);
        expect(firstProgress, "progress comes in its own chunk before the report").to.be.below(report);
        expect(chunks.join("")).to.contain("已读取并检查").and.contain("将新登记 3000 项");
        expect(await Case.countDocuments({})).to.equal(0);
      } finally {
        await new Promise((r) => server.close(r));
      }
    });

    it("refuses the page and the upload to units and leaders, writing nothing", async () => {
      expect(textOf(await page(lead, "/cases/import", 403))).to.contain("只有整改办可以导入问题清单");
      const res = await lead.agent.post(`/cases/import?_csrf=${lead.csrf}`).field("_csrf", lead.csrf).attach("file", Buffer.from("序号\n"), "x.csv");
      expect(res.status).to.equal(403);
      const leader = await t.signIn("leader");
      expect(textOf(await page(leader, "/cases/new/complaint", 403))).to.contain("只有整改办可以登记案件");
      expect(await Case.countDocuments({})).to.equal(0);
    });
  });

  describe("everywhere", () => {
    it("no file under src/http imports a mongoose model (pages and routes ask the query and service modules)", () => {
      const dir = fileURLToPath(new URL("../../src/http/", import.meta.url));
      const offenders = readdirSync(dir, { recursive: true, encoding: "utf8" })
        .filter((f) => f.endsWith(".ts"))
        .filter((f) => /^import (?!type )[^;]*from "[./]*\/db\/models\.ts"/m.test(readFileSync(`${dir}${f}`, "utf8")));
      expect(offenders).to.deep.equal([]);
    });

    it("shows the user's role on the 404 page header, not “王敏（）”", async () => {
      const res = await staff.agent.get("/no-such-page");
      expect(res.status).to.equal(404);
      expect(textOf(res.text)).to.contain("staff（整改办工作人员）").and.not.contain("staff（）");
    });

    it("shows no browser-worded file or date control: files behind 选择文件/拍照上传, dates as text", async () => {
      const id = await assigned(51);
      await w.service.applyEvent(id, { type: "SIGN" }, w.lead);
      for (const [who, url] of [
        [lead, `/cases/${id}`],
        [staff, "/cases"],
        [staff, "/cases/new/inspection"],
        [staff, "/cases/import"],
        [staff, "/notices"],
        [staff, "/scorecard"],
        [staff, "/bulletin"],
        [lead, "/scorecard"],
      ] as const) {
        const html = await page(who, url);
        expect(html, url).to.not.match(/type="(date|month|datetime-local)"/);
        for (const input of html.match(/<input type="file"[^>]*>/g) ?? []) expect(input, url).to.contain('class="sr-only"');
      }
      const caseHtml = await page(lead, `/cases/${id}`);
      expect(caseHtml).to.contain(">选择文件</label>").and.contain(">拍照上传</label>").and.match(/accept="image\/\*" capture="environment"/);
    });

    it("links 接口文档 to a rendered API reference served from node_modules", async () => {
      const admin = await t.signIn("admin");
      const home = await page(admin, "/");
      expect(home).to.contain('href="/api-docs"').and.not.contain('href="/api/openapi.json">接口文档');
      const docs = await page(admin, "/api-docs");
      expect(docs).to.contain("/static/swagger-ui/swagger-ui-bundle.js");
      const js = await admin.agent.get("/static/swagger-ui/swagger-ui-bundle.js").expect(200);
      expect(js.headers["content-type"]).to.contain("javascript");
    });

    it("compresses static assets and caches versioned ones as immutable", async () => {
      const home = await page(staff, "/");
      const v = /\/static\/app\.css\?v=(\w+)/.exec(home)![1];
      for (const path of [`/static/echarts.min.js?v=${v}`, `/static/app.css?v=${v}`]) {
        const res = await staff.agent.get(path).set("Accept-Encoding", "gzip").buffer(true).parse((r, cb) => {
          r.on("data", () => {});
          r.on("end", () => cb(null, null));
        });
        expect(res.status, path).to.equal(200);
        expect(res.headers["content-encoding"], path).to.equal("gzip");
        expect(res.headers["cache-control"], path).to.equal("public, max-age=31536000, immutable");
      }
      const plain = await staff.agent.get("/static/app.css").expect(200);
      expect(plain.headers["cache-control"]).to.equal("public, max-age=3600");
    });
  });
});
