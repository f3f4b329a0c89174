import { expect } from "chai";
import { verifyChain, type ChainEntry } from "../../src/cases/history.ts";
import { CaseService } from "../../src/cases/service.ts";
import { Case, CaseHistory, type CaseDoc } from "../../src/db/models.ts";
import type { ImportReport } from "../../src/io/import.ts";
import { makeWorld, refusal, type World } from "../support/fixtures.ts";
import { ledgerState } from "../support/ledger.ts";
import { zipBombXlsx, xlsxWithText } from "../support/hostile.ts";
import { csv, demoUnits, gb18030, runImport, sampleRows, sampleText, xlsx, type Cells } from "./support.ts";

/** The deadlines of the sample list as the importer must read them (立行立改: 10 working days after 2026-03-02). */
const SAMPLE_DEADLINES: Record<string, string | null> = {
  "ZY2-01": "2023-12-31",
  "ZY2-02": "2024-06-30",
  "ZY2-03": "2023-10-31",
  "ZY2-04": "2026-03-16",
  "ZY2-05": null,
  "ZY2-06": "2024-12-31",
  "ZY2-07": "2025-12-31",
  "SJ1-01": "2023-09-30",
  "SJ1-02": "2023-08-31",
  "SJ1-03": "2024-12-31",
  "SJ1-04": "2023-12-31",
  "SJ1-05": "2026-03-16",
  "SJ2-01": "2024-03-31",
  "SJ2-02": "2024-06-30",
  "SJ2-03": "2023-11-30",
};

/** What an import produced, independent of ids and times: per item its fields, proposed units and the IMPORT entry's row. */
async function ledgerSummary() {
  const cases = await Case.find({}).sort({ ledgerNumber: 1 }).lean<CaseDoc[]>();
  const out = [];
  for (const c of cases) {
    const first = await CaseHistory.findById(`${c._id.toString()}:1`).lean<ChainEntry>();
    const p = first!.payload as Record<string, unknown>;
    out.push({
      ledgerNumber: c.ledgerNumber,
      round: c.round,
      title: c.title,
      description: c.description,
      category: c.category,
      goal: c.goal,
      measures: c.measures,
      immediate: c.immediate,
      longTerm: c.longTerm,
      plannedDeadline: c.plannedDeadline,
      state: c.state,
      entry: first!.type,
      row: p.row,
      leadUnit: p.leadUnit,
      coUnits: p.coUnits,
    });
  }
  return out;
}

