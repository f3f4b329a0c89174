/**
 * `npm run restore -- FILE [--force]`: loads a backup archive into the (empty) database named by
 * MONGODB_URI, checking counts and checksums as it loads, then builds the indexes. A database that holds
 * data is refused unless --force, which first checks the whole archive and then empties the database.
 * Stop the web and worker processes first. Progress on stderr, a summary on stdout.
 * Exit code: 0 restored, 1 refused or the archive does not match its manifest, 2 usage.
 */
import { existsSync } from "node:fs";
import { loadConfig } from "../src/config.ts";
import { connectDb, disconnectDb } from "../src/db/connection.ts";
import { ArchiveError } from "../src/ops/archive.ts";
import { stderrProgress } from "../src/ops/progress.ts";
import { RestoreRefused, restore } from "../src/ops/restore.ts";
import { cliArgs } from "./cli.ts";

const USAGE = "usage: npm run restore -- FILE [--force]   (--force: empty a database that holds data first)";
const { values, positionals } = cliArgs(USAGE, { force: { type: "boolean" } }, { exactly: 1 });
const file = positionals[0]!;
if (!existsSync(file)) {
  console.error(`找不到文件：${file}`);
  process.exit(2);
}

const config = loadConfig();
const db = (await connectDb(config.MONGODB_URI)).connection;
const started = Date.now();
try {
  const r = await restore(file, { force: values.force === true, onProgress: stderrProgress("恢复") });
  const m = r.manifest;
  console.log(
    [
      `恢复完成：${file} → 数据库 ${db.name}，${((Date.now() - started) / 1000).toFixed(1)} 秒`,
      `备份来自数据库 ${m.database}（${m.app.name} ${m.app.version}，${m.finishedAt}）`,
      `${m.collections.length} 个集合共 ${r.documents} 条，附件 ${r.attachments} 个，条数和校验和与清单一致；索引已重建`,
      ...(r.emptied.length ? [`恢复前已清空：${r.emptied.join("、")}`] : []),
      "可运行 npm run verify-ledger 核对台账",
    ].join("\n"),
  );
} catch (e) {
  if (!(e instanceof ArchiveError || e instanceof RestoreRefused)) throw e;
  console.error(`未恢复：${e.message}`);
  process.exitCode = 1;
} finally {
  await disconnectDb();
}
