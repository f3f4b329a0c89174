/**
 * Demo data: the units of the sample feedback list (data/samples), a user for every role, and a
 * small ledger. Idempotent: what exists is left as it is.
 */
import { readFileSync } from "node:fs";
import { addCalendarDays, shanghaiDate, type Actor } from "../workflows/index.ts";
import { storeAttachment } from "./cases/attachments.ts";
import { CaseService } from "./cases/service.ts";
import { ManualClock } from "./clock.ts";
import { NoticeSweeper } from "./notices/sweep.ts";
import { Case, Unit, User } from "./db/models.ts";
import { actorOf, createUnit, createUser } from "./directory.ts";

/** [code (login name of the unit's liaison), full name, short name, aliases] */
export const DEMO_UNITS: [string, string, string, string[]][] = [
  ["fgw", "市发展改革委", "发改委", ["市发展和改革委员会", "市发改委"]],
  ["gxj", "市工信局", "工信局", ["市工业和信息化局"]],
  ["scjgj", "市市场监管局", "市场监管局", ["市市场监督管理局"]],
  ["sthjj", "市生态环境局", "生态环境局", ["市环保局", "市环境保护局"]],
  ["yqgwh", "工业园区管委会", "园区管委会", ["市工业园区管理委员会"]],
  ["jiaxian", "甲县人民政府", "甲县政府", ["甲县"]],
  ["swj", "市水务局", "水务局", []],
  ["zrzyj", "市自然资源局", "自然资源局", ["市自然资源和规划局"]],
  ["zjj", "市住建局", "住建局", ["市住房和城乡建设局"]],
  ["cgj", "市城管局", "城管局", ["市城市管理局"]],
  ["jtysj", "市交通运输局", "交通运输局", []],
  ["yiqu", "乙区人民政府", "乙区政府", ["乙区"]],
  ["bingxian", "丙县人民政府", "丙县政府", ["丙县"]],
  ["swuj", "市商务局", "商务局", []],
  ["nyncj", "市农业农村局", "农业农村局", []],
  ["gxqzf", "各县区人民政府", "各县区政府", ["各县（区）人民政府"]],
  ["wjw", "市卫生健康委", "卫健委", ["市卫生健康委员会", "市卫健委"]],
  ["gaj", "市公安局", "公安局", []],
];

export const DEMO_STAFF = [
  { username: "admin", displayName: "整改办管理员", role: "office_admin" as const },
  { username: "staff", displayName: "整改办王敏", role: "office_staff" as const },
  { username: "leader", displayName: "分管副市长", role: "leader" as const },
];

/** Creates what is missing; returns unit ids by code. */
export async function seedDirectory(password: string): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for (const [code, name, shortName, aliases] of DEMO_UNITS) {
    const existing = await Unit.findOne({ name }, { _id: 1 }).lean();
    const id = existing?._id ?? (await createUnit({ name, shortName, aliases }))._id;
    ids.set(code, id.toString());
  }
  const users = [
    ...DEMO_STAFF.map((u) => ({ ...u, unitId: null })),
    ...DEMO_UNITS.map(([code, name]) => ({ username: code, displayName: `${name}联络员`, role: "unit_user" as const, unitId: ids.get(code)! })),
  ];
  for (const u of users) {
    if (await User.exists({ username: u.username })) continue;
    await createUser({ ...u, password });
  }
  return ids;
}

/**
 * A demo ledger for an empty database, written through the case service with a clock that
 * starts three months back: the 15 items of the sample feedback list (data/samples) at every
 * stage, about 40 complaints across every state (some overdue), and one sweep at today's date so
 * that overdue cases carry their notices up the ladder.
 */
