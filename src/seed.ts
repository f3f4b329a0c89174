/**
 * Demo data: the units of the sample feedback list (data/samples), a user for every role, and a
 * small ledger. Idempotent: what exists is left as it is.
 */
import { readFileSync } from "node:fs";
import mongoose from "mongoose";
import { addCalendarDays, shanghaiDate, type Actor } from "../workflows/index.ts";
import { storeAttachment } from "./cases/attachments.ts";
import { CaseService } from "./cases/service.ts";
import { ManualClock } from "./clock.ts";
import { acknowledge } from "./notices/inbox.ts";
import { loadSettings, updateSettings } from "./notices/settings.ts";
import { NoticeSweeper } from "./notices/sweep.ts";
import { Case, Notice, OfficeSettingsModel, Unit, User } from "./db/models.ts";
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
 * A demo ledger for an empty database, lived through as the product would: a clock starts three months
 * back and moves forward day by day; each morning the notice sweep runs (as the worker does), then the
 * day's work is done through the case service — the 15 items of the sample feedback list at every
 * stage, about 40 complaints across every state, liaisons signing for their notices a couple of days
 * later, the office for its reminders. The warnings, supervision notices, office reminders and ended
 * publicity periods are the real rules' own; the workers are "down" for nine days a month back, so the
 * catch-up after it sends one notice per case.
 */
