import { expect } from "chai";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Case, CaseHistory } from "../../src/db/models.ts";
import { resetLedger } from "../support/fixtures.ts";
import { testDbUri } from "../support/hooks.ts";
import { csv, demoUnits, gb18030, sampleRows, sampleText, stressRows, tempDir, writeFile, writeXlsxStream } from "./support.ts";

const run = promisify(execFile);
const cli = (args: string[], timeout = 60_000) =>
  run("node", ["--import", "tsx", "scripts/import.ts", ...args], {
    env: { ...process.env, MONGODB_URI: testDbUri(), LOG_LEVEL: "silent" },
    maxBuffer: 16 * 1024 * 1024,
    // A CLI outliving its test would keep writing into the next test's ledger.
    timeout,
    killSignal: "SIGKILL",
  });
const failure = (p: Promise<unknown>) => p.then(() => Promise.reject(new Error("expected the CLI to fail")), (e: { code: number; stdout: string; stderr: string }) => e);

describe("import CLI", () => {
  const tmp = tempDir();
  beforeEach(async () => {
    await resetLedger();
    await demoUnits();
  });
  after(() => tmp.remove());

  it("imports a GB18030 list with a summary (rows/s, peak RSS); a second run changes nothing", async function () {
    this.timeout(60_000);
    const file = writeFile(tmp.path("问题清单-gb.csv"), gb18030(sampleText()));
    const first = await cli([file]);
    expect(first.stdout).to.contain("导入完成：新登记 15 项");
    expect(first.stdout).to.contain("CSV，GB18030");
    expect(first.stdout).to.match(/用时：[\d.]+ 秒；\d+ 行\/秒；内存峰值（RSS）：\d+ MB/);
    expect(first.stderr).to.match(/\[#+\] 100% 写入 15\/15 项/);
    expect(await Case.countDocuments()).to.equal(15);
    const entry = await CaseHistory.findOne({ type: "IMPORT" }).lean();
    expect(entry!.actor).to.include({ id: "cli-import", role: "office_staff" });
    expect(entry!.payload).to.include({ file: "问题清单-gb.csv" });
    const second = await cli([file]);
    expect(second.stdout).to.contain("清单与台账一致（15 项），未作任何更改");
  });

  it("--json prints the report and the figures as one JSON object", async function () {
    this.timeout(60_000);
    const file = writeFile(tmp.path("问题清单.csv"), sampleText());
    const { stdout } = await cli([file, "--json"]);
    const r = JSON.parse(stdout);
    expect(r).to.include({ status: "imported", file: "问题清单.csv", format: "csv", rows: 15, created: 15 });
    expect(r.written).to.have.length(15);
    for (const k of ["seconds", "rowsPerSecond", "peakRssMb", "cpuSeconds"]) expect(r[k]).to.be.a("number").above(0);
    const bad = await failure(cli([writeFile(tmp.path("bad.csv"), sampleText().replace("市发展改革委", "市环保厅")), "--json", "--dry-run"]));
    expect(bad.code).to.equal(1);
    expect(JSON.parse(bad.stdout).errors[0]).to.include({ row: 2, column: "牵头单位", value: "市环保厅" });
  });

  it("a dry run with bad rows lists each one and exits 1; usage errors exit 2", async function () {
    this.timeout(60_000);
    const rows = sampleRows();
    rows[3]![4] = "市环保厅";
    rows[9]![8] = "下个月";
    const file = writeFile(tmp.path("bad.csv"), csv(rows));
    const r = await failure(cli([file, "--dry-run"]));
    expect(r.code).to.equal(1);
    expect(r.stdout).to.contain("预检未通过：发现2 处错误，未写入任何数据");
    expect(r.stdout).to.contain("✗ 第 4 行“牵头单位”列：“市环保厅”不是已登记的单位");
    expect(r.stdout).to.contain("✗ 第 10 行“整改时限”列：“下个月”无法识别为整改时限");
    expect(await Case.countDocuments()).to.equal(0);
    expect((await failure(cli([]))).code).to.equal(2);
    expect((await failure(cli([tmp.path("missing.xlsx")]))).stderr).to.contain("找不到文件");
  });

  // 10,000 rows: read as a stream, every row checked (cells, units, repeated numbers, the ledger in
  // batches), as a dry run; writing them is measured by `npm run bench` (bench 7), not here.
  it("checks a 10,000-row .xlsx streamed, and prints the time and peak memory (a figure, not a limit)", async function () {
    this.timeout(300_000);
    const file = tmp.path("10k.xlsx");
    await writeXlsxStream(file, stressRows(10_000));
    const { stdout } = await cli([file, "--dry-run"], 280_000);
    // The figure for the record (the CLI's own summary).
    console.log(stdout.split("\n").slice(0, 4).map((l) => `      ${l}`).join("\n"));
    expect(stdout).to.contain("预检通过：将新登记 10000 项");
    expect(stdout).to.contain("表头在第 2 行");
    expect(stdout).to.match(/内存峰值（RSS）：\d+ MB/);
    expect(await Case.countDocuments()).to.equal(0);
  });
});
