/**
 * `npm run import -- FILE [--dry-run] [--immediate-workdays N] [--json]`: imports a feedback list (.xlsx or
 * CSV in UTF-8 or GB18030) into the ledger named by MONGODB_URI, all or nothing, as the API does.
 * A one-line progress bar on stderr; a summary on stdout (rows, what was created, time, rows/s, peak RSS),
 * or with --json the whole report, those figures and the process's CPU time as one JSON object (for scripts and the benchmark).
 * Exit code: 0 imported / unchanged / preview passed, 1 refused (errors, conflicts) or stopped midway, 2 usage.
 * Cases are registered by an office actor named for this program and the OS user who ran it.
 */
import { createReadStream, statSync } from "node:fs";
import { userInfo } from "node:os";
import { basename } from "node:path";
import type { Actor } from "../workflows/index.ts";
import { CaseService } from "../src/cases/service.ts";
import { systemClock } from "../src/clock.ts";
import { loadConfig } from "../src/config.ts";
import { connectDb, disconnectDb, ensureIndexes } from "../src/db/connection.ts";
import { AppError } from "../src/errors.ts";
import { importLedger, type ImportProgress, type ImportReport } from "../src/io/import.ts";
import { ByteCounter, importLimitsOf } from "../src/io/rows.ts";
import { cliArgs } from "./cli.ts";

const USAGE = "usage: npm run import -- FILE [--dry-run] [--immediate-workdays N] [--json]   (FILE: .xlsx or .csv)";
const { values, positionals } = cliArgs(USAGE, { "dry-run": { type: "boolean" }, "immediate-workdays": { type: "string" }, json: { type: "boolean" } }, { exactly: 1 });
const file = positionals[0]!;
const workdays = values["immediate-workdays"] === undefined ? 10 : Number(values["immediate-workdays"]);
if (!Number.isInteger(workdays) || workdays < 0 || workdays > 250) {
  console.error("--immediate-workdays 应为 0–250 的整数");
  process.exit(2);
}
let size: number;
try {
  size = statSync(file).size;
} catch {
  console.error(`找不到文件：${file}`);
  process.exit(2);
}

/** One line on stderr, redrawn at most every 100 ms (always on a terminal; only the last state otherwise). */
class Progress {
  private last = 0;
  private line = "";
  private readonly tty = process.stderr.isTTY === true;
  private phase: ImportProgress["phase"] = "read";
  private started = Date.now();
  update(p: ImportProgress, bytes: number) {
    const now = Date.now();
    if (p.phase !== this.phase) {
      this.phase = p.phase;
      this.started = now;
      if (this.tty) process.stderr.write(`\r${this.line}\x1b[K\n`);
    }
    const ratio = p.phase === "read" ? (size ? bytes / size : 1) : p.total ? p.done / p.total : 1;
    const width = 30;
    const filled = Math.min(width, Math.round(ratio * width));
    const rate = p.done / Math.max(0.001, (now - this.started) / 1000);
    const label = p.phase === "read" ? `检查 ${p.done} 行` : `写入 ${p.done}/${p.total} 项`;
    this.line = `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${String(Math.round(ratio * 100)).padStart(3)}% ${label}  ${Math.round(rate)} 行/秒`;
    if (this.tty && now - this.last >= 100) {
      this.last = now;
      process.stderr.write(`\r${this.line}\x1b[K`);
    }
  }
  done() {
    if (this.tty && this.line) process.stderr.write(`\r${this.line}\x1b[K\n`);
    else if (this.line) process.stderr.write(`${this.line}\n`);
  }
}

function summary(r: ImportReport, ms: number) {
  const seconds = ms / 1000;
  const peakMb = process.resourceUsage().maxRSS / 1024;
  if (values.json) {
    const cpu = process.cpuUsage();
    console.log(JSON.stringify({ ...r, seconds, rowsPerSecond: r.rows / Math.max(seconds, 0.001), peakRssMb: peakMb, cpuSeconds: (cpu.user + cpu.system) / 1e6 }));
    return;
  }
  const lines = [
    r.message,
    `文件：${r.file}（${r.format === "xlsx" ? "Excel .xlsx" : `CSV，${r.encoding === "gb18030" ? "GB18030" : "UTF-8"}`}${r.sheet ? `，工作表“${r.sheet}”` : ""}，表头在第 ${r.headerRow} 行）`,
    `数据行：${r.rows}；新登记：${r.created}${r.dryRun || r.status !== "imported" ? `（待登记 ${r.toCreate}）` : ""}；与台账一致：${r.unchanged}；错误：${r.errors.length + r.errorsNotListed}；不一致：${r.conflicts.length}`,
    `用时：${seconds.toFixed(1)} 秒；${Math.round(r.rows / Math.max(seconds, 0.001))} 行/秒；内存峰值（RSS）：${peakMb.toFixed(0)} MB`,
  ];
  for (const e of r.errors) lines.push(`  ✗ ${e.message}`);
  if (r.errorsNotListed) lines.push(`  …另有 ${r.errorsNotListed} 处错误未列出`);
  for (const c of r.conflicts) lines.push(`  ≠ ${c.message}`);
  if (r.dryRun && r.preview.length) {
    lines.push("将新登记：");
    for (const p of r.preview.slice(0, 20))
      lines.push(
        `  第 ${p.row} 行 ${p.ledgerNumber} ${p.title} | ${p.leadUnit}${p.coUnits.length ? `（配合：${p.coUnits.join("、")}）` : ""} | ${p.plannedDeadline ?? "无固定时限"}${p.immediate ? " 立行立改" : ""}${p.longTerm ? " 长期坚持" : ""}`,
      );
    if (r.toCreate > 20) lines.push(`  …共 ${r.toCreate} 项`);
  }
  console.log(lines.join("\n"));
}

const config = loadConfig();
await connectDb(config.MONGODB_URI);
await ensureIndexes();
const actor: Actor = { id: "cli-import", name: `命令行导入（${userInfo().username}）`, role: "office_staff", unitId: null };
const started = Date.now();
const counter = new ByteCounter();
const progress = new Progress();
try {
  const report = await importLedger(createReadStream(file).pipe(counter), {
    fileName: basename(file),
    service: new CaseService(systemClock),
    actor,
    clock: systemClock,
    dryRun: values["dry-run"] === true,
    immediateWorkdays: workdays,
    onProgress: (p) => progress.update(p, counter.bytes),
    limits: importLimitsOf(config),
  });
  progress.done();
  summary(report, Date.now() - started);
  if (!["imported", "unchanged", "preview"].includes(report.status)) process.exitCode = 1;
} catch (e) {
  progress.done();
  if (!(e instanceof AppError)) throw e;
  console.error(`未导入：${e.message}`);
  process.exitCode = 1;
} finally {
  await disconnectDb();
}