export async function seedDemoLedger(units: Map<string, string>, now = new Date()): Promise<number> {
  if (await Case.exists({})) return 0;
  const clock = new ManualClock(new Date(now.getTime() - 90 * DAY));
  const service = new CaseService(clock);
  const staff = actorOf((await User.findOne({ username: "staff" }).lean())!);
  const liaison = async (unitId: string | null | undefined) => actorOf((await User.findOne({ unitId, role: "unit_user" }).lean())!);
  const byName = new Map(DEMO_UNITS.map(([code, name]) => [name, code]));
  const unitId = (name: string) => units.get(byName.get(name.trim()) ?? "") ?? null;
  const day = (offset: number) => shanghaiDate(new Date(now.getTime() + offset * DAY));
  const at = (offset: number) => clock.set(new Date(now.getTime() + offset * DAY));
  const act = (id: string, type: string, payload: Record<string, unknown>, who: Actor) => service.applyEvent(id, { type, payload }, who);
  const pdf = (caseId: string, who: Actor) =>
    storeAttachment(caseId, { buffer: Buffer.from("%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"), originalname: "整改佐证.pdf" }, who).then((a) => [a.id]);

  const text = readFileSync(new URL("../data/samples/inspection-feedback-list.csv", import.meta.url), "utf8").replace(/^\uFEFF/, "");
  const [, ...rows] = text.trim().split(/\r?\n/).map((l) => l.split(","));
  let n = 0;
  for (const [i, r] of rows.entries()) {
    const [number, round, description, category, lead, co, goal, measures, due] = r as string[];
    const longTerm = due === "长期坚持";
    at(-80 + i);
    const c = await service.createCase(
      {
        kind: "inspection",
        ledgerNumber: number!,
        round: round!,
        source: round!.startsWith("中央") ? "中央生态环境保护督察" : "省级生态环境保护督察",
        title: description!.split("，")[0]!,
        description: description!,
        category: category as never,
        goal,
        measures,
        immediate: due === "立行立改",
        longTerm,
      },
      staff,
    );
    const id = c._id.toString();
    n++;
    const stage = i % 6; // 0 registered, 1 assigned, 2 rectifying on time, 3 behind/overdue, 4 verifying, 5 closed
    if (stage === 0) continue;
    at(-70 + i);
    const deadline = stage === 3 ? day(-10 - i) : day(20 + i * 5);
    const coUnitIds = co!.split("、").map(unitId).filter((x): x is string => !!x);
    await act(id, "ASSIGN", { leadUnitId: unitId(lead!), coUnitIds, ...(longTerm ? {} : { deadline }), requirements: "按月报送整改进展" }, staff);
    if (stage === 1) continue;
    const unit = await liaison(unitId(lead!));
    at(-68 + i);
    await act(id, "SIGN", {}, unit);
    at(-40 + i);
    await act(id, "REPORT_PROGRESS", { percent: stage === 3 ? 20 : 60, text: stage === 3 ? "方案编制中" : "已完成主体工程" }, unit);
    if (stage < 4) continue;
    at(-20 + i);
    await act(id, "SUBMIT", { summary: "已完成整改，申请销号", attachmentIds: await pdf(id, unit) }, unit);
    if (stage === 4) continue;
    at(-15 + i);
    await act(id, "PASS", { checkedBy: "整改办王敏、市生态环境局李强", checkedOn: day(-15 + i), opinion: "现场核查，整改到位，资料齐全，同意销号", attachmentIds: await pdf(id, staff), publicityDays: 0 }, staff);
  }

  const topics: [string, string, string][] = [
    ["夜间工地噪声扰民", "噪声", "12369热线"],
    ["河道出现大量死鱼", "水", "信访投诉举报平台"],
    ["小区旁餐饮油烟直排", "大气", "网络"],
    ["工业园区异味扰民", "大气", "12345转办"],
    ["砂石场粉尘污染", "大气", "来信"],
    ["养殖场废水直排入河", "水", "来访"],
    ["危险废物随意堆放", "固废", "12369热线"],
    ["化工厂夜间偷排", "水", "上级交办"],
  ];
  const targets = ["received", "accepted", "investigating", "extension", "reviewing", "replying", "replied", "closed"];
  for (let i = 0; i < 40; i++) {
    const [title, category, channel] = topics[i % topics.length]!;
    const target = targets[i % targets.length]!;
    const start = -60 + i; // received between 60 and 21 days ago
    at(start);
    const c = await service.createCase(
      { kind: "complaint", title, description: `${title}，请求查处。`, category: category as never, channel: channel as never, complainant: { name: `群众${i + 1}`, phone: `1380000${String(1000 + i)}`, address: "（演示）" } },
      staff,
    );
    const id = c._id.toString();
    n++;
    if (target === "received") continue;
    at(start + 2);
    if (target === "replied" && i % 3 === 0) {
      await act(id, "DECLINE", { reason: "不属于生态环境部门职责，已告知向有关部门反映" }, staff);
      at(start + 3);
      await act(id, "REPLY", { text: "您反映的问题不属于本部门职责范围，建议向有关部门反映。", channel: "书面" }, staff);
      continue;
    }
    await act(id, "ACCEPT", {}, staff);
    if (target === "accepted") continue;
    const sthjj = units.get("sthjj")!;
    // Some deadlines already passed (overdue), some still ahead.
    await act(id, "ASSIGN", { leadUnitId: sthjj, deadline: day(i % 2 ? start + 30 : start + 55) }, staff);
    if (target === "investigating") continue;
    const unit = await liaison(sthjj);
    if (target === "extension") {
      at(start + 10);
      const cur = (await service.getCase(id, staff)).deadline!;
      await act(id, "REQUEST_EXTENSION", { deadline: addCalendarDays(cur, 20), reason: "需委托第三方监测" }, unit);
      continue;
    }
    at(start + 12);
    await act(id, "SUBMIT_RESULT", { summary: "经现场核查，情况属实", violationFound: i % 2 === 0, measures: "责令整改并立案查处" }, unit);
    if (target === "reviewing") continue;
    at(start + 14);
    await act(id, "APPROVE", {}, staff);
    if (target === "replying") continue;
    at(start + 15);
    await act(id, "REPLY", { text: "经查，您反映的问题属实，已责令整改。", channel: "书面" }, staff);
    if (target === "replied") continue;
    at(start + 18);
    await act(id, "CLOSE", { visitedOn: day(start + 18), visitMethod: "电话", satisfaction: i % 5 === 0 ? "基本满意" : "满意" }, staff);
  }

  // Today: the sweep issues what fell due, so overdue cases carry their warnings and supervision notices.
  clock.set(now);
  await new NoticeSweeper(service, clock).sweep();
  return n;
}

const DAY = 86_400_000;
