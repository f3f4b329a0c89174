/**
 * `npm run verify-ledger`: checks every case's hash chain against its case document and the numbering
 * of supervision notices (督办〔year〕N号) in the ledger named by MONGODB_URI, and names what is broken.
 * Exit code: 0 all holds, 1 something is broken, 2 usage.
 */
import { loadConfig } from "../src/config.ts";
import { connectDb, disconnectDb } from "../src/db/connection.ts";
import { stderrProgress } from "../src/ops/progress.ts";
import { verifyLedger } from "../src/ops/verify.ts";
import { cliArgs } from "./cli.ts";

cliArgs("usage: npm run verify-ledger", {});

const config = loadConfig();
const db = (await connectDb(config.MONGODB_URI)).connection;
const started = Date.now();
try {
  const r = await verifyLedger({ onProgress: stderrProgress("核对") });
  const years = Object.entries(r.numbering.years).map(([y, n]) => `${y} 年至 ${n} 号`);
  const lines = [
    `数据库 ${db.name}：${r.cases} 件案件，${r.entries} 条办理记录；督办通知 ${r.numbering.notices} 件${years.length ? `（${years.join("，")}）` : ""}；${((Date.now() - started) / 1000).toFixed(1)} 秒`,
  ];
  for (const b of r.broken) lines.push(`  ✗ 案件 ${b.ledgerNumber}（id ${b.caseId}）：${b.reason}`);
  for (const p of r.numbering.problems) lines.push(`  ✗ ${p.message}`);
  if (r.lagging) lines.push(`${r.lagging} 件案件落后于其最新办理记录（正常：下次读取时自动补齐）`);
  if (r.leftovers.length) lines.push(`${r.leftovers.length} 条登记中断留下的首条记录没有对应案件（无害），如 ${r.leftovers.slice(0, 3).join("、")}`);
  lines.push(
    r.ok
      ? "台账完好：每件案件的记录链与案件一致，督办通知编号唯一且连续"
      : `台账有问题：${r.broken.length} 件案件的记录链不成立，督办通知编号问题 ${r.numbering.problems.length} 处`,
  );
  console.log(lines.join("\n"));
  if (!r.ok) process.exitCode = 1;
} finally {
  await disconnectDb();
}
