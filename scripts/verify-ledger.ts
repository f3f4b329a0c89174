/**
 * `npm run verify-ledger`: checks every case's hash chain against its case document and the numbering
 * of supervision notices (督办〔year〕N号) in the ledger named by MONGODB_URI, and names what is broken.
 * With checkpoint keys configured (LEDGER_KEY / LEDGER_KEY_FILE / LEDGER_VERIFY_KEYS) it also checks the
 * checkpoints in LEDGER_DIR (or, without it, the database's copies): signatures, consistency, and that
 * the entries reproduce the latest root (docs/ledger.md).
 * Exit code: 0 all holds, 1 something is broken, 2 usage.
 */
import { rebuildCounts } from "../src/cases/counts.ts";
import { loadConfig } from "../src/config.ts";
import { connectDb, disconnectDb } from "../src/db/connection.ts";
import { stderrProgress } from "../src/ops/progress.ts";
import { verifyLedger } from "../src/ops/verify.ts";
import { ledgerKeys } from "../src/ledger/keys.ts";
import { cliArgs } from "./cli.ts";

const { values: args } = cliArgs("usage: npm run verify-ledger [-- --rebuild-counts]\n  --rebuild-counts  先按案件重建台账的分类计数（办理中断留下的差异；请在无人办理时运行）", {
  "rebuild-counts": { type: "boolean" },
});

const config = loadConfig();
let keys: ReturnType<typeof ledgerKeys>;
try {
  keys = ledgerKeys(config);
} catch (e) {
  console.error((e as Error).message);
  process.exit(2);
}
const db = (await connectDb(config.MONGODB_URI)).connection;
const started = Date.now();
try {
  if (args["rebuild-counts"]) console.log(`已按案件重建台账分类计数：改正 ${await rebuildCounts()} 项`);
  const r = await verifyLedger({ onProgress: stderrProgress("核对"), ledger: keys ? { dir: config.LEDGER_DIR, verifiers: keys.verifiers } : undefined });
  const years = Object.entries(r.numbering.years).map(([y, n]) => `${y} 年至 ${n} 号`);
  const lines = [
    `数据库 ${db.name}：${r.cases} 件案件，${r.entries} 条办理记录；督办通知 ${r.numbering.notices} 件${years.length ? `（${years.join("，")}）` : ""}；${((Date.now() - started) / 1000).toFixed(1)} 秒`,
  ];
  for (const b of r.broken) lines.push(`  ✗ 案件 ${b.ledgerNumber}（id ${b.caseId}）：${b.reason}`);
  for (const p of r.numbering.problems) lines.push(`  ✗ ${p.message}`);
  const cp = r.checkpoints;
  if (!cp) lines.push("存证检查点：未配置密钥，未核对（docs/ledger.md）");
  else {
    const where = cp.source === "dir" ? `目录 ${config.LEDGER_DIR}` : "数据库中的副本（未指定 LEDGER_DIR）";
    lines.push(cp.latest ? `存证检查点：${cp.checkpoints} 个，读自${where}；最新第 ${cp.latest.n} 号覆盖 ${cp.latest.size} 条记录` : `存证检查点：尚无（${where}）`);
    for (const p of cp.problems) lines.push(`  ✗ ${p}`);
  }
  for (const p of r.counts.problems) lines.push(`  ✗ 台账计数 ${p.key}：记为 ${p.stored}，案件实有 ${p.actual}（npm run verify-ledger -- --rebuild-counts 重建）`);
  if (r.lagging) lines.push(`${r.lagging} 件案件落后于其最新办理记录（正常：下次读取时自动补齐）`);
  if (r.leftovers.length) lines.push(`${r.leftovers.length} 条登记中断留下的首条记录没有对应案件（无害），如 ${r.leftovers.slice(0, 3).join("、")}`);
  lines.push(
    r.ok
      ? `台账完好：每件案件的记录链与案件一致，督办通知编号唯一且连续${cp?.latest ? "，记录与各存证检查点一致" : ""}`
      : `台账有问题：${r.broken.length} 件案件的记录不成立，督办通知编号问题 ${r.numbering.problems.length} 处，台账计数不符 ${r.counts.problems.length} 项，存证检查点问题 ${cp?.problems.length ?? 0} 处`,
  );
  console.log(lines.join("\n"));
  if (!r.ok) process.exitCode = 1;
} finally {
  await disconnectDb();
}
