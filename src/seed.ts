/**
 * Demo data: the units of the sample feedback list (data/samples), a user for every role, and a
 * small ledger. Idempotent: what exists is left as it is.
 */
import { readFileSync } from "node:fs";
import { addCalendarDays, shanghaiDate } from "../workflows/index.ts";
import type { CaseService } from "./cases/service.ts";
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
 * A small demo ledger for an empty database: the 15 items of the sample feedback list
 * (data/samples), a few of them assigned and signed, and some complaints. Goes through the
 * case service like any other writer.
 */
export async function seedDemoLedger(service: CaseService, units: Map<string, string>): Promise<number> {
  if (await Case.exists({})) return 0;
  const staff = actorOf((await User.findOne({ username: "staff" }).lean())!);
  const byName = new Map(DEMO_UNITS.map(([code, name]) => [name, code]));
  const unitId = (name: string) => units.get(byName.get(name.trim()) ?? "") ?? null;
  const text = readFileSync(new URL("../data/samples/inspection-feedback-list.csv", import.meta.url), "utf8").replace(/^\uFEFF/, "");
  const [, ...rows] = text.trim().split(/\r?\n/).map((l) => l.split(","));
  const today = shanghaiDate(new Date());
  let n = 0;
  for (const [i, r] of rows.entries()) {
    const [number, round, description, category, lead, co, goal, measures, due] = r as string[];
    const immediate = due === "立行立改";
    const longTerm = due === "长期坚持";
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
        immediate,
        longTerm,
      },
      staff,
    );
    n++;
    if (i % 3 === 2) continue; // some stay registered, waiting to be assigned
    const coUnitIds = co!.split("、").map(unitId).filter((x): x is string => !!x);
    const assigned = await service.applyEvent(
      c._id.toString(),
      {
        type: "ASSIGN",
        payload: { leadUnitId: unitId(lead!), coUnitIds, ...(longTerm ? {} : { deadline: addCalendarDays(today, 20 + i * 7) }), requirements: "按月报送整改进展" },
      },
      staff,
    );
    if (i % 3 === 0) {
      const liaison = actorOf((await User.findOne({ unitId: assigned.case.leadUnitId, role: "unit_user" }).lean())!);
      await service.applyEvent(c._id.toString(), { type: "SIGN" }, liaison);
    }
  }
  const complaints: [string, string, string][] = [
    ["夜间工地噪声扰民", "噪声", "12369热线"],
    ["河道出现大量死鱼", "水", "信访投诉举报平台"],
    ["小区旁餐饮油烟直排", "大气", "网络"],
    ["工业园区异味扰民", "大气", "12345转办"],
  ];
  for (const [i, [title, category, channel]] of complaints.entries()) {
    const c = await service.createCase({ kind: "complaint", title, description: title, category: category as never, channel: channel as never, complainant: { name: "（演示）", phone: "138****0000" } }, staff);
    n++;
    if (i === 0) continue;
    await service.applyEvent(c._id.toString(), { type: "ACCEPT" }, staff);
    await service.applyEvent(c._id.toString(), { type: "ASSIGN", payload: { leadUnitId: units.get("sthjj"), deadline: addCalendarDays(today, 10 * i) } }, staff);
  }
  return n;
}