describe("import of a feedback list", () => {
  let w: World;
  let units: Map<string, string>;
  beforeEach(async () => {
    w = await makeWorld("2026-03-02T09:00:00+08:00");
    units = await demoUnits();
  });

  it("imports the sample list: 15 items in registered, right units, deadlines and flags, an IMPORT entry naming file and row", async () => {
    const report = await runImport(w, sampleText(), "inspection-feedback-list.csv");
    expect(report).to.include({ status: "imported", format: "csv", encoding: "utf8", headerRow: 1, rows: 15, created: 15, toCreate: 15, unchanged: 0 });
    expect(report.errors).to.deep.equal([]);
    expect(report.written).to.deep.equal(Array.from({ length: 15 }, (_, i) => i + 2));

    const cases = await Case.find({}).lean<CaseDoc[]>();
    expect(cases).to.have.length(15);
    const rows = sampleRows().slice(1);
    for (const [i, r] of rows.entries()) {
      const [number, round, description, category, lead, co, goal, measures, due] = r as string[];
      const c = cases.find((x) => x.ledgerNumber === number)!;
      expect(c, number).to.include({ kind: "inspection", state: "registered", round, description, category, goal, measures, title: description!.split("，")[0] });
      expect(c.plannedDeadline, `${number} deadline`).to.equal(SAMPLE_DEADLINES[number!]);
      expect(c.immediate, `${number} 立行立改`).to.equal(due === "立行立改");
      expect(c.longTerm, `${number} 长期坚持`).to.equal(due === "长期坚持");
      expect(c.source).to.equal(round!.startsWith("中央") ? "中央生态环境保护督察" : "省级生态环境保护督察");
      const history = await CaseHistory.find({ caseId: c._id.toString() }).sort({ seq: 1 }).lean<ChainEntry[]>();
      expect(history).to.have.length(1);
      expect(history[0]).to.include({ type: "IMPORT", from: null, to: "registered" });
      expect(history[0]!.actor).to.include({ id: w.office.id, role: "office_staff" });
      expect(history[0]!.payload).to.deep.include({
        file: "inspection-feedback-list.csv",
        row: i + 2,
        ledgerNumber: number,
        leadUnitId: units.get(lead!),
        leadUnit: lead,
        coUnitIds: co!.split("、").map((n) => units.get(n)),
        deadlineText: due,
      });
      expect(verifyChain(c, history)).to.deep.equal({ ok: true, length: 1 });
    }
    const flagged = cases.filter((c) => c.immediate).map((c) => c.ledgerNumber);
    expect(flagged).to.have.members(["ZY2-04", "SJ1-05"]);
    expect(cases.filter((c) => c.longTerm).map((c) => c.ledgerNumber)).to.deep.equal(["ZY2-05"]);
  });

  it("a re-import of the same list changes nothing and says so; a changed row is a conflict, not an overwrite", async () => {
    await runImport(w, sampleText(), "list.csv");
    const before = await ledgerState();
    const again = await runImport(w, sampleText(), "list.csv");
    expect(again).to.include({ status: "unchanged", created: 0, unchanged: 15, toCreate: 0 });
    expect(again.message).to.contain("未作任何更改");
    // Another day: the 立行立改 rule gives another date, but the item is still the same item.
    w.clock.advanceDays(7);
    expect((await runImport(w, sampleText(), "list.csv")).status).to.equal("unchanged");
    expect(await ledgerState()).to.equal(before);

    const changed = sampleText()
      .replace("2024年6月30日", "2024年9月30日")
      .replace("SJ2-03,省级第二轮,放射源安全管理台账不健全,辐射,市生态环境局", "SJ2-03,省级第二轮,放射源安全管理台账不健全,辐射,市工信局");
    const withNew = `${changed.trimEnd()}\nSJ2-04,省级第二轮,新问题，需要整改,大气,市生态环境局,,目标,措施,2026年12月31日\n`;
    const r = await runImport(w, withNew, "list-v2.csv");
    expect(r.errors).to.deep.equal([]);
    expect(r.status).to.equal("conflict");
    expect(r.created).to.equal(0);
    expect(r.toCreate).to.equal(1);
    expect(r.conflicts.map((c) => [c.row, c.ledgerNumber])).to.deep.equal([
      [3, "ZY2-02"],
      [16, "SJ2-03"],
    ]);
    expect(r.conflicts[0]!.differences).to.deep.equal([{ column: "整改时限", file: "2024年9月30日", ledger: "2024-06-30" }]);
    expect(r.conflicts[1]!.differences).to.deep.equal([{ column: "牵头单位", file: "市工信局", ledger: "市生态环境局" }]);
    expect(r.conflicts[1]!.message).to.equal("第 16 行（SJ2-03）与台账不一致：“牵头单位”清单为“市工信局”，台账为“市生态环境局”");
    expect(await ledgerState()).to.equal(before);
  });

  it("a file with 3 bad rows among 50 imports nothing and reports exactly those 3, with row and column", async () => {
    const [head] = sampleRows();
    const rows: Cells[] = [head!];
    for (let i = 1; i <= 50; i++)
      rows.push([`T-${String(i).padStart(3, "0")}`, "省级第二轮", `第${i}号问题，情况说明`, "水", "市水务局", "市生态环境局、乙区人民政府", "目标", "措施", "2026年12月底前"]);
    rows[11]![4] = "市环保厅"; // row 12: unknown lead unit
    rows[24]![8] = "明年上半年"; // row 25: a deadline nobody can read
    rows[40]![5] = "市生态环境局;丁县人民政府"; // row 41: an unknown co-unit
    const before = await ledgerState();
    const r = await runImport(w, csv(rows), "bad.csv");
    expect(r.status).to.equal("invalid");
    expect(r.created).to.equal(0);
    expect(r.toCreate).to.equal(47);
    expect(r.errors.map((e) => [e.row, e.column, e.cell, e.value])).to.deep.equal([
      [12, "牵头单位", "E12", "市环保厅"],
      [25, "整改时限", "I25", "明年上半年"],
      [41, "配合单位", "F41", "市生态环境局;丁县人民政府"],
    ]);
    expect(r.errors[0]!.message).to.equal("第 12 行“牵头单位”列：“市环保厅”不是已登记的单位");
    expect(r.errors[1]!.message).to.match(/^第 25 行“整改时限”列：“明年上半年”无法识别为整改时限/);
    expect(r.errors[2]!.message).to.equal("第 41 行“配合单位”列：“丁县人民政府”不是已登记的单位");
    expect(r.message).to.equal("导入未通过：发现3 处错误，未写入任何数据");
    expect(await ledgerState()).to.equal(before);
    expect(await Case.countDocuments()).to.equal(0);
  });

  it("GB18030 CSV, UTF-8 CSV with BOM and .xlsx of the sample give the same ledger", async () => {
    const results: unknown[] = [];
    const rows = sampleRows();
    const files: [string, Buffer][] = [
      ["list.csv", Buffer.from(sampleText(), "utf8")],
      ["list-bom.csv", Buffer.from(`\uFEFF${sampleText()}`, "utf8")],
      ["list-gb.csv", gb18030(sampleText())],
      ["list.xlsx", await xlsx(rows)],
    ];
    for (const [name, data] of files) {
      w = await makeWorld("2026-03-02T09:00:00+08:00");
      await demoUnits();
      const r = await runImport(w, data, name);
      expect(r.status, name).to.equal("imported");
      expect(r.created, name).to.equal(15);
      if (name === "list-gb.csv") expect(r.encoding).to.equal("gb18030");
      if (name === "list.xlsx") expect(r).to.include({ format: "xlsx", sheet: "问题清单" });
      results.push(await ledgerSummary());
    }
    for (const r of results.slice(1)) expect(r).to.deep.equal(results[0]);
  });

  it("finds columns by header text: any order, variants, a title line above, Excel dates, full-width names and mixed separators", async () => {
    const rows: Cells[] = [
      ["2023年中央第二轮生态环境保护督察反馈问题整改清单", null, null],
      [null],
      ["完成时限", "责任单位", "协办单位", "问题描述", "序号", "督察轮次", "问题类别", "整改目标"],
      [new Date("2024-06-30T00:00:00Z"), " 生态环境局 ", "市水务局，甲县 ／市住建局", "某污水处理厂超标排放，群众反映强烈", "Ａ-01", "中央第二轮", "水污染", "稳定达标"],
      ["2024年底前", "市环保局", "", "某工地扬尘", "A-02", "中央第二轮", "大气", ""],
      ["2025/3/1", "工业园区管委会", "市发展改革委; 市工信局", "园区异味", "A-03", "中央第二轮", "大气", ""],
      ["立行立改、长期坚持", "市城管局", "", "垃圾乱堆", "A-04", "中央第二轮", "固废", ""],
    ];
    const r = await runImport(w, await xlsx(rows), "清单.xlsx");
    expect(r.errors).to.deep.equal([]);
    expect(r).to.include({ status: "imported", headerRow: 3, rows: 4, created: 4 });
    const byNumber = new Map((await Case.find({}).lean<CaseDoc[]>()).map((c) => [c.ledgerNumber, c]));
    expect([...byNumber.keys()].sort()).to.deep.equal(["A-01", "A-02", "A-03", "A-04"]);
    expect(byNumber.get("A-01")).to.include({ plannedDeadline: "2024-06-30", category: "水", goal: "稳定达标", title: "某污水处理厂超标排放" });
    expect(byNumber.get("A-02")).to.include({ plannedDeadline: "2024-12-31", category: "大气" });
    expect(byNumber.get("A-03")).to.include({ plannedDeadline: "2025-03-01" });
    expect(byNumber.get("A-04")).to.include({ plannedDeadline: "2026-03-16", immediate: true, longTerm: true });
    const first = await CaseHistory.findById(`${byNumber.get("A-01")!._id.toString()}:1`).lean<ChainEntry>();
    expect(first!.payload).to.deep.include({
      row: 4,
      sheet: "问题清单",
      leadUnitId: units.get("市生态环境局"),
      coUnitIds: [units.get("市水务局"), units.get("甲县人民政府"), units.get("市住建局")],
    });
    const second = await CaseHistory.findById(`${byNumber.get("A-02")!._id.toString()}:1`).lean<ChainEntry>();
    expect((second!.payload as { leadUnitId: string }).leadUnitId).to.equal(units.get("市生态环境局"));
  });

  it("reports repeated item numbers, missing cells, several lead units and bad categories, each by row and column", async () => {
    const [head] = sampleRows();
    const ok = (n: string): Cells => [n, "省级第二轮", "问题，说明", "水", "市水务局", "", "", "", "2026年12月31日"];
    const rows: Cells[] = [head!, ok("B-1"), ok("B-2"), ok("B-1"), ok("B-4"), ok("B-5"), ok("B-6"), ok("B-7"), ok("B-8")];
    rows[3]![0] = "B-1"; // row 4 repeats row 2
    rows[4]![1] = ""; // row 5: no round
    rows[5]![4] = "市水务局、市住建局"; // row 6: two lead units
    rows[6]![3] = "光污染"; // row 7: no such category
    rows[7]![8] = "2023年2月30日"; // row 8: no such day
    rows[8]![8] = ""; // row 9: no deadline
    rows.push(ok("B-10")); // row 10: a kind named like a property every object has
    for (const [i, r] of rows.entries()) r.push(i === 0 ? "案件类型" : i === 9 ? "constructor" : "督察反馈问题");
    const r = await runImport(w, csv(rows), "x.csv");
    expect(r.status).to.equal("invalid");
    expect(r.errors.map((e) => e.message)).to.deep.equal([
      "第 4 行“序号”列：“B-1”与第 2 行重复",
      "第 5 行“督察轮次”列：请填写督察轮次",
      "第 6 行“牵头单位”列：牵头单位只能填写一个单位，其他单位请填入“配合单位”列",
      "第 7 行“类别”列：“光污染”不是有效的问题类别（可选：大气、水、土壤、固废、噪声、生态、辐射、其他）",
      "第 8 行“整改时限”列：“2023年2月30日”不是有效日期",
      "第 9 行“整改时限”列：请填写整改时限",
      "第 10 行“案件类型”列：“constructor”不是有效的案件类型（督察反馈问题或环境信访投诉）",
    ]);
    expect(await Case.countDocuments()).to.equal(0);
  });

  it("refuses a file without a header, an .xls, and an empty file, with a message that says what to do", async () => {
    expect((await refusal(runImport(w, "a,b,c\n1,2,3\n", "x.csv"))).message).to.match(/^未找到表头/);
    expect((await refusal(runImport(w, "序号,问题描述,整改时限\n1,x,2024年6月\n", "x.csv"))).message).to.equal("第 1 行像是表头，但缺少“督察轮次”、“牵头单位”列");
    const xls = Buffer.concat([Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), Buffer.alloc(512)]);
    expect((await refusal(runImport(w, xls, "x.xls"))).message).to.contain("另存为 .xlsx");
    expect((await refusal(runImport(w, "", "x.csv"))).code).to.equal("import_bad_file");
    expect(await Case.countDocuments()).to.equal(0);
  });

  it("bounds a file: inflated size (counted, whatever the zip declares), rows and the length of a cell, with 413/422 in Chinese", async () => {
    const limits = { unzippedBytes: 4 * 2 ** 20, rows: 20, cellChars: 100 };
    // An .xlsx whose one cell inflates to 8 MB, its declared sizes rewritten to claim 10 bytes.
    const bomb = await zipBombXlsx(8);
    for (let at = bomb.indexOf("PK\x01\x02"); at >= 0; at = bomb.indexOf("PK\x01\x02", at + 4)) bomb.writeUInt32LE(10, at + 24);
    for (let at = bomb.indexOf("PK\x03\x04"); at >= 0; at = bomb.indexOf("PK\x03\x04", at + 4)) bomb.writeUInt32LE(10, at + 22);
    const big = await refusal(runImport(w, bomb, "x.xlsx", { limits }));
    expect([big.status, big.code, big.message]).to.deep.equal([413, "import_too_large", "文件解压后超过 4 MB，无法导入：请删去无关的工作表或分批导入"]);
    // Rich text of many tiny runs (each one an object once read) is refused by its number of tags.
    const runs = await xlsxWithText(() => [Buffer.from(`x</t>${"<r><t>a</t></r>".repeat(50_000)}<t>`)]);
    const tags = await refusal(runImport(w, runs, "x.xlsx", { limits: { ...limits, rows: 1000 } }));
    expect([tags.status, tags.code]).to.deep.equal([413, "import_too_large"]);
    expect(tags.message).to.contain("文字项过多");
    // One cell longer than a cell may be is refused before any text is built from it.
    const longRun = await refusal(runImport(w, await xlsxWithText(() => [Buffer.alloc(2000, "x")]), "x.xlsx", { limits }));
    expect([longRun.status, longRun.code]).to.deep.equal([422, "import_cell_too_long"]);
    const [head, row] = sampleRows();
    const long = [...row!];
    long[2] = "很".repeat(101);
    for (const [data, name] of [[await xlsx([head!, long]), "x.xlsx"], [csv([head!, long]), "x.csv"]] as const) {
      const e = await refusal(runImport(w, data, name, { limits }));
      expect([e.status, e.code, e.message], name).to.deep.equal([422, "import_cell_too_long", "第 2 行第 3 列的内容超过 100 个字符，无法导入"]);
    }
    const many = [head!, ...Array.from({ length: 20 }, (_, i) => [`X-${i}`, ...row!.slice(1)])];
    for (const [data, name] of [[await xlsx(many), "x.xlsx"], [csv(many), "x.csv"]] as const) {
      const e = await refusal(runImport(w, data, name, { limits }));
      expect([e.status, e.code, e.message], name).to.deep.equal([413, "import_too_large", "清单超过 20 行，无法导入：请分批导入"]);
    }
    // Within the limits the same rows import as before.
    expect((await runImport(w, csv(many.slice(0, 20)), "x.csv", { limits, dryRun: true })).status).to.equal("preview");
    expect((await runImport(w, await xlsx(many.slice(0, 20)), "x.xlsx", { limits, dryRun: true })).status).to.equal("preview");
    expect(await Case.countDocuments()).to.equal(0);
  });

  it("a dry run reports what would be created and writes nothing", async () => {
    const before = await ledgerState();
    const r = await runImport(w, sampleText(), "list.csv", { dryRun: true });
    expect(r).to.include({ status: "preview", dryRun: true, toCreate: 15, created: 0 });
    expect(r.preview).to.have.length(15);
    expect(r.preview[3]).to.deep.equal({
      row: 5,
      ledgerNumber: "ZY2-04",
      round: "中央第二轮",
      title: "危险废物贮存场所不规范",
      category: "固废",
      leadUnit: "市生态环境局",
      coUnits: ["市工信局"],
      plannedDeadline: "2026-03-16",
      immediate: true,
      longTerm: false,
    });
    expect(await ledgerState()).to.equal(before);
  });

  it("a write that fails midway reports the rows written; re-running the same file completes the import", async () => {
    // Another import of the same list, racing this one, registers ZY2-06 (row 7) between the check and the write.
    let raced = false;
    class Racing extends CaseService {
      override async createCases(...args: Parameters<CaseService["createCases"]>) {
        if (!raced) {
          raced = true;
          await super.createCases([args[0][5]!], args[1]);
        }
        return super.createCases(...args);
      }
    }
    const r: ImportReport = await runImport(w, sampleText(), "list.csv", { service: new Racing(w.clock) });
    expect(r.status).to.equal("incomplete");
    expect(r.written).to.deep.equal([2, 3, 4, 5, 6]);
    expect(r.failed).to.deep.equal({ row: 7, ledgerNumber: "ZY2-06", message: "台账编号“ZY2-06”已存在" });
    expect(r.message).to.contain("已写入 5 行（第 2–6 行）");
    expect(await Case.countDocuments()).to.equal(6);
    // The entries of the cases not created were taken back.
    expect(await CaseHistory.countDocuments()).to.equal(6);

    const again = await runImport(w, sampleText(), "list.csv");
    expect(again).to.include({ status: "imported", created: 9, unchanged: 6 });
    expect(await Case.countDocuments()).to.equal(15);
  });
});
