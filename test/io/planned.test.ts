/**
 * Import feeds assignment: the list's 牵头单位, 配合单位 and 整改时限 stay on the created cases as their
 * planned assignment, 按清单交办 applies it (page and API), registration reads the same deadline
 * phrases, and the import page's template imports as it stands.
 */
import { expect } from "chai";
import type { Response } from "superagent";
import { Case, CaseHistory, Unit, type CaseDoc } from "../../src/db/models.ts";
import { useApp, type Client } from "../support/app.ts";
import type { World } from "../support/fixtures.ts";
import { ledgerState } from "../support/ledger.ts";
import { csv, demoUnits, readXlsx, runImport } from "./support.ts";

const binary = (res: Response, cb: (err: Error | null, body: Buffer) => void) => {
  const chunks: Buffer[] = [];
  res.on("data", (c: Buffer) => chunks.push(c));
  res.on("end", () => cb(null, Buffer.concat(chunks)));
};

const HEAD = ["序号", "督察轮次", "问题描述", "类别", "牵头单位", "配合单位", "整改目标", "整改措施", "整改时限"];

describe("import feeds assignment", () => {
  let units: Map<string, string>;
  const t = useApp({
    // 2026-12-01: the list's 2027 deadlines are ahead, its 2025 one has passed.
    start: "2026-12-01T09:00:00+08:00",
    users: ["staff", "lead"],
    setup: async () => {
      units = await demoUnits();
    },
  });
  let w: World;
  let staff: Client;
  let lead: Client;
  beforeEach(() => {
    ({ w, as: { staff, lead } } = t);
  });

  const list = () =>
    csv([
      HEAD,
      ["QD-01", "中央第二轮", "城区燃煤锅炉淘汰不彻底，仍有12台在用", "大气", "市生态环境局", "市水务局、市住建局", "全部淘汰", "逐台关停", "2027年6月底前"],
      ["QD-02", "中央第二轮", "河道黑臭水体反弹，治理成效不稳固", "水", "市水务局", "", "消除黑臭", "截污纳管", "2027-03-31"],
      ["QD-03", "中央第二轮", "矿山生态修复滞后", "生态", "市自然资源局", "", "", "", "2025年12月底前"],
      ["QD-04", "中央第二轮", "长效机制建设", "其他", "市生态环境局", "", "", "", "长期坚持"],
    ]);
  const byNumber = async (n: string) => (await Case.findOne({ ledgerNumber: n }).lean<CaseDoc>())!;
  const batch = (s: Client, ids: string[]) => s.agent.post("/api/cases/batch/assign-planned").set("X-CSRF-Token", s.csrf).send({ ids });

  it("keeps the list's 牵头单位, 配合单位 and deadline on each created case, still 待交办", async () => {
    const report = await runImport(w, list(), "清单.csv");
    expect(report.status).to.equal("imported");
    const c = await byNumber("QD-01");
    expect(c).to.include({ state: "registered", leadUnitId: null, deadline: null, plannedLeadUnitId: units.get("市生态环境局"), plannedDeadline: "2027-06-30" });
    expect(c.plannedCoUnitIds).to.deep.equal([units.get("市水务局"), units.get("市住建局")]);
    expect(c.coUnitIds).to.deep.equal([]);
    expect(await byNumber("QD-04")).to.include({ longTerm: true, plannedDeadline: null, plannedLeadUnitId: units.get("市生态环境局") });

    // The case page shows the planned assignment, and the 交办 form starts from it.
    const page = (await staff.agent.get(`/cases/${c._id.toString()}`).expect(200)).text;
    const planned = page.slice(page.indexOf('id="case-planned"'), page.indexOf("</tr>", page.indexOf('id="case-planned"')));
    expect(planned).to.contain("拟交办").and.contain("牵头：市生态环境局").and.contain("市水务局、市住建局").and.contain("2027-06-30");
    const form = page.slice(page.indexOf('id="action-ASSIGN"'), page.indexOf("</form>", page.indexOf('id="action-ASSIGN"')));
    expect(form).to.match(new RegExp(`<option value="${units.get("市生态环境局")}" selected>`));
    expect(form).to.contain(`value="${units.get("市水务局")}" checked`).and.contain(`value="${units.get("市住建局")}" checked`);
    expect(form).to.not.contain(`value="${units.get("市自然资源局")}" checked`);
    expect(form).to.match(/name="deadline" value="2027-06-30"/);
    // The API shows it too.
    const api = await staff.agent.get(`/api/cases/${c._id.toString()}`).expect(200);
    expect(api.body.case).to.include({ plannedLeadUnitId: units.get("市生态环境局"), plannedDeadline: "2027-06-30" });
  });

  it("按清单交办 over the API assigns each case to its listed units and deadline, and names each refusal", async () => {
    await runImport(w, list(), "清单.csv");
    const [a, b, old, long] = await Promise.all(["QD-01", "QD-02", "QD-03", "QD-04"].map(byNumber));
    // QD-02 assigned by hand already.
    await w.service.applyEvent(b!._id.toString(), { type: "ASSIGN", payload: { leadUnitId: w.units.other, deadline: "2027-01-31" } }, w.office);
    const res = await batch(staff, [a, b, old, long].map((c) => c!._id.toString())).expect(200);
    expect(res.body).to.include({ done: 2, failed: 2 });
    const rows = res.body.rows as { ledgerNumber: string; ok: boolean; message: string }[];
    expect(rows.map((r) => [r.ledgerNumber, r.ok])).to.deep.equal([
      ["QD-01", true],
      ["QD-02", false],
      ["QD-03", false],
      ["QD-04", true],
    ]);
    expect(rows[0]!.message).to.equal("已交办 市生态环境局、市水务局、市住建局，时限 2027-06-30");
    expect(rows[1]!.message).to.contain("已交办").and.not.match(/版本|version/i);
    expect(rows[2]!.message).to.contain("清单所列时限 2025-12-31 不能直接交办").and.contain("不能早于今天");
    expect(rows[3]!.message).to.contain("长期坚持");

    const assigned = await byNumber("QD-01");
    expect(assigned).to.include({ state: "assigned", leadUnitId: units.get("市生态环境局"), deadline: "2027-06-30" });
    expect(assigned.coUnitIds).to.deep.equal([units.get("市水务局"), units.get("市住建局")]);
    const entry = await CaseHistory.findById(`${assigned._id.toString()}:2`).lean();
    expect(entry).to.include({ type: "ASSIGN" });
    // The refused ones are as they were.
    expect(await byNumber("QD-03")).to.include({ state: "registered", leadUnitId: null });
    expect((await byNumber("QD-02")).leadUnitId).to.equal(w.units.other);
  });

  it("按清单交办 refuses a case without a planned unit, and one whose listed unit was stopped, by name", async () => {
    const plain = await w.service.createCase({ kind: "inspection", ledgerNumber: "DJ-01", round: "中央第二轮", title: "手工登记的问题" }, w.office);
    await runImport(w, list(), "清单.csv");
    const a = await byNumber("QD-01");
    await Unit.updateOne({ name: "市住建局" }, { $set: { active: false } });
    const res = await batch(staff, [plain._id.toString(), a._id.toString()]).expect(200);
    expect(res.body.rows.map((r: { message: string }) => r.message)).to.deep.equal(["清单未列牵头单位，请在案件页交办", "清单所列单位“市住建局”已停用，请在案件页另选单位交办"]);
    expect((await byNumber("QD-01")).state).to.equal("registered");
  });

  it("a unit cannot call 按清单交办 (403), and nothing is written", async () => {
    await runImport(w, list(), "清单.csv");
    const a = await byNumber("QD-01");
    const before = await ledgerState();
    const res = await batch(lead, [a._id.toString()]).expect(403);
    expect(res.body.error.code).to.equal("forbidden");
    const page = await lead.agent.post("/cases/batch").type("form").send({ _csrf: lead.csrf, action: "ASSIGN_PLANNED", ids: a._id.toString() });
    expect(page.status).to.equal(403);
    expect(await ledgerState()).to.equal(before);
  });

  it("按清单交办 from the 台账's 待交办 list: the result names each case in words", async () => {
    await runImport(w, list(), "清单.csv");
    const ids = await Promise.all(["QD-01", "QD-03"].map(async (n) => (await byNumber(n))._id.toString()));
    const listPage = (await staff.agent.get("/cases?awaiting=assign&sort=ledgerNumber").expect(200)).text;
    expect(listPage).to.contain('id="batch-assign-planned"').and.contain("拟：市生态环境局").and.contain("拟：2027-06-30");
    const res = await staff.agent
      .post("/cases/batch")
      .type("form")
      .send(`_csrf=${encodeURIComponent(staff.csrf)}&action=ASSIGN_PLANNED&back=${encodeURIComponent("/cases?awaiting=assign")}&ids=${ids[0]}&ids=${ids[1]}`)
      .expect(200);
    const result = res.text.slice(res.text.indexOf('id="batch-result"'), res.text.indexOf("</section>", res.text.indexOf('id="batch-result"')));
    expect(result).to.contain("成功 1 件，未办理 1 件").and.contain("QD-01").and.contain("已交办 市生态环境局").and.contain("QD-03").and.contain("2025-12-31");
  });

  it("registration reads 计划整改时限 as the import does (2027年6月底前, 长期坚持), and keeps the planned units", async () => {
    const post = (body: Record<string, string | string[]>) => staff.agent.post("/cases/new/inspection").type("form").send({ _csrf: staff.csrf, ...body });
    const base = { ledgerNumber: "DJ-10", round: "中央第二轮", title: "登记的问题", plannedLeadUnitId: w.units.lead, plannedCoUnitIds: w.units.co };
    const bad = await post({ ...base, plannedDeadline: "明年上半年" });
    expect(bad.status).to.equal(422);
    expect(bad.text).to.contain("“明年上半年”无法识别为整改时限");
    expect(await Case.countDocuments({ ledgerNumber: "DJ-10" })).to.equal(0);

    await post({ ...base, plannedDeadline: "2027年6月底前" }).expect(303);
    expect(await byNumber("DJ-10")).to.deep.include({ plannedDeadline: "2027-06-30", plannedLeadUnitId: w.units.lead, plannedCoUnitIds: [w.units.co], longTerm: false });
    await post({ ...base, ledgerNumber: "DJ-11", plannedDeadline: "长期坚持" }).expect(303);
    expect(await byNumber("DJ-11")).to.include({ plannedDeadline: null, longTerm: true });
    // Over the API, a well-formed unit id the directory lacks is a body the ledger cannot take (409), and nothing is written.
    const api = await staff.agent.post("/api/cases").set("X-CSRF-Token", staff.csrf).send({ kind: "inspection", ledgerNumber: "DJ-12", round: "中央第二轮", title: "问题", plannedLeadUnitId: "0" }).expect(409);
    expect(api.body.error.details.fields).to.deep.equal([{ field: "plannedLeadUnitId", message: "所选单位不存在或已停用" }]);
    expect(await Case.countDocuments({ ledgerNumber: "DJ-12" })).to.equal(0);
    // The page offers the units in one order (the 单位管理 page's), as checkboxes.
    const form = (await staff.agent.get("/cases/new/inspection").expect(200)).text;
    expect(form).to.contain('type="checkbox" name="plannedCoUnitIds"');
  });

  it("the import page offers its template; the template imports as it stands (round trip)", async () => {
    const page = (await staff.agent.get("/cases/import").expect(200)).text;
    expect(page).to.contain('href="/cases/import/template.xlsx"');
    const res = await staff.agent.get("/cases/import/template.xlsx").buffer(true).parse(binary).expect(200);
    expect(res.headers["content-type"]).to.contain("spreadsheetml");
    const sheets = await readXlsx(res.body as Buffer);
    expect([...sheets.keys()]).to.deep.equal(["问题清单", "填写说明"]);
    const [head, example] = sheets.get("问题清单")!;
    expect(head).to.deep.equal(HEAD);
    expect(example![8]).to.equal("2027年6月底前");
    expect(sheets.get("填写说明")!.map((r) => r[0])).to.include.members(HEAD);

    const preview = await runImport(w, res.body as Buffer, "问题清单模板.xlsx", { dryRun: true });
    expect(preview).to.include({ status: "preview", rows: 1, toCreate: 1 });
    expect(preview.errors).to.deep.equal([]);
    const done = await runImport(w, res.body as Buffer, "问题清单模板.xlsx");
    expect(done).to.include({ status: "imported", created: 1 });
    const c = await byNumber("示例-01");
    expect(c).to.include({ plannedDeadline: "2027-06-30", category: "水" });
    expect(c.plannedLeadUnitId).to.be.a("string");
    // A unit cannot fetch it.
    await lead.agent.get("/cases/import/template.xlsx").expect(403);
  });
});
