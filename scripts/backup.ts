/**
 * `npm run backup [-- --out FILE]`: one consistent archive (.tar.gz) of the ledger named by MONGODB_URI,
 * evidence files included, with a manifest of counts and checksums (src/ops/backup.ts says how it stays
 * consistent while the product runs). Progress on stderr, a summary on stdout.
 * Exit code: 0 written, 1 failed (nothing is left under FILE), 2 usage.
 */
import { loadConfig } from "../src/config.ts";
import { connectDb, disconnectDb } from "../src/db/connection.ts";
import { ArchiveError } from "../src/ops/archive.ts";
import { backup } from "../src/ops/backup.ts";
import { stderrProgress } from "../src/ops/progress.ts";
import { cliArgs } from "./cli.ts";

const USAGE = "usage: npm run backup [-- --out FILE]   (default: rectiflow-<database>-<time>.tar.gz here)";
const { values } = cliArgs(USAGE, { out: { type: "string" } });

const config = loadConfig();
const db = (await connectDb(config.MONGODB_URI)).connection;
const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "");
const out = values.out ?? `rectiflow-${db.name}-${stamp}.tar.gz`;
const started = Date.now();
try {
  const r = await backup(out, { onProgress: stderrProgress("备份") });
  const m = r.manifest;
  const documents = m.collections.reduce((sum, c) => sum + c.count, 0);
  const lines = [
    `备份完成：${r.file}（${(r.bytes / 1024 / 1024).toFixed(1)} MB），数据库 ${m.database}，${((Date.now() - started) / 1000).toFixed(1)} 秒`,
    ...m.collections.map((c) => `  ${c.name.padEnd(22)} ${String(c.count).padStart(9)} 条  sha256 ${c.sha256.slice(0, 16)}…`),
    `共 ${documents} 条；附件 ${m.attachments.length} 个（${(m.attachments.reduce((s, a) => s + a.length, 0) / 1024 / 1024).toFixed(1)} MB）；未备份：${m.skipped.join("、")}`,
  ];
  if (r.laggingCases) lines.push(`备份期间有 ${r.laggingCases} 件案件新增办理记录（已一并备份，恢复后自动补齐）`);
  if (r.historyLeftOut) lines.push(`未备份 ${r.historyLeftOut} 条不属于任何已备份案件的办理记录（备份期间新登记，或登记中断的残留）`);
  if (r.filesDropped) lines.push(`未备份 ${r.filesDropped} 个备份期间被删除的附件`);
  for (const w of m.warnings) lines.push(`  ! ${w}`);
  console.log(lines.join("\n"));
} catch (e) {
  // The archive's own refusals, and the file system's (no such directory, no permission, disk full).
  if (!(e instanceof ArchiveError || (e as NodeJS.ErrnoException).syscall)) throw e;
  console.error(`未备份：${(e as Error).message}`);
  process.exitCode = 1;
} finally {
  await disconnectDb();
}