export async function seedDemoLedger(units: Map<string, string>, now = new Date()): Promise<number> {
  if (await Case.exists({})) return 0;
  const start = new Date(now.getTime() - 90 * DAY);
  const clock = new ManualClock(start);
  const service = new CaseService(clock);
  const sweeper = new NoticeSweeper(service, clock);
  const staff = actorOf((await User.findOne({ username: "staff" }).lean())!);
  const admin = actorOf((await User.findOne({ username: "admin" }).lean())!);
  const liaisons = new Map(
    (await User.find({ role: "unit_user" }).lean()).map((u) => [u.unitId ?? "", actorOf(u)]),
  );
  const liaison = (id: string | null | undefined) => liaisons.get(id ?? "")!;
  const byName = new Map(DEMO_UNITS.map(([code, name]) => [name, code]));
  const unitId = (name: string) => units.get(byName.get(name.trim()) ?? "") ?? null;
  const day = (offset: number) => shanghaiDate(new Date(now.getTime() + offset * DAY));
  const act = (id: string, type: string, payload: Record<string, unknown>, who: Actor) => service.applyEvent(id, { type, payload }, who);
  const pdf = (caseId: string, who: Actor, name = "整改佐证.pdf") =>
    storeAttachment(caseId, { buffer: Buffer.from("%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"), originalname: name }, who).then((a) => [a.id]);

  if (!(await OfficeSettingsModel.exists({})))
    await updateSettings(
      { ...(await loadSettings()), contactName: "王敏", contactPhone: "0371-6789 1234", cc: "市委、市政府分管领导，市生态环境保护督察整改工作领导小组成员单位", verificationTerm: "现场核查" },
      admin,
    );

  // The plan: what happens on which day (offset from today), in order within a day.
  const plan: { offset: number; seq: number; run: () => Promise<unknown> }[] = [];
  const on = (offset: number, run: () => Promise<unknown>) => plan.push({ offset, seq: plan.length, run });

  const text = readFileSync(new URL("../data/samples/inspection-feedback-list.csv", import.meta.url), "utf8").replace(/^\uFEFF/, "");
  const [, ...rows] = text.trim().split(/\r?\n/).map((l) => l.split(","));
  let n = 0;
  for (const [i, r] of rows.entries()) {
    const [number, round, description, category, lead, co, goal, measures, due] = r as string[];
    const longTerm = due === "长期坚持";
    const c = { id: "" };
    const leadId = unitId(lead!);
    // 0 registered, 1 assigned (unsigned), 2 rectifying on time, 3 behind and overdue, 4 with the office for close-out, 5 closed after 公示
    const stage = i % 6;
    on(-80 + i, async () => {
      const created = await service.createCase(
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
      c.id = created._id.toString();
      n++;
    });
    if (stage === 0) continue;
    // Overdue items got a deadline that has passed; items with the office a deadline around now.
    const deadline = stage === 3 ? day(-12 - i) : stage === 4 ? day(-5 + i) : stage === 1 ? day(6 + i) : day(20 + i * 5);
    const coUnitIds = co!.split("、").map(unitId).filter((x): x is string => !!x);
    on(-70 + i, () => act(c.id, "ASSIGN", { leadUnitId: leadId, coUnitIds, ...(longTerm ? {} : { deadline }), requirements: "按月报送整改进展，附佐证材料" }, staff));
    if (stage === 1) continue;
    on(-68 + i, () => act(c.id, "SIGN", {}, liaison(leadId)));
    on(-40 + i, () => act(c.id, "REPORT_PROGRESS", { percent: stage === 3 ? 20 : 60, text: stage === 3 ? "方案编制中" : "已完成主体工程" }, liaison(leadId)));
    if (stage < 4) continue;
    on(-20 + i, async () => act(c.id, "SUBMIT", { summary: "已完成整改，申请销号", attachmentIds: await pdf(c.id, liaison(leadId)) }, liaison(leadId)));
    if (stage === 4) continue;
    on(-15 + i, async () =>
      act(c.id, "PASS", { checkedBy: "整改办王敏、市生态环境局李强", checkedOn: day(-15 + i), opinion: "现场核查，整改到位，资料齐全，同意销号", attachmentIds: await pdf(c.id, staff, "现场核查照片.pdf"), publicityDays: 5 }, staff),
    );
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
  const sthjj = units.get("sthjj")!;
  const complaint = (i: number, receivedOn?: string) => {
    const [title, category, channel] = topics[i % topics.length]!;
    return { kind: "complaint" as const, title, description: `${title}，请求查处。`, category: category as never, channel: channel as never, complainant: { name: `群众${i + 1}`, phone: `1380000${String(1000 + i)}`, address: "（演示）" }, ...(receivedOn ? { receivedOn } : {}) };
  };
  for (let i = 0; i < 40; i++) {
    const target = targets[i % targets.length]!;
    const s = -60 + i; // received between 60 and 21 days ago
    const c = { id: "" };
    on(s, async () => {
      c.id = (await service.createCase(complaint(i), staff))._id.toString();
      n++;
    });
    if (target === "received") continue;
    if (target === "replied" && i % 3 === 0) {
      on(s + 2, () => act(c.id, "DECLINE", { reason: "不属于生态环境部门职责，已告知向有关部门反映" }, staff));
      on(s + 3, () => act(c.id, "REPLY", { text: "您反映的问题不属于本部门职责范围，建议向有关部门反映。", channel: "书面" }, staff));
      continue;
    }
    on(s + 2, () => act(c.id, "ACCEPT", {}, staff));
    if (target === "accepted") continue;
    // Some unit deadlines already passed (overdue), some still ahead.
    on(s + 2, () => act(c.id, "ASSIGN", { leadUnitId: sthjj, deadline: day(i % 2 ? s + 30 : s + 55) }, staff));
    if (target === "investigating") continue;
    if (target === "extension") {
      on(s + 10, async () => act(c.id, "REQUEST_EXTENSION", { deadline: addCalendarDays((await service.getCase(c.id, staff)).deadline!, 20), reason: "需委托第三方监测" }, liaison(sthjj)));
      // The office decides some requests in two days; others still wait for it.
      if (i % 16 === 3) on(s + 12, () => act(c.id, "APPROVE_EXTENSION", {}, staff));
      continue;
    }
    on(s + 12, () => act(c.id, "SUBMIT_RESULT", { summary: "经现场核查，情况属实", violationFound: i % 2 === 0, measures: "责令整改并立案查处" }, liaison(sthjj)));
    if (target === "reviewing") continue;
    on(s + 14, () => act(c.id, "APPROVE", {}, staff));
    if (target === "replying") continue;
    on(s + 15, () => act(c.id, "REPLY", { text: "经查，您反映的问题属实，已责令整改。", channel: "书面" }, staff));
    if (target === "replied") continue;
    on(s + 18, () => act(c.id, "CLOSE", { visitedOn: day(s + 17), visitMethod: "电话", satisfaction: i % 5 === 0 ? "基本满意" : i % 13 === 0 ? "不满意" : "满意" }, staff));
  }
  // A complaint registered yesterday that was received 40 days ago: its first sweep sends 受理超期 only.
  on(-1, async () => {
    await service.createCase({ ...complaint(40, day(-40)), title: "（补录）废品收购站焚烧垃圾", description: "废品收购站夜间焚烧垃圾，浓烟扰民（来信积压，补录登记）。", category: "大气" as never }, staff);
    n++;
  });

  // Live through it: each morning the sweep (except while the workers are down), then the day's work, then the receipts.
  plan.sort((a, b) => a.offset - b.offset || a.seq - b.seq);
  const DOWN = [-30, -22];
  let next = 0;
  for (let offset = -90; offset <= 0; offset++) {
    const morning = new Date(now.getTime() + offset * DAY);
    if (offset < DOWN[0]! || offset > DOWN[1]!) {
      clock.set(offset === 0 ? new Date(now.getTime() - 60_000) : morning);
      await sweeper.sweep();
    }
    if (offset === 0) break;
    clock.set(new Date(morning.getTime() + 2 * 3600_000));
    while (next < plan.length && plan[next]!.offset === offset) await plan[next++]!.run();
    await signForNotices(clock, liaison, staff);
  }
  clock.set(now);
  return n;
}

/**
 * Liaisons sign for the notices in their unit's inbox two days after they came, and the office's staff
 * for its reminders the day after; every third notice is left waiting, so inboxes show both.
 */
async function signForNotices(clock: ManualClock, liaison: (unitId: string) => Actor, staff: Actor): Promise<void> {
  const now = clock.now().getTime();
  const waiting = await Notice.find({ inbox: mongoose.trusted({ $ne: null }), ackAt: null, issuedAt: mongoose.trusted({ $lte: new Date(now - DAY) }) }, { inbox: 1, issuedAt: 1 }).lean();
  for (const n of waiting) {
    const id = String(n._id);
    if ([...id].reduce((h, ch) => h + ch.charCodeAt(0), 0) % 3 === 0) continue;
    const office = n.inbox === "office";
    if (!office && n.issuedAt.getTime() > now - 2 * DAY) continue;
    await acknowledge(id, office ? staff : liaison(n.inbox!), clock);
  }
}

const DAY = 86_400_000;
