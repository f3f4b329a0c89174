import { expect } from "chai";
import request from "supertest";
import { Case, CaseHistory } from "../../src/db/models.ts";
import { issueByHand } from "../../src/notices/issuer.ts";
import { useApp, type Client } from "../support/app.ts";
import { PNG, newInspection, type World } from "../support/fixtures.ts";
import { testApp, type Signed } from "../support/http.ts";

const METRICS_TOKEN = "metrics-token-for-tests";

describe("HTTP API", () => {
  const t = useApp({ start: "2026-03-02T09:00:00+08:00", env: { METRICS_TOKEN }, users: ["staff", "lead"] });
  let w: World;
  let staff: Client;
  let lead: Client;
  beforeEach(() => {
    ({ w, as: { staff, lead } } = t);
  });

  it("walks a case through register, assign, sign, evidence upload and submit", async () => {
    const created = await staff.post("/api/cases", newInspection()).expect(201);
    const id = created.body.id;
    expect(created.body).to.include({ ledgerNumber: "ZY2-01", state: "registered", version: 1 });
    expect(created.body).to.not.have.property("_id");
    await staff.post(`/api/cases/${id}/events`, { type: "ASSIGN", payload: { leadUnitId: w.units.lead, deadline: "2026-06-30" }, expectedVersion: 1 }).expect(200);
    const sign = await lead.post(`/api/cases/${id}/events`, { type: "SIGN", expectedVersion: 2 }).expect(200);
    expect(sign.body.case.state).to.equal("rectifying.working");
    const up = await lead.agent.post(`/api/cases/${id}/attachments`).set("X-CSRF-Token", lead.csrf).attach("file", PNG, "现场.png").expect(201);
    expect(up.body).to.include({ type: "image/png", size: PNG.length, name: "现场.png" });
    const file = await lead.agent.get(`/api/attachments/${up.body.id}`).expect(200);
    expect(file.headers["x-content-type-options"]).to.equal("nosniff");
    expect(file.headers["content-disposition"]).to.match(/^attachment;/);
    await lead.post(`/api/cases/${id}/events`, { type: "SUBMIT", payload: { summary: "已完成", attachmentIds: [up.body.id] } }).expect(200);
    const detail = await lead.agent.get(`/api/cases/${id}`).expect(200);
    expect(detail.body.case.state).to.equal("verifying");
    expect(detail.body.history.map((h: { type: string }) => h.type)).to.deep.equal(["CREATE", "ASSIGN", "SIGN", "SUBMIT"]);
    expect(detail.body.allowedEvents).to.deep.equal([]);
    const office = await staff.agent.get(`/api/cases/${id}`).expect(200);
    expect(office.body.allowedEvents).to.have.members(["REJECT", "PASS"]);
  });

  it("refuses an event the state does not allow with 409 and the allowed events, and a stale version with 409 and the current one", async () => {
    const id = (await staff.post("/api/cases", newInspection()).expect(201)).body.id;
    const wrong = await staff.post(`/api/cases/${id}/events`, { type: "PASS" }).expect(409);
    expect(wrong.body.error).to.deep.include({ code: "event_not_allowed" });
    expect(wrong.body.error.details.allowedEvents).to.deep.equal(["ASSIGN"]);
    const stale = await staff.post(`/api/cases/${id}/events`, { type: "ASSIGN", payload: { leadUnitId: w.units.lead, deadline: "2026-06-30" }, expectedVersion: 7 }).expect(409);
    expect(stale.body.error).to.deep.include({ code: "version_conflict", details: { currentVersion: 1 } });
  });

  it("a unit's 申请销号 while its extension request is pending: the case says it is blocked and why, and a POST gets 409 with the reason", async () => {
    const id = (await staff.post("/api/cases", newInspection()).expect(201)).body.id;
    await staff.post(`/api/cases/${id}/events`, { type: "ASSIGN", payload: { leadUnitId: w.units.lead, deadline: "2026-06-30" } }).expect(200);
    await lead.post(`/api/cases/${id}/events`, { type: "SIGN" }).expect(200);
    await lead.post(`/api/cases/${id}/events`, { type: "REQUEST_EXTENSION", payload: { deadline: "2026-08-31", reason: "设备未到" } }).expect(200);
    const reason = "延期申请尚待整改办审批，不能申请销号；如已办结，请先撤回延期申请";
    const detail = await lead.agent.get(`/api/cases/${id}`).expect(200);
    expect(detail.body.allowedEvents).to.have.members(["REPORT_PROGRESS", "WITHDRAW_EXTENSION"]);
    expect(detail.body.blockedEvents).to.deep.equal([{ type: "SUBMIT", reasons: [reason] }]);
    const up = await lead.agent.post(`/api/cases/${id}/attachments`).set("X-CSRF-Token", lead.csrf).attach("file", PNG, "现场.png").expect(201);
    const refused = await lead.post(`/api/cases/${id}/events`, { type: "SUBMIT", payload: { summary: "已完成", attachmentIds: [up.body.id] } }).expect(409);
    expect(refused.body.error).to.deep.include({ code: "event_not_allowed", message: reason });
    expect(refused.body.error.details.reasons).to.deep.equal([reason]);
  });

  it("50 parallel event POSTs with the same expectedVersion: one 200, 49 × 409", async function () {
    this.timeout(60_000);
    const id = (await staff.post("/api/cases", newInspection()).expect(201)).body.id;
    await staff.post(`/api/cases/${id}/events`, { type: "ASSIGN", payload: { leadUnitId: w.units.lead, deadline: "2026-06-30" } }).expect(200);
    await lead.post(`/api/cases/${id}/events`, { type: "SIGN" }).expect(200);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => lead.post(`/api/cases/${id}/events`, { type: "REPORT_PROGRESS", payload: { percent: i, text: `第${i}次` }, expectedVersion: 3 })),
    );
    expect(results.filter((r) => r.status === 200)).to.have.length(1);
    expect(results.filter((r) => r.status === 409 && r.body.error.code === "version_conflict")).to.have.length(49);
    expect(await CaseHistory.countDocuments({ caseId: id })).to.equal(4);
  });

  it("applies a retried event with the same Idempotency-Key once", async () => {
    const id = (await staff.post("/api/cases", newInspection()).expect(201)).body.id;
    const send = () => staff.post(`/api/cases/${id}/events`, { type: "ASSIGN", payload: { leadUnitId: w.units.lead, deadline: "2026-06-30" } }).set("Idempotency-Key", "assign-0001");
    const [a, b] = [await send().expect(200), await send().expect(200)];
    expect(a.body.replayed).to.equal(false);
    expect(b.body.replayed).to.equal(true);
    expect((await Case.findById(id).lean())!.version).to.equal(2);
  });

  it("needs a session, and the CSRF token on unsafe requests", async () => {
    await request(t.app).get("/api/cases").expect(401);
    const noToken = await lead.agent.post("/api/cases").send(newInspection()).expect(403);
    expect(noToken.body.error.code).to.equal("csrf_invalid");
    const me = await lead.agent.get("/api/me").expect(200);
    expect(me.body).to.include({ role: "unit_user", unitId: w.units.lead, csrfToken: lead.csrf });
    await lead.post("/api/auth/logout", {}).expect(200);
    await lead.agent.get("/api/me").expect(401);
  });

  it("refuses a multipart request without the token wherever the route does not read it from the form", async () => {
    const id = (await staff.post("/api/cases", newInspection()).expect(201)).body.id;
    for (const url of ["/api/auth/logout", `/api/cases/${id}/events`, "/api/notices/x/ack", "/api/notices/x/read", "/logout", "/notices/x/ack"]) {
      const res = await staff.agent.post(url).field("x", "1");
      expect(res.status, url).to.equal(403);
    }
    await staff.agent.get("/api/me").expect(200);
    // An upload form carries its token in its URL (checked before the body is read): a token only inside the body is not taken.
    await staff.agent.post(`/api/cases/${id}/attachments`).attach("file", PNG, "a.png").expect(403);
    await staff.agent.post(`/api/cases/${id}/attachments`).field("_csrf", staff.csrf).attach("file", PNG, "a.png").expect(403);
    await staff.agent.post(`/api/cases/${id}/attachments?_csrf=${staff.csrf}`).field("_csrf", staff.csrf).attach("file", PNG, "a.png").expect(201);
  });

  it("the case page's action form keeps no file for an action the user may not take", async () => {
    const id = (await staff.post("/api/cases", newInspection()).expect(201)).body.id;
    await staff.post(`/api/cases/${id}/events`, { type: "ASSIGN", payload: { leadUnitId: w.units.lead, deadline: "2026-06-30" } }).expect(200);
    await lead.post(`/api/cases/${id}/events`, { type: "SIGN" }).expect(200);
    const leader = await t.signIn("leader");
    const act = (s: Signed, type: string) =>
      s.agent.post(`/cases/${id}/actions/${type}?_csrf=${s.csrf}`).field("_csrf", s.csrf).field("percent", "50").field("text", "现场已整改").attach("attachmentIds", PNG, "现场.png");
    expect((await act(leader, "REPORT_PROGRESS")).status).to.equal(403);
    expect((await act(lead, "NOPE")).status).to.equal(422);
    expect((await act(staff, "REPORT_PROGRESS")).status).to.be.within(400, 499);
    const files = async () => (await lead.agent.get(`/api/cases/${id}`).expect(200)).body.attachments.length;
    expect(await files()).to.equal(0);
    // Allowed, but the payload is refused: the file stored for it goes again.
    const bad = await lead.agent.post(`/cases/${id}/actions/REPORT_PROGRESS?_csrf=${lead.csrf}`).field("_csrf", lead.csrf).field("percent", "abc").field("text", "").attach("attachmentIds", PNG, "现场.png");
    expect(bad.status).to.equal(422);
    expect(await files()).to.equal(0);
    await act(lead, "REPORT_PROGRESS").expect(303);
    expect(await files()).to.equal(1);
    // The API refuses a leader's upload too.
    await leader.agent.post(`/api/cases/${id}/attachments`).set("X-CSRF-Token", leader.csrf).attach("file", PNG, "a.png").expect(403);
  });

  it("answers bad input with a clear status and writes nothing", async () => {
    const bad = await staff.agent.post("/api/cases").set("X-CSRF-Token", staff.csrf).set("Content-Type", "application/json").send("{ not json").expect(400);
    expect(bad.body.error.code).to.equal("malformed_json");
    await staff.agent.post("/api/cases").set("X-CSRF-Token", staff.csrf).set("Content-Type", "application/json").send(JSON.stringify({ ...newInspection(), description: "长".repeat(400_000) })).expect(413);
    await staff.agent.post("/api/cases").set("X-CSRF-Token", staff.csrf).set("Content-Type", "text/plain").send("kind=inspection").expect(415);
    const missing = await staff.post("/api/cases", { ...newInspection(), round: undefined }).expect(422);
    expect(missing.body.error).to.deep.include({ code: "invalid_fields" });
    expect(missing.body.error.details.fields).to.deep.equal([{ field: "round", message: "请填写督察轮次" }]);
    expect(await Case.countDocuments()).to.equal(0);
    // Fields the server owns are never taken from a body.
    const extra = await staff.post("/api/cases", { ...newInspection(), state: "closed", version: 9, leadUnitId: w.units.other, _id: "x" }).expect(201);
    expect(extra.body).to.include({ state: "registered", version: 1, leadUnitId: null });
  });

  it("refuses a script renamed .jpg", async () => {
    const id = (await staff.post("/api/cases", newInspection()).expect(201)).body.id;
    const res = await staff.agent
      .post(`/api/cases/${id}/attachments`)
      .set("X-CSRF-Token", staff.csrf)
      .attach("file", Buffer.from("<script>alert(document.cookie)</script>"), "photo.jpg")
      .expect(422);
    expect(res.body.error.code).to.equal("unsupported_file_type");
    const detail = await staff.agent.get(`/api/cases/${id}`).expect(200);
    expect(detail.body.attachments).to.deep.equal([]);
  });

  it("a page past the last is empty, with the true total and pages (a client paging until an empty page stops); the 台账 page shows the last page", async () => {
    for (const n of [1, 2, 3]) await staff.post("/api/cases", newInspection(n)).expect(201);
    const page = (p: number) => staff.agent.get(`/api/cases?pageSize=2&sort=ledgerNumber&page=${p}`).expect(200);
    const second = await page(2);
    expect(second.body).to.deep.include({ total: 3, totalCapped: false, page: 2, pages: 2, pageSize: 2 });
    expect(second.body.items.map((c: { ledgerNumber: string }) => c.ledgerNumber)).to.deep.equal(["ZY2-03"]);
    for (const p of [3, 100_000]) expect((await page(p)).body).to.deep.equal({ items: [], total: 3, totalCapped: false, page: p, pages: 2, pageSize: 2 });
    // The unit sees none of them: its first page is empty, and there is nothing past it either.
    expect((await lead.agent.get("/api/cases?page=2").expect(200)).body).to.deep.include({ items: [], total: 0, pages: 1 });
    // A search is counted, not taken from the facet counts: the same answer.
    expect((await staff.agent.get(`/api/cases?q=${encodeURIComponent("燃煤锅炉")}&pageSize=2&page=3`).expect(200)).body).to.deep.include({ items: [], total: 3, totalCapped: false, pages: 2 });
    const html = await staff.agent.get("/cases?page=9&sort=ledgerNumber").expect(200);
    expect(html.text).to.contain("共 3 件").and.contain("第 1 / 1 页").and.contain("ZY2-03");
  });

  it("GET /api/notices pages as GET /api/cases: a page past the last is empty, with the true total and pages; the 通知 page shows the last page", async () => {
    const c = await w.service.createCase(newInspection(1), w.office);
    const assigned = (await w.service.applyEvent(c._id.toString(), { type: "ASSIGN", payload: { leadUnitId: w.units.lead, deadline: "2026-06-30" } }, w.office)).case;
    for (const requirement of ["请按期完成", "请加快进度", "请报送进展"]) await issueByHand(assigned, { level: "supervision", requirement }, w.office, w.clock);
    const page = (who: Client, p: number) => who.agent.get(`/api/notices?pageSize=2&page=${p}`).expect(200);
    const second = await page(staff, 2);
    expect(second.body).to.deep.include({ total: 3, page: 2, pages: 2, pageSize: 2 });
    expect(second.body.items).to.have.length(1);
    for (const p of [3, 100_000]) expect((await page(staff, p)).body).to.deep.equal({ items: [], total: 3, page: p, pages: 2, pageSize: 2 });
    // Another unit sees none of them: nothing on its first page nor past it.
    const other = await t.signIn("other");
    expect((await page(other, 1)).body).to.deep.equal({ items: [], total: 0, page: 1, pages: 1, pageSize: 2 });
    expect((await page(other, 2)).body).to.deep.equal({ items: [], total: 0, page: 2, pages: 1, pageSize: 2 });
    const html = await staff.agent.get("/notices?pageSize=2&page=9").expect(200);
    expect(html.text).to.contain("共 3 件").and.contain("第 2 / 2 页");
  });

  it("serves an OpenAPI 3.1 document generated from the route table", async () => {
    const doc = (await request(t.app).get("/api/openapi.json").expect(200)).body;
    expect(doc.openapi).to.equal("3.1.0");
    const events = doc.paths["/api/cases/{id}/events"].post.requestBody.content["application/json"].schema.anyOf;
    for (const variant of events) expect(variant.properties).to.have.keys("type", "payload", "expectedVersion");
    expect(doc.paths["/api/cases"].get.parameters.map((p: { name: string }) => p.name)).to.include.members(["kind", "state", "overdue", "q", "page", "sort"]);
  });

  it("reports health, readiness and metrics", async () => {
    await request(t.app).get("/healthz").expect(200);
    const ready = await request(t.app).get("/readyz").expect(200);
    expect(ready.body.checks).to.deep.equal({ mongodb: true, redis: true });
    await staff.agent.get("/api/cases").expect(200);
    const c = await staff.post("/api/cases", newInspection()).expect(201);
    await staff.agent.get(`/api/cases/${c.body.id}`).expect(200);
    // Metrics only with the configured token; off without one.
    await request(t.app).get("/metrics").expect(401);
    await request(t.app).get("/metrics").set("Authorization", "Bearer wrong-token-of-some-length").expect(401);
    const metrics = await request(t.app).get("/metrics").set("Authorization", `Bearer ${METRICS_TOKEN}`).expect(200);
    // Latency by route template (never by raw URL), and the process's memory.
    expect(metrics.text).to.contain("http_request_duration_seconds_bucket").and.contain('route="/api/cases"').and.contain('route="/api/cases/:id"').and.contain("process_resident_memory_bytes");
    expect(metrics.text).to.not.contain(c.body.id);
    const off = testApp(w);
    try {
      const res = await request(off.app).get("/metrics").set("Authorization", `Bearer ${METRICS_TOKEN}`).expect(404);
      expect(res.text).to.contain("指标接口未启用");
    } finally {
      await off.close();
    }
  });
});
