/**
 * `npm run demo`: seeds the demo directory and walks one inspection problem and one complaint
 * through their whole lifecycles with the case service, printing each history entry.
 */
import { EVENT_LABELS, stateLabel, type Actor, type CaseKind } from "../workflows/index.ts";
import { ManualClock } from "../src/clock.ts";
import { loadConfig } from "../src/config.ts";
import { connectDb, disconnectDb, ensureIndexes } from "../src/db/connection.ts";
import { Case, User } from "../src/db/models.ts";
import { actorOf } from "../src/directory.ts";
import { CaseService } from "../src/cases/service.ts";
import { verifyChain } from "../src/cases/history.ts";
import { seedDirectory } from "../src/seed.ts";

const config = loadConfig();
await connectDb(config.MONGODB_URI);
await ensureIndexes();
const units = await seedDirectory(config.DEMO_PASSWORD);
const actor = async (username: string): Promise<Actor> => actorOf((await User.findOne({ username }).lean())!);
const [staff, fgw, gxj, sthjj] = [await actor("staff"), await actor("fgw"), await actor("gxj"), await actor("sthjj")];
const system: Actor = { id: "system", name: "系统", role: "system" };

const clock = new ManualClock();
const service = new CaseService(clock);
const day = (n: number) => new Date(clock.now().getTime() + n * 86_400_000).toISOString().slice(0, 10);
const roleNames: Record<string, string> = { office_admin: "整改办管理员", office_staff: "整改办", unit_user: "责任单位", leader: "分管领导", system: "系统" };

async function walk(caseId: string, kind: CaseKind, steps: [Actor, string, Record<string, unknown>, number][]) {
  for (const [who, type, payload, days] of steps) {
    clock.advanceDays(days);
    await service.applyEvent(caseId, { type, payload }, who);
  }
  const c = await service.getCase(caseId, staff);
  const history = await service.history(caseId);
  console.log(`\n■ ${c.ledgerNumber} ${c.title}`);
  for (const h of history) {
    const when = h.at.toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false });
    const states = `${h.from ? stateLabel(kind, h.from) : "—"} → ${stateLabel(kind, h.to)}`;
    const who = `${h.actor.name}（${roleNames[h.actor.role]}）`;
    console.log(`  #${h.seq} ${when}  ${who}  ${EVENT_LABELS[h.type] ?? h.type}  ${states}  ${JSON.stringify(h.payload)}`);
  }
  const check = verifyChain(c, history);
  console.log(`  链式校验：${check.ok ? `完整（${check.length} 条）` : `异常：${check.reason}`}`);
}

let n = 0;
let ledgerNumber = "ZY2-01";
while (await Case.exists({ ledgerNumber })) ledgerNumber = `ZY2-01-演示${++n}`;
const inspection = await service.createCase(
  {
    kind: "inspection",
    ledgerNumber,
    round: "中央第二轮",
    source: "中央生态环境保护督察",
    title: "城区部分燃煤锅炉淘汰不彻底",
    description: "城区部分燃煤锅炉淘汰不彻底，仍有12台10蒸吨以下燃煤锅炉在用",
    category: "大气",
    goal: "完成全部燃煤锅炉淘汰或清洁能源替代",
    measures: "制定淘汰清单，分批实施天然气或电能替代，逐台验收销号",
  },
  staff,
);
await walk(inspection._id.toString(), "inspection", [
  [staff, "ASSIGN", { leadUnitId: units.get("fgw"), coUnitIds: [units.get("gxj"), units.get("scjgj")], deadline: day(90), requirements: "按月报送进展" }, 0],
  [fgw, "SIGN", {}, 1],
  [gxj, "REPORT_PROGRESS", { percent: 30, text: "已完成4台锅炉清洁能源替代" }, 20],
  [fgw, "REQUEST_EXTENSION", { deadline: day(120), reason: "天然气管网施工受冬季停工影响" }, 30],
  [staff, "APPROVE_EXTENSION", {}, 2],
  [fgw, "SUBMIT", { summary: "12台燃煤锅炉全部完成替代并逐台验收", attachmentIds: ["验收报告.pdf"] }, 60],
  [staff, "PASS", { publicityDays: 5 }, 3],
  [system, "PUBLICITY_END", {}, 7],
]);

clock.set(new Date());
const complaint = await service.createCase(
  {
    kind: "complaint",
    title: "工业园区某企业夜间异味扰民",
    description: "每晚十点后园区方向有刺鼻气味",
    category: "大气",
    channel: "12369热线",
    complainant: { name: "张某", phone: "139****0000", address: "园区东侧小区" },
  },
  staff,
);
await walk(complaint._id.toString(), "complaint", [
  [staff, "ACCEPT", {}, 1],
  [staff, "ASSIGN", { leadUnitId: units.get("sthjj"), deadline: day(40) }, 0],
  [sthjj, "SUBMIT_RESULT", { summary: "夜间检查发现企业废气处理设施未运行", violationFound: true, measures: "立案处罚并责令整改" }, 12],
  [staff, "APPROVE", {}, 1],
  [staff, "REPLY", { text: "经查属实，已依法立案查处。", channel: "书面" }, 1],
  [staff, "CLOSE", { satisfaction: "满意" }, 5],
]);

console.log(`\n演示账号（密码 ${config.DEMO_PASSWORD === "rectiflow-demo" ? "rectiflow-demo" : "见 DEMO_PASSWORD"}）：admin、staff、leader，以及各单位联络员（如 sthjj、fgw）`);
await disconnectDb();
