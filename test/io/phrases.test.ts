import { expect } from "chai";
import { columnLetter, headerKey, isHeader, mapHeader } from "../../src/io/columns.ts";
import { parseDeadline } from "../../src/io/deadline-phrases.ts";
import { rowRanges, titleOf } from "../../src/io/import.ts";
import { detectEncoding } from "../../src/io/rows.ts";
import { UnitMatcher, splitUnits } from "../../src/io/units.ts";
import { gb18030 } from "./support.ts";

const dateOf = (cell: Parameters<typeof parseDeadline>[0]) => {
  const r = parseDeadline(cell);
  if (!r.ok) return `error: ${r.message}`;
  return r.value.kind === "date" ? r.value.date : r.value;
};

describe("reading a feedback list: deadline phrases, units, headers", () => {
  it("reads every deadline form of the issue, and nothing else", () => {
    const cases: [Parameters<typeof parseDeadline>[0], unknown][] = [
      ["2023年12月31日", "2023-12-31"],
      ["2023-12-31", "2023-12-31"],
      ["2023/12/31", "2023-12-31"],
      ["2023/1/5", "2023-01-05"],
      [" ２０２３年１２月３１日前 ", "2023-12-31"],
      ["2023-12-31 00:00:00", "2023-12-31"],
      [new Date("2023-12-31T00:00:00Z"), "2023-12-31"],
      [45291, "2023-12-31"],
      ["2023年12月底前", "2023-12-31"],
      ["2023年12月底", "2023-12-31"],
      ["2024年2月底前", "2024-02-29"],
      ["2023年2月", "2023-02-28"],
      ["2024年6月", "2024-06-30"],
      ["2024年底前", "2024-12-31"],
      ["2024年底", "2024-12-31"],
      ["立行立改", { kind: "immediate", longTerm: false }],
      ["长期坚持", { kind: "longTerm" }],
      ["立行立改，长期坚持", { kind: "immediate", longTerm: true }],
    ];
    for (const [cell, expected] of cases) expect(dateOf(cell), String(cell)).to.deep.equal(expected);
    for (const bad of ["明年上半年", "2023年", "2023-13-01", "2023年2月30日", "12/31/2023", "尽快", "2023.12.31", "1899年12月31日"])
      expect(parseDeadline(bad).ok, bad).to.equal(false);
    expect(dateOf("2023年2月30日")).to.equal("error: “2023年2月30日”不是有效日期");
    expect(dateOf("")).to.equal("error: 请填写整改时限");
    expect(parseDeadline(12).ok).to.equal(false);
  });

  it("matches units by name, short name or alias, full-width or half-width, with spaces; unknown and ambiguous ones are errors", () => {
    const m = new UnitMatcher([
      { id: "a", name: "市生态环境局", shortName: "生态环境局", aliases: ["市环保局"] },
      { id: "b", name: "各县区人民政府", aliases: ["各县（区）人民政府"] },
      { id: "c", name: "甲县人民政府", shortName: "甲县政府", aliases: ["甲县"] },
      { id: "d", name: "乙县人民政府", shortName: "县政府" },
      { id: "e", name: "丙县人民政府", shortName: "县政府" },
      { id: "f", name: "市旧局", aliases: ["市环保局"], active: false },
    ]);
    const id = (name: string) => {
      const r = m.match(name);
      return r.ok ? r.unit.id : r.message;
    };
    expect(id("市生态环境局")).to.equal("a");
    expect(id(" 生态环境局　")).to.equal("a");
    expect(id("市环保局")).to.equal("a");
    expect(id("各县(区)人民政府")).to.equal("b");
    expect(id("各县 （区） 人民政府")).to.equal("b");
    expect(id("甲县")).to.equal("c");
    expect(id("市环保厅")).to.equal("“市环保厅”不是已登记的单位");
    expect(id("县政府")).to.equal("“县政府”同时对应多个单位（乙县人民政府、丙县人民政府），请填写单位全称");
    expect(id("市旧局")).to.equal("f");
    expect(splitUnits("市水务局、市自然资源局，甲县 , 乙区;丙县；丁县/戊县／己县")).to.deep.equal(["市水务局", "市自然资源局", "甲县", "乙区", "丙县", "丁县", "戊县", "己县"]);
    expect(splitUnits("  ")).to.deep.equal([]);
  });

  it("finds header columns by text and variant, and names cells as a spreadsheet does", () => {
    const map = mapHeader(["序 号", "督察轮次", "问题描述", "类别", "责任单位", "协办单位", "整改目标", "整改措施", "完成时限（年月日）", "备注"]);
    expect(Object.fromEntries(Object.entries(map).map(([f, c]) => [f, c!.index]))).to.deep.equal({
      number: 0,
      round: 1,
      description: 2,
      category: 3,
      lead: 4,
      co: 5,
      goal: 6,
      measures: 7,
      deadline: 8,
    });
    expect(map.lead!.header).to.equal("责任单位");
    expect(isHeader(map)).to.equal(true);
    expect(isHeader(mapHeader(["中央第二轮督察反馈问题整改清单"]))).to.equal(false);
    expect(headerKey("*整改时限(年月日)")).to.equal("整改时限");
    expect(mapHeader(["编号", "台账编号"]).number!.index).to.equal(1);
    expect([0, 25, 26, 27, 701, 702].map(columnLetter)).to.deep.equal(["A", "Z", "AA", "AB", "ZZ", "AAA"]);
    expect(rowRanges([2, 3, 4, 7, 9, 10])).to.equal("2–4、7、9–10");
    expect(titleOf("城区部分燃煤锅炉淘汰不彻底，仍有12台在用")).to.equal("城区部分燃煤锅炉淘汰不彻底");
  });

  it("tells UTF-8 from GB18030", () => {
    const text = "序号,督察轮次,问题描述\nZY2-01,中央第二轮,城区部分燃煤锅炉淘汰不彻底\n";
    expect(detectEncoding(Buffer.from(text, "utf8"))).to.equal("utf8");
    expect(detectEncoding(Buffer.from(`\uFEFF${text}`, "utf8"))).to.equal("utf8");
    expect(detectEncoding(gb18030(text))).to.equal("gb18030");
    // A sample cut in the middle of a character is still UTF-8.
    expect(detectEncoding(Buffer.from(text, "utf8").subarray(0, 20))).to.equal("utf8");
  });
});
