/**
 * The 台账 search through the bigram index finds exactly the cases the plain case-insensitive regex over
 * title, ledger number and description finds, on a varied ledger registered through the case service.
 */
import { expect } from "chai";
import mongoose from "mongoose";
import { backfillGrams } from "../../src/cases/backfill.ts";
import { MAX_GRAMS, TRUNCATED, bigrams, gramsOf } from "../../src/cases/grams.ts";
import { listCases, searchFilter } from "../../src/cases/queries.ts";
import { Case } from "../../src/db/models.ts";
import { escapeRegex } from "../../src/directory.ts";
import { makeWorld, newInspection, type World } from "../support/fixtures.ts";

const TITLES = [
  "城区部分燃煤锅炉淘汰不彻底",
  "PM2.5浓度不降反升",
  "ＰＭ２．５年均浓度超标",
  "VOCs无组织排放问题突出",
  "ｖｏｃｓ治理设施运行不正常",
  "Ａ区污水处理厂超负荷运行",
  "a区雨污分流改造滞后",
  "西山村（一）号矿山生态修复滞后",
  "黑臭水体——白沙河段反弹",
  "建筑工地 扬尘 管控不力",
  "夜间施工噪声扰民，群众反映强烈",
  "𠀀字号企业危废贮存不规范",
  "Straße沿线餐饮油烟直排",
  "高新区COD超标排放",
  "cod在线监测数据异常",
];
const DESCRIPTIONS = [
  "仍有12台10蒸吨以下燃煤锅炉在用",
  "督察发现城东新区存在污染治理不到位问题，群众反映强烈，需按期整改到位。",
  "",
  "经开区企业VOCs排放超标 2.5 倍",
  "滨江街道：污水直排入河；整改　到位",
  "北湖镇养殖废水未处理，Ａ区、Ｂ区均有反映",
];
const NUMBERS = ["2026-督-015", "2026-督-016", "ZY2-01", "ZY2-1", "省督-2025-007", "ＺＹ３－０２", "zy4-03", "HB-2026-A12"];

/** The search as it was: the case-insensitive regex over the three texts of every case. */
const plain = (q: string) => {
  const re = mongoose.trusted({ $regex: escapeRegex(q.trim()), $options: "i" });
  return { $or: [{ ledgerNumber: re }, { title: re }, { description: re }] };
};
const idsOf = async (filter: Record<string, unknown>) => (await Case.find(filter, { _id: 1 }).lean()).map((c) => c._id.toString()).sort();

