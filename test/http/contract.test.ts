import { expect } from "chai";
import request from "supertest";
import { ISO_DATE, addCalendarDays } from "../../workflows/index.ts";
import { notAfter } from "../../src/http/api.ts";
import { useApp, type Client } from "../support/app.ts";
import { newComplaint, newInspection } from "../support/fixtures.ts";

type Doc = {
  paths: Record<string, Record<string, Op>>;
  components: { securitySchemes: Record<string, { type: string; in: string; name: string }>; schemas: Record<string, unknown> };
};
type Op = {
  security: Record<string, string[]>[];
  parameters?: { name: string; in: string; required: boolean; schema: Record<string, unknown> }[];
  requestBody?: { content: Record<string, { schema: Record<string, unknown> & { properties: Record<string, unknown>; required: string[] }; encoding?: Record<string, { contentType: string }> }> };
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
};

describe("API contract", () => {
  const t = useApp({ start: "2026-03-02T09:00:00+08:00", users: ["staff"], once: true });
  let staff: Client;
  let doc: Doc;
  before(async () => {
    staff = t.as.staff;
    doc = (await request(t.app).get("/api/openapi.json").expect(200)).body;
  });

  const ops = () => Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })));
  const param = (path: string, method: string, name: string) => doc.paths[path]![method]!.parameters!.find((p) => p.name === name)!;

  describe("undeclared methods", () => {
    it("answer 405 with Allow listing the declared ones, as JSON, on every documented path", async () => {
      for (const [path, methods] of Object.entries(doc.paths)) {
        const url = path.replace("{id}", "6a0000000000000000000001");
        const res = await staff.delete(url);
        expect(res.status, `DELETE ${path}`).to.equal(405);
        const allow = String(res.headers.allow).split(", ");
        const declared = Object.keys(methods).map((m) => m.toUpperCase());
        expect(allow, path).to.include.members([...declared, "OPTIONS"]);
        expect(allow.filter((m: string) => !["HEAD", "OPTIONS"].includes(m)), path).to.have.members(declared);
        expect(res.body.error, path).to.include({ code: "method_not_allowed" });
        expect(res.body.error.message).to.match(/不支持 DELETE/);
      }
    });

    it("a concrete path is not taken for a templated one: GET /api/notices/ack is 405, not a notice named ack", async () => {
      const res = await staff.agent.get("/api/notices/ack").expect(405);
      expect(res.headers.allow).to.equal("POST, OPTIONS");
      const batch = await staff.agent.get("/api/cases/batch/events").expect(405);
      expect(batch.headers.allow).to.equal("POST, OPTIONS");
    });

    it("OPTIONS answers 204 with Allow, HEAD follows GET, and unknown paths stay 404", async () => {
      const options = await staff.agent.options("/api/cases").expect(204);
      expect(options.headers.allow).to.equal("GET, POST, HEAD, OPTIONS");
      await staff.agent.head("/api/cases").expect(200);
      await request(t.app).post("/healthz").expect(405);
      for (const url of ["/api/nope", "/api/cases/a/b/c"]) {
        expect((await staff.delete(url)).status, url).to.equal(404);
        expect((await staff.agent.get(url)).status, url).to.equal(404);
      }
    });
  });

  describe("the document", () => {
    it("declares the session cookie and the CSRF header as security schemes, and each operation's needs", () => {
      expect(doc.components.securitySchemes).to.deep.include({
        session: { ...doc.components.securitySchemes.session!, type: "apiKey", in: "cookie", name: "rf.sid" },
        csrf: { ...doc.components.securitySchemes.csrf!, type: "apiKey", in: "header", name: "X-CSRF-Token" },
      });
      expect(doc.paths["/api/auth/login"]!.post!.security).to.deep.equal([]);
      expect(doc.paths["/healthz"]!.get!.security).to.deep.equal([]);
      expect(doc.paths["/readyz"]!.get!.security).to.deep.equal([]);
      expect(doc.paths["/api/openapi.json"]!.get!.security).to.deep.equal([]);
      // Checkpoints are published for anyone keeping copies (docs/ledger.md).
      expect(doc.paths["/api/ledger/checkpoint"]!.get!.security).to.deep.equal([]);
      expect(doc.paths["/api/ledger/checkpoints"]!.get!.security).to.deep.equal([]);
      for (const { path, method, op } of ops()) {
        if (["/api/auth/login", "/api/auth/logout", "/api/openapi.json", "/healthz", "/readyz", "/api/ledger/checkpoint", "/api/ledger/checkpoints"].includes(path)) continue;
        expect(op.security, `${method} ${path}`).to.deep.equal(method === "get" ? [{ session: [] }] : [{ session: [], csrf: [] }]);
        expect(op.responses, `${method} ${path}`).to.have.property("401");
        // Never as parameters: a client (or a fuzzer) would send them as data.
        for (const p of op.parameters ?? []) expect(["rf.sid", "X-CSRF-Token"], `${method} ${path}`).to.not.include(p.name);
      }
    });

    it("gives dates as YYYY-MM-DD within 2000–2099 by the very pattern the validators use", async () => {
      const schema = param("/api/cases", "get", "deadlineFrom").schema;
      expect(schema.pattern).to.equal(ISO_DATE.source);
      const re = new RegExp(schema.pattern as string);
      expect(["2026-02-28", "2024-02-29", "2000-02-29", "2099-12-31"].filter((d) => !re.test(d))).to.deep.equal([]);
      expect(["2023-02-29", "2100-02-28", "1999-12-31", "2026-04-31", "2026-13-01", "2026-1-01", "２０２６-01-01"].filter((d) => re.test(d))).to.deep.equal([]);
      const body = doc.paths["/api/cases"]!.post!.requestBody!.content["application/json"]!.schema as unknown as { oneOf: { properties: Record<string, { pattern?: string }> }[] };
      expect(body.oneOf[0]!.properties.plannedDeadline!.pattern).to.equal(ISO_DATE.source);
      // The server agrees with the document on a date the pattern refuses.
      const res = await staff.agent.get("/api/cases?deadlineFrom=2023-02-29").expect(422);
      expect(res.body.error.details.fields[0].field).to.equal("query.deadlineFrom");
    });

    it("the date pattern is exactly the calendar, day by day from 1999 to 2100", () => {
      const bad: string[] = [];
      for (let d = "1999-12-01"; d <= "2100-01-31"; d = addCalendarDays(d, 1)) if (ISO_DATE.test(d) !== (d >= "2000-01-01" && d <= "2099-12-31")) bad.push(d);
      for (const y of ["2023", "2024", "2100"]) for (const md of ["02-29", "02-30", "04-31", "06-31", "09-31", "11-31", "00-01", "13-01", "01-00", "01-32"]) {
        const d = `${y}-${md}`;
        const real = !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d) && y < "2100";
        if (ISO_DATE.test(d) !== real) bad.push(d);
      }
      expect(bad).to.deep.equal([]);
    });

    it("gives paging as integers with their bounds, and path ids with their format (a malformed one is 404)", async () => {
      expect(param("/api/cases", "get", "pageSize").schema).to.deep.include({ type: "integer", minimum: 1, maximum: 100 });
      expect(param("/api/notices", "get", "page").schema).to.deep.include({ type: "integer", minimum: 1, maximum: 100_000 });
      expect(param("/api/cases/{id}", "get", "id")).to.deep.include({ in: "path", required: true, schema: { type: "string", pattern: "^[0-9a-fA-F]{24}$" } });
      expect(param("/api/cases/{id}/events", "post", "Idempotency-Key")).to.deep.include({ in: "header", required: false });
      for (const { path, op } of ops()) if (path.includes("{id}")) expect(op.responses, path).to.have.property("404");
      const res = await staff.agent.get("/api/cases/not-a-case").expect(404);
      expect(res.body.error).to.include({ code: "not_found", message: "案件不存在或无权查看" });
    });

    it("describes both multipart bodies with every field, and the media types each file may be", () => {
      const form = (path: string) => doc.paths[path]!.post!.requestBody!.content["multipart/form-data"]!;
      const imports = form("/api/imports");
      expect(imports.schema.properties).to.have.keys("file", "dryRun", "_csrf");
      expect(imports.schema).to.deep.include({ required: ["file"], additionalProperties: false });
      expect(imports.schema.properties.dryRun).to.deep.include({ enum: ["true", "false"] });
      expect(imports.encoding!.file!.contentType).to.contain("text/csv").and.contain("spreadsheetml.sheet");
      const evidence = form("/api/cases/{id}/attachments");
      expect(evidence.schema.properties).to.have.keys("file", "_csrf");
      expect(evidence.schema.properties.file).to.deep.include({ type: "string", format: "binary" });
      expect(evidence.encoding!.file!.contentType.split(", ")).to.include.members(["image/jpeg", "image/png", "application/pdf"]);
    });

    it("declares the error shape on every refusal, 403 on role-limited routes, and the list shapes", () => {
      for (const { path, method, op } of ops())
        for (const [status, r] of Object.entries(op.responses))
          if (Number(status) >= 400 && !(path === "/api/imports" || path === "/readyz"))
            expect(r.content?.["application/json"]?.schema, `${method} ${path} ${status}`).to.deep.equal({ $ref: "#/components/schemas/Error" });
      expect(doc.paths["/api/users"]!.get!.responses).to.have.property("403");
      expect(doc.paths["/api/cases/{id}/notices"]!.post!.responses).to.have.property("403");
      expect(doc.paths["/api/cases"]!.get!.responses["200"]!.content!["application/json"]!.schema).to.deep.equal({ $ref: "#/components/schemas/CaseList" });
      expect(doc.paths["/api/notices"]!.get!.responses["200"]!.content!["application/json"]!.schema).to.deep.equal({ $ref: "#/components/schemas/NoticeList" });
      expect(doc.paths["/api/digests"]!.get!.responses["200"]!.content!["application/json"]!.schema).to.deep.equal({ $ref: "#/components/schemas/DigestList" });
      expect(doc.components.schemas.Error).to.deep.include({ required: ["error"] });
      // Every success says what it holds: a schema with a shape, or the media types of a file.
      for (const { path, method, op } of ops()) {
        const ok = Object.entries(op.responses).find(([status]) => status.startsWith("2"))?.[1];
        const content = ok?.content ?? {};
        const json = content["application/json"]?.schema as Record<string, unknown> | undefined;
        if (!json) continue;
        expect(Object.keys(json), `${method} ${path} 2xx`).to.not.be.empty;
      }
    });

    it("says what every JSON body must be on the wire: no NUL, no $ keys, and text that is not only blanks", async () => {
      const body = doc.paths["/api/cases"]!.post!.requestBody!.content["application/json"]!.schema as unknown as {
        oneOf: { properties: Record<string, { pattern?: string; allOf?: { pattern: string }[]; maxLength?: number }>; propertyNames: { pattern: string } }[];
      };
      const inspection = body.oneOf[0]!;
      expect(inspection.properties.description!.pattern).to.equal("^[^\\u0000]*$");
      expect(inspection.propertyNames.pattern).to.equal("^(?:[^$\\u0000][^\\u0000]*)?$");
      const title = inspection.properties.title!;
      const visible = new RegExp(title.pattern!);
      expect(["   \t", "\u3000\ufeff", "\u0001\u0002", "", "题\u0000"].filter((x) => visible.test(x))).to.deep.equal([]);
      expect([" 题 ", "a", "\u00a0x\n"].filter((x) => !visible.test(x))).to.deep.equal([]);
      // The server refuses what the document refuses: blanks only, or more than maxLength as sent.
      const blank = await staff.post("/api/cases", { ...newInspection(), title: " \u3000 " }).expect(422);
      expect(blank.body.error.details.fields).to.deep.equal([{ field: "title", message: "请填写问题标题" }]);
      await staff.post("/api/cases", { ...newInspection(), title: ` ${"长".repeat(title.maxLength! - 1)} ` }).expect(422);
      // A ledger number in the complaints' format, blanks around it or not, is refused as the document's `not` says.
      const not = (inspection.properties.ledgerNumber as unknown as { not: { pattern: string } }).not.pattern;
      expect(new RegExp(not).test(" XF-2026-000001 ")).to.equal(true);
      await staff.post("/api/cases", { ...newInspection(), ledgerNumber: " XF-2026-000001 " }).expect(422);
    });

    it("bounds a complaint's receivedOn by the day the document was fetched, as the service does", async () => {
      const body = doc.paths["/api/cases"]!.post!.requestBody!.content["application/json"]!.schema as unknown as { oneOf: { properties: Record<string, { allOf?: { pattern: string }[] }> }[] };
      const until = new RegExp(body.oneOf[1]!.properties.receivedOn!.allOf![0]!.pattern);
      // The world's clock stands at 2026-03-02.
      expect(["2026-03-02", "2026-03-01", "2025-12-31", "2000-01-01"].filter((d) => !until.test(d))).to.deep.equal([]);
      expect(["2026-03-03", "2026-04-01", "2027-01-01", "2099-12-31"].filter((d) => until.test(d))).to.deep.equal([]);
      await staff.post("/api/cases", { ...newComplaint(), receivedOn: "2026-03-03" }).expect(422);
      await staff.post("/api/cases", { ...newComplaint(), receivedOn: "2026-03-02" }).expect(201);
    });

    it("notAfter() is the strings of a date's shape up to it", () => {
      const re = new RegExp(notAfter("2026-11-30"));
      const days: string[] = [];
      for (let d = "2025-12-25"; d <= "2026-12-05"; d = addCalendarDays(d, 1)) if (re.test(d) !== d <= "2026-11-30") days.push(d);
      expect(days).to.deep.equal([]);
    });
  });

  describe("what schemathesis found", () => {
    it("NUL in a key of a JSON body is refused like NUL in a value (400)", async () => {
      const res = await staff.post("/api/cases", { ...newInspection(), "x\u0000y": 1 }).expect(400);
      expect(res.body.error.code).to.equal("control_character");
    });

    it("NUL in a query value is a 422 naming the parameter, not a database error", async () => {
      const res = await staff.agent.get("/api/cases?q=%00").expect(422);
      expect(res.body.error.details.fields[0]).to.deep.include({ field: "query.q" });
    });

    it("a period given by one bound takes the other from that bound's year", async () => {
      await staff.agent.get("/api/exports/rates.xlsx?to=2020-06-30").expect(200);
      await staff.agent.get("/api/exports/rates.xlsx?from=2030-01-01").expect(200);
      await staff.agent.get("/api/exports/rates.xlsx?from=2026-02-01&to=2026-01-01").expect(422);
      await staff.agent.get("/api/stats?to=2020-06-30").expect(200);
      // The scorecard (JSON and page) follows the same rule, and refuses the bounds the wrong way round.
      const card = await staff.agent.get("/api/scorecard?to=2020-06-30").expect(200);
      expect([card.body.from, card.body.to]).to.deep.equal(["2020-01-01", "2020-06-30"]);
      await staff.agent.get("/api/scorecard?from=2026-02-01&to=2026-01-01").expect(422);
      await staff.agent.get("/api/stats?from=2026-02-01&to=2026-01-01").expect(422);
    });
  });
});
