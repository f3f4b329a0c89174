import { expect } from "chai";
import type { Response } from "superagent";
import type { Actor } from "../../workflows/index.ts";
import { SORTS } from "../../src/cases/queries.ts";
import { caseStats } from "../../src/cases/stats.ts";
import { Case, Unit, type CaseDoc } from "../../src/db/models.ts";
import { NoticeSweeper } from "../../src/notices/sweep.ts";
import { useApp, walk, type Client } from "../support/app.ts";
import { checked, evidence, newComplaint, visited, type World } from "../support/fixtures.ts";
import type { Signed } from "../support/http.ts";
import { ledgerState } from "../support/ledger.ts";
import { csv, demoUnits, readXlsx, sampleRows, sampleText } from "./support.ts";

/** supertest: the body as a Buffer (for .xlsx downloads). */
const binary = (res: Response, cb: (err: Error | null, body: Buffer) => void) => {
  const chunks: Buffer[] = [];
  res.on("data", (c: Buffer) => chunks.push(c));
  res.on("end", () => cb(null, Buffer.concat(chunks)));
};

describe("import and export over HTTP", () => {
  let units: Map<string, string>;
  const t = useApp({
    start: "2026-03-02T09:00:00+08:00",
    users: ["staff", "lead", "other", "leader"],
    setup: async () => {
      units = await demoUnits();
    },
  });
  let w: World;
  let staff: Client;
  let lead: Client;
  let other: Client;
  let leader: Client;
  beforeEach(() => {
    ({ w, as: { staff, lead, other, leader } } = t);
  });

  const upload = (s: Signed, data: Buffer | string, name: string, dryRun = false) =>
    s.agent
      .post(`/api/imports${dryRun ? "?dryRun=true" : ""}`)
      .set("X-CSRF-Token", s.csrf)
      .attach("file", typeof data === "string" ? Buffer.from(data, "utf8") : data, name);
  const download = (s: Signed, url: string) => s.agent.get(url).buffer(true).parse(binary);
  const act = (id: string, type: string, payload: Record<string, unknown>, who: Actor) => w.service.applyEvent(id, { type, payload }, who);
  const caseOf = async (n: string) => (await Case.findOne({ ledgerNumber: n }).lean<CaseDoc>())!._id.toString();

  it("office previews then imports the sample; units and the leader get 403 and nothing is written", async () => {
    const before = await ledgerState();
    for (const s of [lead, leader]) {
      const refused = await upload(s, sampleText(), "list.csv").expect(403);
      expect(refused.body.error.code).to.equal("forbidden");
    }
    await staff.agent.post("/api/imports").attach("file", Buffer.from(sampleText()), "list.csv").expect(403);
    const preview = await upload(staff, sampleText(), "问题清单.csv", true).expect(200);
    expect(preview.body).to.include({ status: "preview", toCreate: 15, created: 0 });
    expect(await ledgerState()).to.equal(before);

    const done = await upload(staff, sampleText(), "问题清单.csv").expect(201);
    expect(done.body).to.include({ status: "imported", created: 15, file: "问题清单.csv" });
    const detail = await staff.agent.get(`/api/cases/${await caseOf("ZY2-01")}`).expect(200);
    expect(detail.body.history).to.have.length(1);
    expect(detail.body.history[0]).to.deep.include({ type: "IMPORT", typeLabel: "导入" });
    expect(detail.body.history[0].payload).to.include({ file: "问题清单.csv", row: 2, leadUnit: "市发展改革委" });

    const again = await upload(staff, sampleText(), "问题清单.csv").expect(200);
    expect(again.body).to.include({ status: "unchanged", unchanged: 15, created: 0 });
  });

  it("answers a file with bad rows with 422 and every error, and writes nothing", async () => {
    const rows = sampleRows();
    rows[5]![4] = "市环保厅";
    const res = await upload(staff, csv(rows), "bad.csv").expect(422);
    expect(res.body.status).to.equal("invalid");
    expect(res.body.errors).to.have.length(1);
    expect(res.body.errors[0]).to.include({ row: 6, column: "牵头单位", cell: "E6", value: "市环保厅", message: "第 6 行“牵头单位”列：“市环保厅”不是已登记的单位" });
    expect(await Case.countDocuments()).to.equal(0);
    const notAFile = await staff.post("/api/imports").attach("file", Buffer.from("hello"), "x.csv").expect(422);
    expect(notAFile.body.error.code).to.equal("import_bad_file");
  });

  /** The sample imported, three items assigned (one signed with progress, one overdue and swept), a complaint. */
  async function ledgerWithWork() {
    await upload(staff, sampleText(), "list.csv").expect(201);
    const zy202 = await caseOf("ZY2-02");
    await act(zy202, "ASSIGN", { leadUnitId: w.units.lead, coUnitIds: [units.get("工业园区管委会")], deadline: "2026-06-30" }, w.office);
    await act(zy202, "SIGN", {}, w.lead);
    w.clock.set("2026-03-05T10:00:00+08:00");
    await act(zy202, "REPORT_PROGRESS", { percent: 40, text: "已完成提标改造方案", attachmentIds: [await evidence(zy202, w.lead)] }, w.lead);
    const zy206 = await caseOf("ZY2-06");
    await act(zy206, "ASSIGN", { leadUnitId: w.units.co, coUnitIds: [w.units.lead], deadline: "2026-09-30" }, w.office);
    const sj101 = await caseOf("SJ1-01");
    await act(sj101, "ASSIGN", { leadUnitId: w.units.other, coUnitIds: [], deadline: "2026-03-10" }, w.office);
    await w.service.createCase(newComplaint(), w.office);
    w.clock.set("2026-03-20T10:00:00+08:00");
    await new NoticeSweeper(w.service, w.clock).sweep();
  }

  it("exports the ledger: Chinese headers, frozen header row, widths, dates as dates; a unit gets only its own cases", async () => {
    await ledgerWithWork();
    const res = await download(staff, "/api/exports/ledger.xlsx?kind=inspection&sort=ledgerNumber").expect(200);
    expect(res.headers["content-type"]).to.equal("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    expect(res.headers["content-disposition"]).to.match(/^attachment; filename=.*\.xlsx/);
    const ExcelJS = (await import("exceljs")).default;
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(res.body as never);
    const ws = wb.getWorksheet("整改台账")!;
    expect(ws.views[0]).to.include({ state: "frozen", ySplit: 1 });
    expect(ws.getColumn(6).width).to.equal(40);
    const header = (ws.getRow(1).values as unknown[]).slice(1) as string[];
    expect(header).to.deep.equal(["序号", "台账编号", "案件类型", "来源", "督察轮次", "问题标题", "问题描述", "类别", "牵头单位", "配合单位", "整改目标", "整改措施", "整改时限", "状态", "超期天数", "最新进展（%）", "最新进展情况", "进展报送日期", "最近通知", "通知日期", "办结日期"]);
    expect(ws.rowCount).to.equal(16);
    // Each row by its headers.
    const record = (values: unknown[]) => Object.fromEntries(header.map((h, i) => [h, values[i]]));
    const rows = new Map<string, Record<string, unknown>>();
    const numbers: unknown[] = [];
    ws.eachRow((row, n) => {
      if (n === 1) return;
      const r = record((row.values as unknown[]).slice(1));
      rows.set(String(r.台账编号), r);
      numbers.push(r.序号);
    });
    expect(numbers).to.deep.equal(Array.from({ length: 15 }, (_, i) => i + 1));
    const zy202 = rows.get("ZY2-02")!;
    expect([zy202.台账编号, zy202.案件类型, zy202.来源, zy202.督察轮次, zy202.问题标题, zy202.类别, zy202.牵头单位, zy202.配合单位]).to.deep.equal(["ZY2-02", "督察反馈问题", "中央生态环境保护督察", "中央第二轮", "工业园区污水处理厂出水总氮间歇性超标", "水", "市生态环境局", "工业园区管委会"]);
    const stored = (await Case.findOne({ ledgerNumber: "ZY2-02" }).lean())!;
    expect(stored.description && stored.goal && stored.measures, "the sample row has all three").to.be.a("string").and.not.equal("");
    expect([zy202.问题描述, zy202.整改目标, zy202.整改措施]).to.deep.equal([stored.description, stored.goal, stored.measures]);
    expect(zy202.整改时限).to.be.instanceOf(Date);
    expect((zy202.整改时限 as Date).toISOString().slice(0, 10)).to.equal("2026-06-30");
    expect(zy202.状态).to.equal("整改中");
    expect([zy202["最新进展（%）"], zy202.最新进展情况]).to.deep.equal([40, "已完成提标改造方案"]);
    expect((zy202.进展报送日期 as Date).toISOString().slice(0, 10)).to.equal("2026-03-05");
    const sj101 = rows.get("SJ1-01")!;
    expect(sj101.状态).to.equal("已交办");
    expect(sj101.超期天数).to.equal(10);
    expect(sj101.最近通知).to.equal("督办通知");
    expect((sj101.通知日期 as Date).toISOString().slice(0, 10)).to.equal("2026-03-20");
    expect(rows.get("ZY2-05")!.整改时限).to.equal("长期坚持");
    expect(rows.get("ZY2-01")!.牵头单位).to.equal(undefined);
    expect(ws.getCell("M2").numFmt).to.equal("yyyy-mm-dd");

    // Units: only cases they lead or join (the same visibility as GET /api/cases).
    const mine = await readXlsx((await download(lead, "/api/exports/ledger.xlsx").expect(200)).body);
    expect(mine.get("整改台账")!.slice(1).map((r) => r[1]).sort()).to.deep.equal(["ZY2-02", "ZY2-06"]);
    const theirs = await readXlsx((await download(other, "/api/exports/ledger.xlsx").expect(200)).body);
    const otherRows = theirs.get("整改台账")!.slice(1);
    expect(otherRows.map((r) => r[1])).to.deep.equal(["SJ1-01"]);
    // The unit sees the notice in its own inbox (it reached the inbox when issued).
    expect(record(otherRows[0]!).最近通知).to.equal("督办通知");
    const filtered = await readXlsx((await download(staff, "/api/exports/ledger.xlsx?overdue=true").expect(200)).body);
    expect(filtered.get("整改台账")!.slice(1).map((r) => r[1])).to.deep.equal(["SJ1-01"]);
    await download(staff, "/api/exports/ledger.xlsx?sort=bogus").expect(422);
  });

  it("the exported ledger is in the 台账's order for every sort (cases without a deadline last, as the list shows them)", async () => {
    await ledgerWithWork();
    for (const s of [staff, lead])
      for (const sort of SORTS) {
        const listed = (await s.agent.get(`/api/cases?sort=${sort}&pageSize=100`).expect(200)).body.items.map((c: { ledgerNumber: string }) => c.ledgerNumber);
        const exported = (await readXlsx((await download(s, `/api/exports/ledger.xlsx?sort=${sort}`).expect(200)).body)).get("整改台账")!.slice(1).map((r) => r[1]);
        expect(exported, sort).to.deep.equal(listed);
      }
    const nearest = (await readXlsx((await download(staff, "/api/exports/ledger.xlsx?sort=deadline").expect(200)).body)).get("整改台账")!.slice(1);
    // The cases with a deadline first, nearest first (the complaint's is its acceptance limit, 03-17); those without one after them.
    expect(nearest.slice(0, 4).map((r) => String(r[1]).replace(/^XF-.*/, "XF"))).to.deep.equal(["SJ1-01", "XF", "ZY2-02", "ZY2-06"]);
  });

  it("a search exports the cases the 台账 lists for it, those found by their unit's name too", async () => {
    await ledgerWithWork();
    const unit = (await Unit.findById(w.units.co).lean())!;
    const someTitle = (await Case.findOne({}).lean())!.title.slice(0, 4);
    for (const s of [staff, lead])
      for (const q of [unit.name, someTitle]) {
        const listed = (await s.agent.get(`/api/cases?q=${encodeURIComponent(q)}&pageSize=100`).expect(200)).body.items.map((c: { ledgerNumber: string }) => c.ledgerNumber);
        const exported = (await readXlsx((await download(s, `/api/exports/ledger.xlsx?q=${encodeURIComponent(q)}`).expect(200)).body)).get("整改台账")!.slice(1).map((r) => r[1]);
        expect(exported, q).to.deep.equal(listed);
      }
    // The co-unit's name finds cases no title names: the search by name is what this compares.
    expect((await staff.agent.get(`/api/cases?q=${encodeURIComponent(unit.name)}`).expect(200)).body.total).to.be.above(0);
  });

  it("an exported ledger, imported again, is an update check: no changes", async () => {
    await ledgerWithWork();
    const exported = (await download(staff, "/api/exports/ledger.xlsx").expect(200)).body as Buffer;
    const before = await ledgerState();
    const check = await upload(staff, exported, "整改台账.xlsx").expect(200);
    expect(check.body.errors).to.deep.equal([]);
    expect(check.body.conflicts).to.deep.equal([]);
    expect(check.body).to.include({ status: "unchanged", rows: 16, unchanged: 16, created: 0 });
    // And the original list still agrees with the ledger, though three of its items were assigned since.
    expect((await upload(staff, sampleText(), "list.csv").expect(200)).body.status).to.equal("unchanged");
    expect(await ledgerState()).to.equal(before);
  });

  it("exports the rates per unit and overall, equal to a hand computation, with definitions and the scorecard", async () => {
    // Five complaints received 2026-03-02: C1 closed on time, C2 investigating (co unit), C3 declined and
    // answered, C4 only received, C5 accepted. Three inspection items closed: one on time, one late, and
    // ZY2-05, a 长期坚持 item without a deadline, which is neither (outside the 按期整改率, counted apart).
    const c = async () => (await w.service.createCase(newComplaint(), w.office))._id.toString();
    const [c1, c2, c3, , c5] = [await c(), await c(), await c(), await c(), await c()];
    for (const id of [c1!, c2!, c5!]) await act(id, "ACCEPT", {}, w.office);
    await act(c1!, "ASSIGN", { leadUnitId: w.units.lead, deadline: "2026-04-15" }, w.office);
    await act(c2!, "ASSIGN", { leadUnitId: w.units.co, deadline: "2026-04-15" }, w.office);
    await act(c1!, "SUBMIT_RESULT", { summary: "经查属实", violationFound: true, measures: "责令整改" }, w.lead);
    await act(c1!, "APPROVE", {}, w.office);
    await act(c1!, "REPLY", { text: "已责令整改", channel: "书面" }, w.office);
    await act(c1!, "CLOSE", visited(w), w.office);
    await act(c3!, "DECLINE", { reason: "不属于本部门职责" }, w.office);
    await act(c3!, "REPLY", { text: "请向有关部门反映", channel: "书面" }, w.office);
    // C3's complainant says nothing at the 回访: closed, but out of the 满意率.
    await act(c3!, "CLOSE", visited(w, "未表态"), w.office);

    await upload(staff, sampleText(), "list.csv").expect(201);
    const [i1, i2, i3] = [await caseOf("ZY2-01"), await caseOf("ZY2-02"), await caseOf("ZY2-05")];
    await act(i1, "ASSIGN", { leadUnitId: w.units.lead, deadline: "2026-06-30" }, w.office);
    await act(i2, "ASSIGN", { leadUnitId: w.units.lead, deadline: "2026-03-10" }, w.office);
    await act(i3, "ASSIGN", { leadUnitId: w.units.lead }, w.office);
    w.clock.set("2026-03-20T10:00:00+08:00");
    await new NoticeSweeper(w.service, w.clock).sweep();
    for (const id of [i1, i2, i3]) {
      await act(id, "SIGN", {}, w.lead);
      await act(id, "SUBMIT", { summary: "已完成整改", attachmentIds: [await evidence(id, w.lead)] }, w.lead);
      await act(id, "PASS", await checked(w, id, { publicityDays: 0 }), w.office);
    }

    const res = await download(staff, "/api/exports/rates.xlsx?from=2026-03-01&to=2026-03-31").expect(200);
    const book = await readXlsx(res.body);
    expect([...book.keys()]).to.deep.equal(["统计", "指标说明", "考评", "考评明细"]);
    const [header, ...rows] = book.get("统计")!;
    expect(header!.slice(0, 20)).to.deep.equal(["单位", "收到信访件", "已受理", "已交办查处", "已办结", "已答复", "按期办结", "受理率", "查处率", "结案率", "回复率", "按期办结率", "回访表态", "满意及基本满意", "满意率", "督察问题已销号", "按期销号", "按期整改率", "考评扣分", "销号的长期坚持事项（不计入按期整改率）"]);
    const byUnit = new Map(rows.map((r) => [r[0] as string, r.slice(1, 18)]));
    // ZY2-05 is listed apart and leaves the rate at 1 of 2 (counted as late it would make it 1 of 3).
    expect(["全部（合计）", "市生态环境局", "市水务局"].map((u) => rows.find((r) => r[0] === u)![19])).to.deep.equal([1, 1, 0]);
    // Overall: received 5, accepted 3 (C1 C2 C5), investigated 2 (C1 C2), closed 1 (C1; C3 was never accepted), replied 2
    // (C1 C3), on time 1; at the 回访 one answered (C1, 满意; C3 said nothing), so the 满意率 is 1 of 1.
    expect(byUnit.get("全部（合计）")).to.deep.equal([5, 3, 2, 1, 2, 1, 0.6, 0.6667, 0.3333, 0.4, 1, 1, 1, 1, 3, 1, 0.5]);
    // 市生态环境局 leads C1 and the three items (ZY2-02 closed after its deadline, ZY2-05 without one).
    expect(byUnit.get("市生态环境局")).to.deep.equal([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3, 1, 0.5]);
    // 市水务局 leads C2: accepted and investigating, not closed, not replied; no closed complaint → no on-time rate.
    expect(byUnit.get("市水务局")).to.deep.equal([1, 1, 1, 0, 0, 0, 1, 1, 0, 0, undefined, 0, 0, undefined, 0, 0, undefined]);
    const defs = book.get("指标说明")!;
    expect(defs.map((r) => r[0])).to.include.members(["受理率", "查处率", "结案率", "回复率", "按期办结率", "满意率", "按期整改率", "考评扣分"]);
    expect(defs.find((r) => r[0] === "满意率")!.slice(1)).to.deep.equal(["（满意 + 基本满意）÷ 回访表态", "统计期间内收到的信访件中，办结前回访时信访人表示满意或基本满意的，占回访时作出表态（满意、基本满意、不满意）的比例；“未表态”不计入分母"]);
    // ZY2-02 was overdue at its first sweep: one notice, the supervision notice, counts against its lead unit
    // (the yellow and red warnings that fell due in the same pass were superseded by it).
    const score = book.get("考评")!;
    const sthjj = score.find((r) => r[0] === "市生态环境局")!;
    expect(sthjj[1]).to.equal(-2);
    expect(rows.find((r) => r[0] === "市生态环境局")![18]).to.equal(-2);
    // Every point traced to its notice: [ledger number, level, points]; sign-for and due reminders count 0.
    const lines = book.get("考评明细")!.slice(1).filter((r) => r[0] === "市生态环境局");
    expect(lines.filter((r) => r[2] !== 0).map((r) => [r[3], r[1], r[2]])).to.have.deep.members([["ZY2-02", "督办通知", -2]]);
    expect(lines.every((r) => r[4] instanceof Date)).to.equal(true);

    // A unit gets its own row and scorecard only; the leader reads everything.
    const own = await readXlsx((await download(lead, "/api/exports/rates.xlsx?from=2026-03-01&to=2026-03-31").expect(200)).body);
    expect(own.get("统计")!.slice(1).map((r) => r[0])).to.deep.equal(["市生态环境局"]);
    expect(own.get("考评")!.slice(1).map((r) => r[0])).to.deep.equal(["市生态环境局"]);
    await download(leader, "/api/exports/rates.xlsx").expect(200);
    await download(staff, "/api/exports/rates.xlsx?from=2026-04-01&to=2026-03-01").expect(422);
  });

  it("gives each unit's row what caseStats gives that unit (lead and co-units alike) and the overall row the overall figures", async () => {
    // Units with different figures, so a row given another unit's (or the lead unit's alone) shows.
    await walk(w, "complaint", "closed", { unit: "lead", coUnitIds: [w.units.co] });
    await walk(w, "complaint", "investigating.working", { unit: "co" });
    await walk(w, "complaint", "replied", { unit: "other", coUnitIds: [w.units.lead] });
    await w.service.createCase(newComplaint(), w.office);
    await walk(w, "inspection", "closed", { n: 1, unit: "other", coUnitIds: [w.units.co, w.units.lead] });
    const late = (await walk(w, "inspection", "rectifying.working", { n: 2, unit: "co", deadline: "2026-03-05" }))._id.toString();
    await walk(w, "inspection", "rectifying.working", { n: 3, unit: "lead" });
    // Closed after its deadline.
    w.clock.set("2026-03-10T10:00:00+08:00");
    await act(late, "SUBMIT", { summary: "已完成整改", attachmentIds: [await evidence(late, w.co)] }, w.co);
    await act(late, "PASS", await checked(w, late, { publicityDays: 0 }), w.office);
    const range = { from: "2026-03-01", to: "2026-03-31" };
    const rows = (await readXlsx((await download(staff, `/api/exports/rates.xlsx?from=${range.from}&to=${range.to}`).expect(200)).body)).get("统计")!.slice(1);
    const expected = async (unit?: string) => {
      const { complaints: c, inspections: i } = await caseStats(w.office, { ...range, unit }, w.clock.now());
      const r = c.rates;
      const figures = [c.received, c.accepted, c.investigated, c.closed, c.replied, c.closedOnTime, r.acceptance, r.investigation, r.closure, r.reply, r.onTime, c.answered, c.satisfied, r.satisfaction, i.closed, i.closedOnTime, i.onTimeRate];
      return [...figures.map((v) => v ?? undefined), i.longTerm];
    };
    const shown = (name: string) => {
      const row = rows.find((r) => r[0] === name);
      expect(row, name).to.not.equal(undefined);
      return [...row!.slice(1, 18), row![19]];
    };
    expect(shown("全部（合计）")).to.deep.equal(await expected());
    const units = await Unit.find({ active: true }).lean();
    expect(rows).to.have.length(units.length + 1);
    for (const u of units) expect(shown(u.name), u.name).to.deep.equal(await expected(u._id.toString()));
    // The co-unit counts too: 市水务局 has one complaint it leads, one it co-handles, and both items closed.
    expect(shown("市水务局").slice(0, 1).concat(shown("市水务局")[14]!)).to.deep.equal([2, 2]);
  });
});