describe("台账 search by character bigrams", () => {
  let w: World;
  let longId = "";
  const tail = "这段文字在索引的二元组之外";

  before(async () => {
    w = await makeWorld();
    const items = [];
    for (let i = 0; i < 48; i++)
      items.push({
        input: {
          ...newInspection(),
          ledgerNumber: i < NUMBERS.length ? NUMBERS[i]! : `${NUMBERS[i % NUMBERS.length]}-${i}`,
          title: TITLES[i % TITLES.length]!,
          description: DESCRIPTIONS[(i * 5) % DESCRIPTIONS.length]!,
        },
      });
    // A complaint numbered by the service, and a description longer than the index keeps.
    items.push({ input: { kind: "complaint" as const, title: "群众反映夜间噪声", description: "噪声扰民", category: "噪声" as const, channel: "12369热线" as const } });
    const many = Array.from({ length: MAX_GRAMS + 200 }, (_, i) => String.fromCodePoint(0x4e00 + i * 3)).join("");
    items.push({ input: { ...newInspection(), ledgerNumber: "LONG-1", title: "长描述的案件", description: `${many}${tail}` } });
    expect((await w.service.createCases(items, w.office)).failed).to.equal(null);
    longId = (await Case.findOne({ ledgerNumber: "LONG-1" }).lean())!._id.toString();
  });

  it("the case service stores each case's bigrams as grams.ts computes them", async () => {
    for (const c of await Case.find({}).lean()) expect(c.grams, c.ledgerNumber).to.deep.equal(gramsOf(c));
    const long = await Case.findById(longId).lean();
    expect(long!.grams).to.include(TRUNCATED).and.have.length(MAX_GRAMS + 1);
    // The tail's bigrams are beyond the cap: only the mark makes the case a candidate.
    expect(bigrams(tail).some((g) => !long!.grams.includes(g))).to.equal(true);
  });

  it("finds exactly what the plain regex finds, for words, numbers, mixed case, full-width forms and any piece of the texts", async () => {
    const texts = (await Case.find({}, { title: 1, ledgerNumber: 1, description: 1 }).lean()).flatMap((c) => [c.title, c.ledgerNumber, c.description.slice(0, 200)]);
    const chosen = [
      "锅炉", "燃煤锅炉", "pm2.5", "PM2.5", "ｐｍ２．５", "Pm2", "ＰＭ", "voc", "VOCS", "ｖｏｃｓ", "cod", "COD超标",
      "2026-督", "督-015", "015", "-督-", "督", "2026", "zy2-0", "ZY2-01", "ｚｙ", "zy3", "a区", "Ａ区", "A区、Ｂ区", "a12",
      "整改　到位", "整改 到位", "整改到位", "（一）", "一）号", "——", "白沙河段", "扬尘 管控", "扬尘管控", "𠀀字", "straße", "STRASSE",
      "XF-", "夜间噪声", "不存在的词", "  锅炉  ", "a", "A", "2.5 倍", tail, "索引的二元组",
    ];
    // Pieces of the stored texts, of 1 to 6 characters, at positions spread over them (separators included).
    const pieces: string[] = [];
    for (let i = 0; i < 300; i++) {
      const s = [...texts[(i * 7) % texts.length]!];
      if (!s.length) continue;
      const from = (i * 13) % s.length;
      pieces.push(s.slice(from, from + 1 + (i % 6)).join(""));
    }
    let found = 0;
    for (const q of [...chosen, ...pieces]) {
      if (!q.trim()) continue;
      const want = await idsOf(plain(q));
      expect(await idsOf(searchFilter(q)), JSON.stringify(q)).to.deep.equal(want);
      if (want.length) found++;
    }
    // The comparison is not between two empty answers.
    expect(found).to.be.above(250);
    expect(await idsOf(searchFilter(tail))).to.deep.equal([longId]);
  });

  it("a list's search gives the same cases and total as the plain regex", async () => {
    for (const q of ["锅炉", "2026-督", "ＰＭ２．５", "督"]) {
      const r = await listCases(w.office, { q }, { page: 1, pageSize: 200, sort: "ledgerNumber" }, w.clock.now());
      const want = await idsOf(plain(q));
      expect(r.items.map((c) => c._id.toString()).sort(), q).to.deep.equal(want);
      expect(r.total, q).to.equal(want.length);
    }
  });

  it("keeps a unit within its own cases: a word only in another unit's case finds nothing, and the total says 0", async () => {
    const mine = await w.service.createCase({ ...newInspection(), ledgerNumber: "OWN-1", title: "本单位的河道保洁问题" }, w.office);
    const theirs = await w.service.createCase({ ...newInspection(), ledgerNumber: "OTHER-1", title: "住建局独有的渣土车抛洒问题" }, w.office);
    await w.service.applyEvent(mine._id.toString(), { type: "ASSIGN", payload: { leadUnitId: w.units.lead, deadline: "2026-06-30" } }, w.office);
    await w.service.applyEvent(theirs._id.toString(), { type: "ASSIGN", payload: { leadUnitId: w.units.other, deadline: "2026-06-30" } }, w.office);
    const paging = { page: 1, pageSize: 50, sort: "-updatedAt" as const };
    const now = w.clock.now();
    expect(await listCases(w.lead, { q: "渣土车抛洒" }, paging, now)).to.deep.include({ items: [], total: 0, totalCapped: false });
    // By the other unit's name (the search finds a unit's cases by it) too.
    expect(await listCases(w.lead, { q: "住建局" }, paging, now)).to.deep.include({ items: [], total: 0 });
    const own = await listCases(w.lead, { q: "河道保洁" }, paging, now);
    expect(own.items.map((c) => c._id.toString())).to.deep.equal([mine._id.toString()]);
    expect((await listCases(w.other, { q: "渣土车抛洒" }, paging, now)).total).to.equal(1);
    expect((await listCases(w.office, { q: "渣土车抛洒" }, paging, now)).total).to.equal(1);
  });

  it("the migration writes the bigrams onto cases stored without them, and a search finds them again", async () => {
    const before = await idsOf(searchFilter("燃煤锅炉"));
    expect(before.length).to.be.above(0);
    await Case.collection.updateMany({}, { $unset: { grams: "" } });
    expect(await idsOf(searchFilter("燃煤锅炉"))).to.deep.equal([]);
    const n = await Case.countDocuments({});
    expect(await backfillGrams()).to.equal(n);
    for (const c of await Case.find({}).lean()) expect(c.grams, c.ledgerNumber).to.deep.equal(gramsOf(c));
    expect(await idsOf(searchFilter("燃煤锅炉"))).to.deep.equal(before);
    expect(await backfillGrams()).to.equal(0);
  });
});
