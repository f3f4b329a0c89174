/**
 * Bench 7: importing a feedback list of `sizes.rows` rows (.xlsx) with the real CLI as a child
 * process, so the peak RSS is the importer's own: a dry run (read + check), the import into an
 * empty ledger (read + check + write), and re-importing the same list into the ledger it just
 * filled (every row found and compared: "unchanged"). Figures are the CLI's own (`--json`), from
 * after it connected to the database to the end of the import.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { loadConfig } from "../src/config.ts";
import { Case, CaseHistory, CaseSchedule, Sequence } from "../src/db/models.ts";
import type { ImportReport } from "../src/io/import.ts";
import { seedDirectory } from "../src/seed.ts";
import { stressRows, writeXlsxStream } from "../test/io/support.ts";
import { rounds } from "./lib.ts";
import type { BenchContext } from "./run.ts";

const BENCH = "7 import";
/** A 10,000-row write round (import, then re-import) takes 10–15 s here; more rounds add little. */
const MAX_WRITE_ROUNDS_LARGE = 3;

type CliResult = ImportReport & { seconds: number; rowsPerSecond: number; peakRssMb: number; cpuSeconds: number };

interface Run {
  seconds: number;
  rowsPerSecond: number;
  peakRssMb: number;
  /** The importer's CPU time (startup included): less inflated than wall time when other work shares the cores. */
  cpuSeconds: number;
  /** Node start to exit, tsx loading and connecting included. */
  wallSeconds: number;
}

const run = promisify(execFile);

async function cli(ctx: BenchContext, file: string, dryRun: boolean, expect: ImportReport["status"]): Promise<Run> {
  const t0 = performance.now();
  const { stdout } = await run(process.execPath, ["--import", "tsx", "scripts/import.ts", file, "--json", ...(dryRun ? ["--dry-run"] : [])], {
    env: { ...process.env, MONGODB_URI: ctx.dbUri, LOG_LEVEL: "silent" },
    maxBuffer: 64 * 1024 * 1024,
  });
  const wallSeconds = (performance.now() - t0) / 1000;
  const r = JSON.parse(stdout) as CliResult;
  if (r.status !== expect || r.rows !== ctx.sizes.rows) throw new Error(`import ${dryRun ? "dry run " : ""}ended "${r.status}" (expected "${expect}"): ${r.message}`);
  return { seconds: r.seconds, rowsPerSecond: r.rowsPerSecond, peakRssMb: r.peakRssMb, cpuSeconds: r.cpuSeconds, wallSeconds };
}

/** Empties what an import writes (units and users stay). */
async function clearLedger(): Promise<void> {
  for (const m of [Case, CaseHistory, CaseSchedule, Sequence] as (typeof Case)[]) await m.deleteMany({});
}

/** Adds the figures of a set of runs; returns their median time. */
function report(ctx: BenchContext, what: string, runs: Run[]): number {
  const { results } = ctx;
  const time = results.add(BENCH, `${what}: time`, "s", runs.map((r) => r.seconds));
  results.add(BENCH, `${what}: rows/s`, "rows/s", runs.map((r) => r.rowsPerSecond));
  results.add(BENCH, `${what}: peak RSS`, "MB", runs.map((r) => r.peakRssMb));
  results.add(BENCH, `${what}: importer CPU time`, "s", runs.map((r) => r.cpuSeconds), "whole process");
  results.add(BENCH, `${what}: process wall time`, "s", runs.map((r) => r.wallSeconds), "node start to exit");
  return time.median;
}

export async function benchImport(ctx: BenchContext): Promise<void> {
  const n = ctx.sizes.rows;
  await seedDirectory(loadConfig().DEMO_PASSWORD);
  if (await Case.exists({})) throw new Error("bench 7 needs an empty ledger");
  const dir = mkdtempSync(join(tmpdir(), "rectiflow-bench-import-"));
  try {
    const file = join(dir, `feedback-list-${n}.xlsx`);
    await writeXlsxStream(file, stressRows(n));
    const rows = `${n.toLocaleString("en-US")}-row`;
    // The machine's load: the database server and the importer share its cores with whatever else runs.
    const facts: Record<string, unknown> = { rows: n, fileBytes: statSync(file).size, loadAverageAtStart: loadavg() };
    ctx.results.facts[BENCH] = facts;
    console.log(`  ${rows} list, ${(statSync(file).size / 2 ** 20).toFixed(1)} MB .xlsx; load average ${loadavg().map((l) => l.toFixed(1)).join(" ")}`);

    const dry: Run[] = [];
    await rounds(ctx.sizes.rounds, async (i) => {
      const r = await cli(ctx, file, true, "preview");
      if (i >= 0) dry.push(r);
      return r.seconds;
    });
    report(ctx, `${rows} dry run (read + check)`, dry);

    // Each write round starts from an empty ledger; the dry runs above warmed up the server.
    const writes: Run[] = [];
    const again: Run[] = [];
    const writeRounds = n >= 5000 ? Math.min(ctx.sizes.rounds, MAX_WRITE_ROUNDS_LARGE) : ctx.sizes.rounds;
    await rounds(
      writeRounds,
      async () => {
        await clearLedger();
        const w = await cli(ctx, file, false, "imported");
        writes.push(w);
        if ((await Case.countDocuments()) !== n) throw new Error(`the import reported success but the ledger does not hold ${n} cases`);
        again.push(await cli(ctx, file, false, "unchanged"));
        return w.seconds;
      },
      false,
    );
    const median = report(ctx, `${rows} import into an empty ledger (read + check + write)`, writes);
    report(ctx, `${rows} re-import into that ledger (all unchanged)`, again);
    facts.loadAverageAtEnd = loadavg();
    ctx.results.goal(BENCH, `${rows} import (write) time${n === 10_000 ? "" : " (the goal is for 10,000 rows)"}`, median, "< 10 s", median < 10);
  } finally {
    await clearLedger();
    rmSync(dir, { recursive: true, force: true });
  }
}
