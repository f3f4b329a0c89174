/**
 * Operators in input never reach a query: query strings and JSON bodies carrying MongoDB operators,
 * prototype keys, regex text and script text, against the real app. Each must be refused (400/415/422),
 * or, where it is plain text, be treated as plain text; never a 500, never data past the filters, and
 * never a write. Also body limits, content types, escaping of the printable notice, and login limits.
 */
import { randomUUID } from "node:crypto";
import { expect } from "chai";
import type { Redis } from "ioredis";
import request from "supertest";
import { loadConfig } from "../../src/config.ts";
import { Case, CaseHistory, } from "../../src/db/models.ts";
import { createApp } from "../../src/http/app.ts";
import { queueConnection } from "../../src/queues.ts";
import { loadRules } from "../../src/notices/rules.ts";
import { useApp, walk, type Client } from "../support/app.ts";
import { newComplaint, newInspection, type World } from "../support/fixtures.ts";
import { PASSWORD, testApp, type Signed } from "../support/http.ts";
import { ledgerState } from "../support/ledger.ts";

type Method = "get" | "post" | "put" | "patch";
type Res = request.Response;

const XSS = "<img src=x onerror=alert(1)>";
const SCRIPT = "<script>alert(1)</script>";

/** Forgets login attempts of earlier tests, so the limits below start from zero. */
async function flushLoginLimits(redis: Redis): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", "rf-login-*", "COUNT", 500);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== "0");
}

