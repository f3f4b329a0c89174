/**
 * `npm run demo`: seeds the demo directory, walks one inspection problem and one complaint
 * through their whole lifecycles with the case service, printing each history entry, then moves
 * the clock forward over a third case so that it climbs the escalation ladder, and prints the
 * rendered 督办通知.
 */
import { EVENT_LABELS, SYSTEM as system, stateLabel, type Actor, type CaseKind } from "../workflows/index.ts";
import { ManualClock } from "../src/clock.ts";
import { loadConfig } from "../src/config.ts";
import { connectDb, disconnectDb, ensureIndexes } from "../src/db/connection.ts";
import { mkdir, writeFile } from "node:fs/promises";
import { LEVEL_LABELS, ROLE_LABELS, type Level } from "../workflows/index.ts";
import { Case, Notice, User } from "../src/db/models.ts";
import type { NoticeRecord } from "../src/notices/issuer.ts";
import { renderNoticeDocument } from "../src/notices/render.ts";
import { setDefaultOffice } from "../src/notices/settings.ts";
import { NoticeSweeper } from "../src/notices/sweep.ts";
import { actorOf } from "../src/directory.ts";
import { storeAttachment } from "../src/cases/attachments.ts";
import { CaseService } from "../src/cases/service.ts";
import { verifyChain } from "../src/cases/history.ts";
import { seedDirectory } from "../src/seed.ts";

const config = loadConfig();
setDefaultOffice(config.ISSUING_OFFICE);
await connectDb(config.MONGODB_URI);
await ensureIndexes();
const units = await seedDirectory(config.DEMO_PASSWORD);
const actor = async (username: string): Promise<Actor> => actorOf((await User.findOne({ username }).lean())!);
const [staff, fgw, gxj, sthjj] = [await actor("staff"), await actor("fgw"), await actor("gxj"), await actor("sthjj")];

const clock = new ManualClock();
const service = new CaseService(clock);
const day = (n: number) => new Date(clock.now().getTime() + n * 86_400_000).toISOString().slice(0, 10);

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
    const who = `${h.actor.name}（${ROLE_LABELS[h.actor.role]}）`;
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
// A minimal PDF stands in for the acceptance report (evidence is checked by content).
const report = await storeAttachment(
  inspection._id.toString(),
  { buffer: Buffer.from("%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"), originalname: "验收报告.pdf" },
  fgw,
);
await walk(inspection._id.toString(), "inspection", [
  [staff, "ASSIGN", { leadUnitId: units.get("fgw"), coUnitIds: [units.get("gxj"), units.get("scjgj")], deadline: day(90), requirements: "按月报送进展" }, 0],
  [fgw, "SIGN", {}, 1],
  [gxj, "REPORT_PROGRESS", { percent: 30, text: "已完成4台锅炉清洁能源替代" }, 20],
  [fgw, "REQUEST_EXTENSION", { deadline: day(120), reason: "天然气管网施工受冬季停工影响" }, 30],
  [staff, "APPROVE_EXTENSION", {}, 2],
  [fgw, "SUBMIT", { summary: "12台燃煤锅炉全部完成替代并逐台验收", attachmentIds: [report.id] }, 60],
  [staff, "PASS", { checkedBy: "整改办王敏、市发展改革委赵刚", checkedOn: day(115), opinion: "逐台现场核查，12台燃煤锅炉均已拆除或完成替代", attachmentIds: [report.id], publicityDays: 5 }, 3],
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
  [staff, "CLOSE", { visitedOn: day(18), visitMethod: "电话", satisfaction: "满意", note: "电话回访，信访人对处理结果表示满意" }, 5],
]);

// ---- the escalation ladder, with the clock moved forward ---------------------------------
console.log("\n■ 预警督办：时钟前移，逐级触发");
clock.set("2026-06-01T09:00:00+08:00");
let ladderNumber = "SJ1-02";
while (await Case.exists({ ledgerNumber: ladderNumber })) ladderNumber = `SJ1-02-演示${++n}`;
const ladderCase = await service.createCase(
  { kind: "inspection", ledgerNumber: ladderNumber, round: "省级第一轮", title: "加油站油气回收设施运行不正常", category: "大气", goal: "全部加油站完成挥发性有机物综合治理" },
  staff,
);
await service.applyEvent(ladderCase._id.toString(), { type: "ASSIGN", payload: { leadUnitId: units.get("swuj"), coUnitIds: [units.get("sthjj")], deadline: "2026-06-30", requirements: "每两周报送进展" } }, staff);
const sweeper = new NoticeSweeper(service, clock);
for (const day of ["2026-06-03", "2026-06-04", "2026-06-16", "2026-06-24", "2026-06-26", "2026-07-01", "2026-07-08", "2026-07-22"]) {
  clock.set(`${day}T08:00:00+08:00`);
  const r = await sweeper.sweep();
  const issued = r.issued.map((x) => `${LEVEL_LABELS[x.level as Level]}${x.number ? `（${x.number}）` : ""}`);
  console.log(`  ${day}  ${issued.length ? issued.join("、") : "—"}`);
}
const supervision = (await Notice.findOne({ caseId: ladderCase._id.toString(), level: "supervision" }).lean()) as NoticeRecord | null;
if (supervision) {
  const html = await renderNoticeDocument(supervision);
  await mkdir(".data", { recursive: true });
  await writeFile(".data/demo-supervision-notice.html", html);
  const text = html
    .replace(/<head>[\s\S]*?<\/head>/, "")
    .replace(/<(br|\/p|\/div|\/h1|\/tr)>/g, "\n")
    .replace(/<[^>]+>/g, "")
    .replace(/\n\s*\n+/g, "\n")
    .trim();
  console.log("\n■ 督办通知（可打印版本已写入 .data/demo-supervision-notice.html）\n");
  console.log(text.split("\n").map((l) => `    ${l.trim()}`).join("\n"));
}

console.log(`\n演示账号（密码 ${config.DEMO_PASSWORD === "rectiflow-demo" ? "rectiflow-demo" : "见 DEMO_PASSWORD"}）：admin、staff、leader，以及各单位联络员（如 sthjj、fgw）`);
await disconnectDb();
