/**
 * Issuing the 通报 over HTTP: the office's 发布 button (with its confirmation) and POST /api/bulletins;
 * an issued bulletin's page, trace links, JSON and workbook render what was stored, and reprint the
 * same bytes after further work on the ledger; a unit sees its own row of the issue only.
 */
import { expect } from "chai";
import request from "supertest";
import type { Response } from "superagent";
import type { Actor } from "../../workflows/index.ts";
import type { CaseDoc } from "../../src/db/models.ts";
import { NoticeSweeper } from "../../src/notices/sweep.ts";
import { useApp, walk, type Client } from "../support/app.ts";
import { checked, evidence, type World } from "../support/fixtures.ts";
import type { Signed } from "../support/http.ts";
import { readXlsx } from "../io/support.ts";

const binary = (res: Response, cb: (err: Error | null, body: Buffer) => void) => {
  const chunks: Buffer[] = [];
  res.on("data", (c: Buffer) => chunks.push(c));
  res.on("end", () => cb(null, Buffer.concat(chunks)));
};
const decoded = (html: string) => html.replaceAll("&#x3D;", "=").replaceAll("&amp;", "&");

describe("issuing the 通报 over HTTP", function () {
  this.timeout(60_000);
  const t = useApp({ start: "2026-03-02T09:00:00+08:00", once: true });
  let w: World;
  let as: Record<"staff" | "leader" | "lead" | "co", Client>;
  const cases: Record<string, CaseDoc> = {};
  const apply = async (k: string, type: string, actor: Actor, payload: Record<string, unknown> = {}) => {
    cases[k] = (await w.service.applyEvent(cases[k]!._id.toString(), { type, payload }, actor)).case;
  };
  let issueId = "";

  before(async () => {
    w = t.w;
    for (const [k, n, unit] of [
      ["A", 1, "lead"],
      ["B", 2, "lead"],
      ["C", 3, "co"],
    ] as const) {
      cases[k] = await walk(w, "inspection", "rectifying.working", { n, unit, deadline: "2026-04-20" });
    }
    w.clock.set("2026-04-10T10:00:00+08:00");
    await apply("A", "REQUEST_EXTENSION", w.lead, { deadline: "2026-06-30", reason: "设备采购周期长" });
    const sweeper = new NoticeSweeper(w.service, w.clock);
    for (const day of ["2026-04-21", "2026-04-28"]) {
      w.clock.set(`${day}T08:00:00+08:00`);
      await sweeper.sweep();
    }
    w.clock.set("2026-05-06T10:00:00+08:00");
    as = { staff: await t.signIn("staff"), leader: await t.signIn("leader"), lead: await t.signIn("lead"), co: await t.signIn("co") };
  });

  it("the office's draft page offers 发布 behind a confirmation; leaders and units get no such form", async () => {
    const draft = await as.staff.agent.get("/bulletin?month=2026-04").expect(200);
    expect(draft.text).to.contain("草稿（未发布）").and.contain('action="/bulletin/issue"').and.contain('name="confirm"').and.contain("发布本月通报");
    for (const s of [as.leader, as.co]) {
      const page = await s.agent.get("/bulletin?month=2026-04").expect(200);
      expect(page.text).to.contain("草稿（未发布）").and.not.contain('action="/bulletin/issue"');
    }
    // This month has not ended: no form, a reason instead.
    expect((await as.staff.agent.get("/bulletin?month=2026-05").expect(200)).text).to.contain("本月尚未结束").and.not.contain('action="/bulletin/issue"');
  });

  it("发布 from the page: refused without the token or the confirmation, then issued as 第1期 with the office and the date", async () => {
    await as.staff.agent.post("/bulletin/issue").type("form").send({ month: "2026-04", confirm: "on" }).expect(403);
    const unconfirmed = await as.staff.form("/bulletin/issue", { month: "2026-04" }).expect(422);
    expect(unconfirmed.text).to.contain("请先勾选");
    await as.co.form("/bulletin/issue", { month: "2026-04", confirm: "on" }).expect(403);
    expect((await as.staff.agent.get("/api/bulletins?year=2026").expect(200)).body.items).to.deep.equal([]);
    const done = await as.staff.form("/bulletin/issue", { month: "2026-04", confirm: "on" }).expect(303);
    issueId = /\/bulletin\?issue=([0-9a-f]{24})$/.exec(done.headers.location!)![1]!;
    const page = await as.staff.agent.get(`/bulletin?issue=${issueId}`).expect(200);
    expect(page.text).to.contain("2026年第1期").and.contain("市生态环境保护督察整改工作领导小组办公室").and.contain("2026年5月6日").and.not.contain("草稿（未发布）");
    expect(page.text).to.not.contain('action="/bulletin/issue"');
    // The month's address now reads the issue.
    expect((await as.staff.agent.get("/bulletin?month=2026-04").expect(200)).text).to.equal(page.text);
    // Pressing again is refused in words, and the draft page says what to do instead.
    const again = await as.staff.form("/bulletin/issue", { month: "2026-04", confirm: "on" }).expect(409);
    expect(again.text).to.contain("2026年4月的通报已发布（2026年第1期）");
    const live = await as.staff.agent.get("/bulletin?month=2026-04&draft=true").expect(200);
    expect(live.text).to.contain("草稿（未发布）").and.contain("发布更正通报（更正 2026年第1期）").and.contain(`name="corrects" value="${issueId}"`);
  });

  it("POST /api/bulletins: the office only, with CSRF; a second issue of a month is refused, another month takes the next number", async () => {
    await as.leader.post("/api/bulletins", { month: "2026-03" }).expect(403);
    await as.co.post("/api/bulletins", { month: "2026-03" }).expect(403);
    await as.staff.post("/api/bulletins", { month: "2026-03" }, "wrong").expect(403);
    const twice = await as.staff.post("/api/bulletins", { month: "2026-04" }).expect(409);
    expect(twice.body.error.message).to.contain("已发布（2026年第1期）");
    expect((await as.staff.post("/api/bulletins", { month: "2026-04", corrects: issueId }).expect(422)).body.error.message).to.contain("请填写更正说明");
    const march = await as.staff.post("/api/bulletins", { month: "2026-03" }).expect(201);
    expect(march.body).to.include({ number: 2, label: "2026年第2期", month: "2026-03", issuedOn: "2026-05-06" });
    const list = (await as.co.agent.get("/api/bulletins?year=2026").expect(200)).body;
    expect(list.items.map((i: { label: string; month: string }) => `${i.label} ${i.month}`)).to.deep.equal(["2026年第1期 2026-04", "2026年第2期 2026-03"]);
    expect((await as.staff.agent.get("/api/bulletins?year=26").expect(422)).body.error.message).to.contain("四位年份");
    const doc = (await request(t.app).get("/api/openapi.json").expect(200)).body;
    expect(doc.paths["/api/bulletins"].post.requestBody).to.not.equal(undefined);
    expect(Object.keys(doc.paths["/api/bulletins"].post.responses)).to.include.members(["201", "403", "409", "422"]);
    // The page lists the year's issues.
    const page = decoded((await as.staff.agent.get(`/bulletin?issue=${issueId}`).expect(200)).text);
    expect(page).to.contain(`<a href="/bulletin?issue=${issueId}">2026年第1期</a>（2026年4月`).and.contain(`<a href="/bulletin?issue=${march.body.id}">2026年第2期</a>（2026年3月`);
  });

  it("an issued bulletin reprints the same bytes (page, JSON, the unit's page) after more work on the ledger; its traces and workbook are as issued", async () => {
    const get = (s: Signed, url: string) => s.agent.get(url).expect(200);
    const pages = async () => ({
      staff: (await get(as.staff, "/bulletin?month=2026-04")).text,
      co: (await get(as.co, "/bulletin?month=2026-04")).text,
      json: (await get(as.staff, "/api/bulletin?month=2026-04")).text,
      coJson: (await get(as.co, "/api/bulletin?month=2026-04")).text,
      trace: (await get(as.staff, `/api/bulletin/cases?issue=${issueId}&unit=${w.units.lead}&figure=overdue`)).text,
      book: JSON.stringify([...(await readXlsx((await as.staff.agent.get(`/api/exports/bulletin.xlsx?issue=${issueId}`).buffer(true).parse(binary).expect(200)).body)).entries()]),
    });
    const first = await pages();
    // Nothing on the print that depends on who reads it or when.
    for (const s of [as.staff, as.co]) expect(first.staff + first.co).to.not.contain(s.csrf);
    expect(first.staff).to.not.contain("_csrf").and.not.contain("整改办张三");
    expect(JSON.parse(first.json).rows.find((r: { unitId: string }) => r.unitId === w.units.lead).overdue).to.equal(2);

    // The office approves the old extension (A is no longer late in April), B is handed in and closed.
    w.clock.set("2026-05-12T10:00:00+08:00");
    await apply("A", "APPROVE_EXTENSION", w.office);
    await apply("B", "REPORT_PROGRESS", w.lead, { percent: 100, text: "完成" });
    await apply("B", "SUBMIT", w.lead, { summary: "完成", attachmentIds: [await evidence(cases.B!._id.toString(), w.lead)] });
    await apply("B", "PASS", w.office, await checked(w, cases.B!._id.toString(), { publicityDays: 0 }));

    const second = await pages();
    expect(second.staff).to.equal(first.staff);
    expect(second.co).to.equal(first.co);
    expect(second.json).to.equal(first.json);
    expect(second.coJson).to.equal(first.coJson);
    expect(second.trace).to.equal(first.trace);
    expect(second.book).to.equal(first.book);
    // The draft moved with the ledger.
    const live = (await get(as.staff, "/api/bulletin?month=2026-04&draft=true")).body;
    expect(live.issue).to.equal(null);
    expect(live.rows.find((r: { unitId: string }) => r.unitId === w.units.lead).overdue).to.equal(1);
  });

  it("the issue's trace links open the stored lists; the workbook carries the 期号; a unit sees only its own row and traces", async () => {
    const html = decoded((await as.staff.agent.get(`/bulletin?issue=${issueId}`).expect(200)).text);
    const overdue = new RegExp(`href="(/bulletin/trace\\?issue=${issueId}&unit=${w.units.lead}&figure=overdue)">2<`).exec(html);
    expect(overdue, "the overdue count links to its stored cases").to.not.equal(null);
    const traced = await as.staff.agent.get(overdue![1]!).expect(200);
    expect(traced.text).to.contain("2026年第1期").and.contain(`href="/cases/${cases.A!._id.toString()}"`).and.contain(`href="/cases/${cases.B!._id.toString()}"`);
    const yellow = new RegExp(`href="(/bulletin/trace\\?issue=${issueId}&unit=${w.units.co}&figure=notices&level=[a-z_]+)">1<`).exec(html);
    expect(yellow, "a notice count links to the stored notices").to.not.equal(null);
    expect((await as.staff.agent.get(yellow![1]!).expect(200)).text).to.contain(`href="/cases/${cases.C!._id.toString()}"`);

    const book = await readXlsx((await as.staff.agent.get(`/api/exports/bulletin.xlsx?issue=${issueId}`).buffer(true).parse(binary).expect(200)).body);
    expect(book.get("通报")![1]![0]).to.contain("2026年第1期").and.contain("2026-05-06");

    const co = await as.co.agent.get(`/bulletin?issue=${issueId}`).expect(200);
    expect(co.text).to.contain("市水务局").and.contain("2026年第1期").and.not.contain("市生态环境局");
    const other = await as.co.agent.get(`/api/bulletin/cases?issue=${issueId}&unit=${w.units.lead}&figure=overdue`).expect(200);
    expect(other.body.items.map((c: { id: string }) => c.id)).to.deep.equal([cases.C!._id.toString()]);
    const coBook = await readXlsx((await as.co.agent.get(`/api/exports/bulletin.xlsx?issue=${issueId}`).buffer(true).parse(binary).expect(200)).body);
    expect(JSON.stringify([...coBook.values()])).to.not.contain("市生态环境局");
    await as.co.agent.get(`/bulletin?issue=${"0".repeat(24)}`).expect(404);
    await as.co.agent.get("/api/bulletin?issue=xyz").expect(422);
  });

  it("a correction from the draft page names the issue it corrects and says why; the first is marked as corrected", async () => {
    const noNote = await as.staff.form("/bulletin/issue", { month: "2026-04", corrects: issueId, confirm: "on" }).expect(422);
    expect(noNote.text).to.contain("请填写更正说明");
    const done = await as.staff.agent
      .post("/bulletin/issue")
      .type("form")
      .send({ _csrf: as.staff.csrf, month: "2026-04", corrects: issueId, note: "ZY2-01 延期审批迟延，不计超期", confirm: "on" })
      .expect(303);
    const fix = await as.staff.agent.get(done.headers.location!).expect(200);
    expect(fix.text).to.contain("2026年第3期").and.contain("本期更正2026年第1期。更正说明：ZY2-01 延期审批迟延，不计超期").and.contain("（更正）");
    const old = await as.staff.agent.get(`/bulletin?issue=${issueId}`).expect(200);
    expect(old.text).to.contain("本期已被").and.contain("2026年第3期");
  });
});
