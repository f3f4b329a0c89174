/**
 * Demo directory: the units of the sample feedback list (data/samples) and a user for every role.
 * Idempotent: existing units and users are left as they are.
 */
import { Unit, User } from "./db/models.ts";
import { createUnit, createUser } from "./directory.ts";

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