describe("HTTP input: operators in input never reach a query", function () {
  this.timeout(60_000);
  const t = useApp({
    start: "2026-03-02T09:00:00+08:00",
    users: ["admin", "staff", "lead", "other"],
    once: true,
    ready: (fx) => flushLoginLimits(fx.redis),
    teardown: (fx) => flushLoginLimits(fx.redis),
  });
  let w: World;
  let admin: Client;
  let staff: Client;
  let lead: Client;
  let other: Client;
  /** A: lead unit, rectifying; B: other unit, rectifying; R: registered (not yet assigned). */
  const f = { A: "", B: "", R: "", notice: "", otherUserId: "", ruleId: "" };

  const as = (s: Signed, method: Method, url: string) => (method === "get" ? s.agent.get(url) : s.agent[method](url).set("X-CSRF-Token", s.csrf));
  const describeRes = (res: Res) => `${res.status} ${(res.text ?? "").slice(0, 300)}`;

  before(async () => {
    ({ w, as: { admin, staff, lead, other } } = t);
    f.otherUserId = other.userId;
    f.ruleId = (await loadRules())[0]!.id;
    const signed = async (n: number, title: string, unit: "lead" | "other") =>
      (await walk(w, "inspection", "rectifying.working", { n, input: { title }, unit }))._id.toString();
    f.A = await signed(1, "城区部分燃煤锅炉淘汰不彻底", "lead");
    f.B = await signed(2, "某河段黑臭水体治理后反弹", "other");
    f.R = (await w.service.createCase({ ...newInspection(3), title: "工业园区(PM2.5)监测数据异常" }, w.office))._id.toString();
    await w.service.createCase(newComplaint(), w.office);
    const n = await as(staff, "post", `/api/cases/${f.A}/notices`).send({ level: "supervision", requirement: "请加快整改" }).expect(201);
    f.notice = n.body.id;
  });

  it("login: operator objects are refused (400/422) and SQL-style strings are just wrong credentials (401)", async () => {
    const attempts: [object, number][] = [
      [{ username: { $gt: "" }, password: { $ne: null } }, 422],
      [{ username: "admin", password: { $ne: null } }, 422],
      [{ username: { $regex: "^adm" }, password: PASSWORD }, 422],
      [{ username: { $ne: "nobody" }, password: PASSWORD }, 422],
      [{ username: ["admin"], password: PASSWORD }, 422],
      [{ username: "admin", password: [PASSWORD] }, 422],
      [{ username: "admin", password: PASSWORD, $where: "return true" }, 422],
      [{ username: "admin", password: "x", __proto__: { admin: true } }, 401],
      [{ username: "admin' || '1'=='1", password: "x' || '1'=='1" }, 401],
      [{ username: "admin", password: "' || '1'=='1" }, 401],
      [{ username: 'admin" || ""=="', password: "anything" }, 401],
      [{ username: "admin'--", password: "x" }, 401],
      [{ username: "{\"$gt\": \"\"}", password: "{\"$ne\": null}" }, 401],
    ];
    const before = await ledgerState();
    for (const [body, status] of attempts) {
      const agent = request.agent(t.app);
      const res = await agent.post("/api/auth/login").send(body);
      // 422: refused as input, by the schema (422) or before it, as an operator key (400).
      expect(res.status, `${JSON.stringify(body)} → ${describeRes(res)}`).to.be.oneOf(status === 401 ? [401] : [400, 422]);
      expect(res.body).to.not.have.property("user");
      expect(res.body.error.code).to.be.oneOf(status === 401 ? ["bad_credentials"] : ["invalid_fields", "operator_in_input"]);
      await agent.get("/api/me").expect(401);
    }
    // The same operators as a form: not JSON at all.
    const form = await request(t.app).post("/api/auth/login").type("form").send("username[$ne]=x&password[$ne]=x");
    expect(form.status).to.equal(415);
    expect(await ledgerState()).to.equal(before);
  });

  it("list, search and counts: operator and repeated query keys are 422, regex text is literal", async () => {
    const refused = [
      "/api/cases?state[$ne]=x",
      "/api/cases?q[$regex]=.*",
      "/api/cases?unit[$ne]=",
      "/api/cases?unit[$ne]=x",
      "/api/cases?unit[]=x",
      "/api/cases?q[]=a",
      "/api/cases?kind=inspection&kind=complaint",
      "/api/cases?state=rectifying&state=closed",
      "/api/cases?q=a&q=b",
      "/api/cases?kind[$in]=inspection",
      "/api/cases?overdue[$ne]=false",
      "/api/cases?$where=1",
      "/api/cases?__proto__[leadUnitId]=x",
      "/api/cases?__proto__=x",
      "/api/cases?constructor[prototype][role]=office_admin",
      "/api/cases?sort[$natural]=1",
      "/api/cases?sort=_id",
      "/api/cases?page[$gt]=0",
      "/api/cases?pageSize=1e9",
      "/api/cases?pageSize=100000",
      "/api/stats?unit[$ne]=x",
      "/api/stats?kind[$in]=inspection",
      "/api/stats?from[$gt]=2000-01-01",
      "/api/stats?unit=a&unit=b",
      "/api/stats?kind=inspection&kind=complaint",
      "/api/stats?to=2026-12-31&to=2027-12-31",
      "/api/stats?$where=1",
      "/api/notices?unit[$ne]=x",
      "/api/notices?level[$ne]=x",
      "/api/notices?state[$ne]=read",
      "/api/notices?unit=a&unit=b",
      "/api/notices?level=yellow&level=red",
      "/api/notices?state=unread&state=read",
      "/api/notices?readAt[$ne]=null",
    ];
    const problems: string[] = [];
    for (const url of refused) {
      for (const [who, s] of [["other", other], ["staff", staff]] as const) {
        const res = await s.agent.get(url);
        if (![400, 422].includes(res.status) || res.body.error?.code === undefined) problems.push(`${who} ${url} → ${describeRes(res)}`);
        if (JSON.stringify(res.body).includes(f.A)) problems.push(`${who} ${url} shows case A`);
      }
    }
    expect(problems).to.deep.equal([]);

    // Plain text that looks like an operator or a regex is searched for as that very text.
    const literal = [
      "/api/cases?q=.*",
      `/api/cases?q=${encodeURIComponent("^.*$")}`,
      "/api/cases?q=((",
      "/api/cases?q=%5B",
      "/api/cases?q=%5C",
      "/api/cases?q=a%7C%7Cb",
      `/api/cases?q=${encodeURIComponent('{"$ne":null}')}`,
      "/api/cases?q=%24where",
      "/api/cases?state=%24ne",
      `/api/cases?unit=${encodeURIComponent('{"$ne":null}')}`,
      "/api/cases?round=%24gt",
    ];
    for (const url of literal) {
      for (const [who, s] of [["other", other], ["staff", staff]] as const) {
        const res = await s.agent.get(url);
        if (res.status !== 200 || res.body.total !== 0 || res.body.items.length !== 0) problems.push(`${who} ${url} → ${describeRes(res)}`);
      }
    }
    for (const url of ["/api/stats?unit=%24ne", `/api/stats?unit=${encodeURIComponent('{"$ne":null}')}`]) {
      const res = await staff.agent.get(url);
      if (res.status !== 200 || res.body.total !== 0) problems.push(`staff ${url} → ${describeRes(res)}`);
    }
    expect(problems).to.deep.equal([]);

    // …and search does work on plain text, with regex characters taken literally.
    const find = async (q: string) => (await staff.agent.get(`/api/cases?q=${encodeURIComponent(q)}`).expect(200)).body.items.map((c: { id: string }) => c.id);
    expect(await find("淘汰不彻底")).to.deep.equal([f.A]);
    expect(await find("(PM2.5)")).to.deep.equal([f.R]);
    expect(await find("PM2x5")).to.deep.equal([]);
    expect((await other.agent.get(`/api/cases?q=${encodeURIComponent("淘汰不彻底")}`).expect(200)).body.total).to.equal(0);
  });

  it("path ids that look like operators are just ids that do not exist", async () => {
    const op = encodeURIComponent('{"$ne":null}');
    for (const [s, method, url] of [
      [other, "get", `/api/cases/${op}`],
      [other, "get", `/api/attachments/${op}`],
      [other, "get", `/api/notices/${op}`],
      [other, "get", `/api/notices/${op}/document`],
      [other, "post", `/api/notices/${op}/ack`],
      [lead, "post", `/api/cases/${op}/events`],
      [admin, "patch", `/api/users/${op}`],
      [admin, "patch", `/api/units/${op}`],
      [admin, "put", `/api/rules/${op}`],
    ] as const) {
      const body = url.includes("/events") ? { type: "SIGN" } : url.includes("/rules/") ? { enabled: true } : url.includes("/users/") ? { displayName: "x" } : url.includes("/units/") ? { shortName: "x" } : undefined;
      const before = await ledgerState();
      const res = await (body ? as(s, method, url).send(body) : as(s, method, url));
      expect(res.status, `${method} ${url} → ${describeRes(res)}`).to.equal(404);
      expect(await ledgerState()).to.equal(before);
    }
  });

  it("JSON bodies with operator values are 422 on every write route, and write nothing", async () => {
    const ev = (s: Signed, id: string, body: object) => [s, "post", `/api/cases/${id}/events`, body] as const;
    const attempts: (readonly [Signed, Method, string, unknown])[] = [
      // event payloads
      ev(lead, f.A, { type: "REPORT_PROGRESS", payload: { percent: { $gt: 0 }, text: "x" } }),
      ev(lead, f.A, { type: "REPORT_PROGRESS", payload: { percent: 10, text: { $where: "sleep(1000)" } } }),
      ev(lead, f.A, { type: "REPORT_PROGRESS", payload: { $nor: [{}] } }),
      ev(lead, f.A, { type: "REPORT_PROGRESS", payload: { percent: 10, text: "x", attachmentIds: [{ $ne: null }] } }),
      ev(lead, f.A, { type: "REPORT_PROGRESS", payload: { percent: 10, text: "x", attachmentIds: { $ne: [] } } }),
      ev(lead, f.A, { type: "REPORT_PROGRESS", payload: "$where" }),
      ev(lead, f.A, { type: "REPORT_PROGRESS", payload: [{ $gt: "" }] }),
      ev(lead, f.A, { type: { $ne: null }, payload: {} }),
      ev(lead, f.A, { type: "REPORT_PROGRESS", payload: { percent: 10, text: "x" }, expectedVersion: { $gt: 0 } }),
      ev(lead, f.A, { type: "REPORT_PROGRESS", payload: { percent: 10, text: "x" }, $where: "1" }),
      ev(lead, f.A, { type: "REQUEST_EXTENSION", payload: { deadline: { $gt: "2026-01-01" }, reason: "x" } }),
      ev(staff, f.R, { type: "ASSIGN", payload: { leadUnitId: { $ne: null }, deadline: "2026-06-30" } }),
      ev(staff, f.R, { type: "ASSIGN", payload: { leadUnitId: w.units.lead, coUnitIds: { $in: [w.units.other] }, deadline: "2026-06-30" } }),
      ev(staff, f.R, { type: "ASSIGN", payload: { leadUnitId: w.units.lead, coUnitIds: [{ $ne: null }], deadline: "2026-06-30" } }),
      ev(staff, f.R, { type: "ASSIGN", payload: { leadUnitId: w.units.lead, deadline: { $gte: "" } } }),
      // a new case
      [staff, "post", "/api/cases", { ...newInspection(9), title: { $gt: "" } }],
      [staff, "post", "/api/cases", { ...newInspection(9), ledgerNumber: { $ne: null } }],
      [staff, "post", "/api/cases", { ...newInspection(9), kind: { $in: ["inspection"] } }],
      [staff, "post", "/api/cases", { ...newInspection(9), immediate: { $ne: false } }],
      [staff, "post", "/api/cases", { ...newComplaint(), complainant: { name: { $ne: null } } }],
      [staff, "post", "/api/cases", { ...newComplaint(), receivedOn: { $lte: "2026-03-02" } }],
      [staff, "post", "/api/cases", [{ ...newInspection(9) }]],
      // notices by hand
      [staff, "post", `/api/cases/${f.A}/notices`, { level: { $ne: null }, requirement: "x" }],
      [staff, "post", `/api/cases/${f.A}/notices`, { level: "red", requirement: { $gt: "" } }],
      [staff, "post", `/api/cases/${f.A}/notices`, { level: "red", requirement: "x", $where: "1" }],
      // users and units
      [admin, "patch", `/api/users/${f.otherUserId}`, { role: { $ne: "leader" } }],
      [admin, "patch", `/api/users/${f.otherUserId}`, { $set: { role: "office_admin" } }],
      [admin, "patch", `/api/users/${f.otherUserId}`, { unitId: { $ne: null } }],
      [admin, "patch", `/api/users/${f.otherUserId}`, { active: { $ne: false } }],
      [admin, "patch", `/api/users/${f.otherUserId}`, { displayName: { $gt: "" } }],
      [admin, "patch", `/api/users/${f.otherUserId}`, { password: { $exists: true } }],
      [admin, "patch", `/api/users/${f.otherUserId}`, JSON.parse('{"__proto__": {"role": "office_admin"}, "displayName": "x"}')],
      [admin, "patch", `/api/users/${f.otherUserId}`, { displayName: "x", $nor: [{ role: "leader" }] }],
      [admin, "post", "/api/users", { username: { $ne: null }, displayName: "x", password: "long-enough-password", role: "office_staff" }],
      [admin, "post", "/api/users", { username: "newbie", displayName: "x", password: "long-enough-password", role: { $in: ["office_admin"] } }],
      [admin, "post", "/api/units", { name: { $gt: "" } }],
      [admin, "post", "/api/units", { name: "新单位", $where: "1" }],
      [admin, "patch", `/api/units/${w.units.other}`, { name: { $ne: null } }],
      [admin, "patch", `/api/units/${w.units.other}`, { $rename: { name: "x" } }],
      [admin, "patch", `/api/units/${w.units.other}`, { notify: { webhookUrl: { $ne: null } } }],
      // rules
      [admin, "put", `/api/rules/${f.ruleId}`, { points: { $gt: -1 } }],
      [admin, "put", `/api/rules/${f.ruleId}`, { enabled: { $ne: true } }],
      [admin, "put", `/api/rules/${f.ruleId}`, { $set: { enabled: false } }],
      [admin, "put", `/api/rules/${f.ruleId}`, { triggers: [{ anchor: { $ne: null }, direction: "after", days: 1, unit: "workday" }] }],
    ];
    const problems: string[] = [];
    for (const [s, method, url, body] of attempts) {
      const before = await ledgerState();
      const res = await as(s, method, url).send(body as object);
      if (![400, 422].includes(res.status)) problems.push(`${method} ${url} ${JSON.stringify(body)} → ${describeRes(res)}`);
      if ((await ledgerState()) !== before) problems.push(`${method} ${url} ${JSON.stringify(body)} wrote to the database`);
    }
    expect(problems).to.deep.equal([]);
  });

  it("JSON bodies with operator keys ($where, $nor, $gt) in a new case or an event payload are 422, and write nothing", async () => {
    // The operator never reaches a query either way (zod drops unknown keys before anything is stored);
    // this asks for the stricter contract: such a body is refused, not silently half-accepted.
    const attempts: [Signed, string, object][] = [
      [lead, `/api/cases/${f.A}/events`, { type: "REPORT_PROGRESS", payload: { percent: 10, text: "x", $where: "sleep(1000)" } }],
      [lead, `/api/cases/${f.A}/events`, { type: "REPORT_PROGRESS", payload: { percent: 10, text: "x", $nor: [{ leadUnitId: w.units.lead }] } }],
      [staff, `/api/cases/${f.R}/events`, { type: "ASSIGN", payload: { leadUnitId: w.units.lead, deadline: "2026-06-30", $gt: "" } }],
      [staff, "/api/cases", { ...newInspection(8), $where: "function () { return true }" }],
      [staff, "/api/cases", { ...newComplaint(), complainant: { name: "王五", $nor: [{}] } }],
    ];
    const problems: string[] = [];
    for (const [s, url, body] of attempts) {
      const before = await ledgerState();
      const res = await as(s, "post", url).send(body);
      if (![400, 422].includes(res.status)) problems.push(`POST ${url} ${JSON.stringify(body)} → ${res.status}`);
      if ((await ledgerState()) !== before) problems.push(`POST ${url} ${JSON.stringify(body)} wrote to the database`);
    }
    // Whatever happened, no stored document carries an operator key.
    const stored = JSON.stringify([await Case.find({}).lean(), await CaseHistory.find({}).lean()]);
    expect(stored).to.not.match(/"\$(where|nor|gt)"/);
    expect(problems).to.deep.equal([]);
  });

  it("oversized, malformed and non-JSON bodies: 413, 400, 415, and nothing written", async () => {
    const before = await ledgerState();
    const events = `/api/cases/${f.A}/events`;
    const big = JSON.stringify({ type: "REPORT_PROGRESS", payload: { percent: 1, text: "a".repeat(1_100_000) } });
    const cases: [Signed | null, Method, string, string, string, number, string][] = [
      [lead, "post", events, "application/json", big, 413, "payload_too_large"],
      [null, "post", "/api/auth/login", "application/json", JSON.stringify({ username: "lead", password: "a".repeat(1_100_000) }), 413, "payload_too_large"],
      [lead, "post", events, "application/x-www-form-urlencoded", `type=REPORT_PROGRESS&x=${"a".repeat(1_100_000)}`, 413, "payload_too_large"],
      [lead, "post", events, "application/json", '{"type": "REPORT_PROGRESS", "payload": {', 400, "malformed_json"],
      [lead, "post", events, "application/json", '{"type": "SIGN"}}', 400, "malformed_json"],
      [lead, "post", events, "application/json", '"SIGN"', 400, "malformed_json"],
      [null, "post", "/api/auth/login", "application/json", "{username: lead}", 400, "malformed_json"],
      [admin, "patch", `/api/users/${f.otherUserId}`, "application/json", "{'role': 'office_admin'}", 400, "malformed_json"],
      [lead, "post", events, "text/plain", '{"type": "REPORT_PROGRESS", "payload": {"percent": 1, "text": "x"}}', 415, "unsupported_media_type"],
      [lead, "post", events, "application/x-www-form-urlencoded", "type=REPORT_PROGRESS&payload[percent]=1&payload[text]=x", 415, "unsupported_media_type"],
      [lead, "post", events, "application/json; charset=iso-8859-1", '{"type": "SIGN"}', 415, "unsupported_media_type"],
      [staff, "post", "/api/cases", "application/x-www-form-urlencoded", "kind=inspection&ledgerNumber=X-1&title=t&round=r", 415, "unsupported_media_type"],
      [admin, "patch", `/api/users/${f.otherUserId}`, "text/plain", '{"role": "office_admin"}', 415, "unsupported_media_type"],
      [null, "post", "/api/auth/login", "text/plain", JSON.stringify({ username: "lead", password: PASSWORD }), 415, "unsupported_media_type"],
      [lead, "post", events, "application/json", "[]", 422, "invalid_fields"],
    ];
    const problems: string[] = [];
    for (const [s, method, url, type, body, status, code] of cases) {
      const r = s ? as(s, method, url) : request(t.app)[method](url);
      const res = await r.set("Content-Type", type).send(body);
      if (res.status !== status || res.body.error?.code !== code) problems.push(`${method} ${url} (${type}, ${body.slice(0, 40)}) → ${describeRes(res)}`);
    }
    expect(problems).to.deep.equal([]);
    expect(await ledgerState()).to.equal(before);
  });

  it("input that once answered 500 is a 4xx with a Chinese message, and writes nothing", async () => {
    const before = await ledgerState();
    const events = `/api/cases/${f.A}/events`;
    const uploads = `/api/cases/${f.A}/attachments`;
    const deep = `{"type":"REPORT_PROGRESS","payload":{"a":${"[".repeat(7000)}${"]".repeat(7000)}}}`;
    const json = (body: unknown) => JSON.stringify(body);
    const cases: [Signed, Method, string, string, string, number, string][] = [
      ...["toString", "constructor", "__proto__", "hasOwnProperty"].map((type): [Signed, Method, string, string, string, number, string] => [lead, "post", events, "application/json", json({ type, payload: {} }), 422, "invalid_fields"]),
      [lead, "post", events, "application/json", deep, 400, "too_deep"],
      [lead, "post", events, "application/json", json({ type: "REPORT_PROGRESS", payload: { percent: 10, text: "\u0000" } }), 400, "control_character"],
      [lead, "post", events, "application/json", "[]", 422, "invalid_fields"],
      [lead, "post", uploads, "multipart/form-data; boundary=XX", "garbage", 400, "bad_upload"],
      [lead, "post", uploads, "multipart/form-data", "garbage", 400, "bad_upload"],
      [lead, "post", uploads, "multipart/form-data; boundary=XX", '--XX\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\nabc', 400, "bad_upload"],
      [staff, "post", "/api/cases", "application/json", json({ ...newInspection(9), ledgerNumber: "XF-2026-000042" }), 422, "invalid_fields"],
      [staff, "post", "/api/cases", "application/json", json({ ...newComplaint(), receivedOn: "1000-01-01" }), 422, "invalid_fields"],
      [staff, "get", "/api/exports/rates.xlsx?to=2026-99-99", "application/json", "", 422, "invalid_fields"],
      [staff, "get", "/api/exports/rates.xlsx?from=2026-02-30", "application/json", "", 422, "invalid_fields"],
      [staff, "get", "/api/cases?deadlineFrom=2026-02-30", "application/json", "", 422, "invalid_fields"],
      [staff, "get", "/api/stats?to=2026-13-01", "application/json", "", 422, "invalid_fields"],
      [staff, "get", "/api/cases?bogus=1", "application/json", "", 422, "invalid_fields"],
    ];
    const problems: string[] = [];
    for (const [s, method, url, type, body, status, code] of cases) {
      const r = as(s, method, url).set("Content-Type", type);
      const res = await (body ? r.send(body) : r);
      if (res.status !== status || res.body.error?.code !== code || !/\p{Script=Han}/u.test(res.body.error?.message ?? ""))
        problems.push(`${method} ${url} (${type}, ${body.slice(0, 40)}) → ${describeRes(res)}`);
    }
    expect(problems).to.deep.equal([]);
    // Text of nothing but control characters is empty text, also where no JSON body check sees it (a form).
    const blank = await w.service.applyEvent(f.A, { type: "REPORT_PROGRESS", payload: { percent: 10, text: "\u0001\u0007" } }, w.lead).catch((e) => e);
    expect(blank).to.include({ status: 422, code: "invalid_fields" });
    // Pages: an event name like an Object property is an unknown action, not a crash.
    const page = await lead.agent.post(`/cases/${f.A}/actions/toString`).type("form").send({ _csrf: lead.csrf });
    expect(page.status).to.equal(422);
    expect((await lead.agent.get(`/cases/${f.A}?done=constructor`).expect(200)).text).to.not.contain("native code");
    expect(await ledgerState()).to.equal(before);
  });

  it("script text in progress comes back from the API as the very same string, in JSON", async () => {
    await as(lead, "post", `/api/cases/${f.A}/events`).send({ type: "REPORT_PROGRESS", payload: { percent: 20, text: XSS } }).expect(200);
    const res = await lead.agent.get(`/api/cases/${f.A}`).expect(200);
    expect(res.headers["content-type"]).to.match(/^application\/json/);
    expect(res.headers["x-content-type-options"]).to.equal("nosniff");
    const entry = res.body.history.at(-1);
    expect(entry.type).to.equal("REPORT_PROGRESS");
    expect(entry.payload.text).to.equal(XSS);
  });

  it("the printable notice escapes a case title with a script and is served under a Content-Security-Policy", async () => {
    const c = await w.service.createCase({ ...newInspection(7), title: `燃煤锅炉${SCRIPT}整改` }, w.office);
    const id = c._id.toString();
    await w.service.applyEvent(id, { type: "ASSIGN", payload: { leadUnitId: w.units.lead, deadline: "2026-06-30" } }, w.office);
    const n = await as(staff, "post", `/api/cases/${id}/notices`).send({ level: "supervision", requirement: `请整改${XSS}` }).expect(201);
    expect(n.body.caseTitle).to.equal(`燃煤锅炉${SCRIPT}整改`);
    for (const s of [staff, lead]) {
      const res = await s.agent.get(`/api/notices/${n.body.id}/document`).expect(200);
      expect(res.headers["content-type"]).to.match(/^text\/html/);
      expect(res.text).to.contain("&lt;script&gt;alert(1)&lt;/script&gt;");
      expect(res.text).to.not.contain(SCRIPT).and.not.contain("<img");
      expect(res.text).to.contain("&lt;img src&#x3D;x onerror&#x3D;alert(1)&gt;");
      const csp = res.headers["content-security-policy"] as string;
      expect(csp).to.be.a("string");
      expect(csp.split(";").map((d) => d.trim())).to.include("default-src 'self'").and.include("script-src 'self'");
    }
  });

  describe("login limits", () => {
    let limited: ReturnType<typeof testApp>;
    before(async () => {
      limited = testApp(w, { LOGIN_ATTEMPTS: "3" });
      await flushLoginLimits(limited.redis);
    });
    after(async () => {
      await flushLoginLimits(limited.redis);
      await limited.close();
    });

    const login = (username: string, password: string) => request(limited.app).post("/api/auth/login").send({ username, password });

    it("the 4th wrong password for an account answers 429 with Retry-After, and an unknown name answers exactly alike", async () => {
      const ghost = `nobody-${randomUUID().slice(0, 8)}`;
      const seen: Record<string, Res[]> = { lead: [], [ghost]: [] };
      for (const name of ["lead", ghost]) for (let i = 0; i < 4; i++) seen[name]!.push(await login(name, `wrong-password-${i}`));
      const [real, none] = [seen.lead!, seen[ghost]!];
      for (const rs of [real, none]) {
        expect(rs.map((r) => r.status)).to.deep.equal([401, 401, 401, 429]);
        expect(rs[0]!.body.error).to.deep.equal({ code: "bad_credentials", message: "用户名或密码错误", details: {} });
        const limitedRes = rs[3]!;
        expect(limitedRes.body.error.code).to.equal("too_many_attempts");
        expect(limitedRes.body.error.message).to.match(/[\u4e00-\u9fff]/).and.match(/登录失败次数过多/);
        const retryAfter = Number(limitedRes.headers["retry-after"]);
        expect(retryAfter).to.be.greaterThan(0).and.at.most(15 * 60);
      }
      // No enumeration: the same status and message whether the account exists or not.
      for (let i = 0; i < 4; i++) {
        expect([none[i]!.status, none[i]!.body.error.code, none[i]!.body.error.message]).to.deep.equal([real[i]!.status, real[i]!.body.error.code, real[i]!.body.error.message]);
      }
      // Locked means locked: even the right password waits.
      const right = await login("lead", PASSWORD);
      expect(right.status).to.equal(429);
      expect(right.body).to.not.have.property("user");
      // Another account from the same address is not locked by it.
      await login("staff", PASSWORD).expect(200);
    });

    it("counts in Redis: attempts through two web processes add up", async () => {
      const other = testApp(w, { LOGIN_ATTEMPTS: "3" });
      try {
        const via = (app: typeof limited.app) => request(app).post("/api/auth/login").send({ username: "co", password: "wrong-password" });
        expect([(await via(limited.app)).status, (await via(other.app)).status, (await via(limited.app)).status, (await via(other.app)).status]).to.deep.equal([401, 401, 401, 429]);
      } finally {
        await other.close();
      }
    });

    it("while Redis is unreachable, signs in and counts attempts in the process", async () => {
      // As the web process connects (src/main.ts): no offline queue, so a command fails at once.
      const unreachable = queueConnection("redis://127.0.0.1:1");
      unreachable.on("error", () => {});
      const down = createApp({ config: loadConfig({ ...process.env, SESSION_SECRET: "s".repeat(40), LOG_LEVEL: "silent", LOGIN_ATTEMPTS: "2" }), clock: w.clock, service: w.service, redis: unreachable });
      const via = (password: string) => request(down).post("/api/auth/login").send({ username: "other", password });
      expect([(await via("wrong-password")).status, (await via("wrong-password")).status, (await via(PASSWORD)).status]).to.deep.equal([401, 401, 429]);
      await request(down).post("/api/auth/login").send({ username: "leader", password: PASSWORD }).expect(200);
      unreachable.disconnect();
    });
  });
});
