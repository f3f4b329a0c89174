import { expect } from "chai";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import mongoose from "mongoose";
import { Case, CaseHistory } from "../../src/db/models.ts";
import { digestCollection, lines, openArchive, writeArchive } from "../../src/ops/archive.ts";
import { backup } from "../../src/ops/backup.ts";
import { RestoreRefused, restore } from "../../src/ops/restore.ts";
import { verifyLedger } from "../../src/ops/verify.ts";
import { newInspection } from "../support/fixtures.ts";
import { ledgerState } from "../support/ledger.ts";
import { tempDir } from "../io/support.ts";
import { attachmentBytes, buildLedger, cli, failure } from "./support.ts";

const db = () => mongoose.connection.db!;
const indexNames = async (name: string) => (await db().collection(name).listIndexes().toArray()).map((i) => i.name as string);

describe("backup and restore", () => {
  const tmp = tempDir();
  after(() => tmp.remove());

  it("backup, wipe, restore (the commands): the same documents, checksums, evidence bytes and indexes, and the ledger verifies", async function () {
    this.timeout(180_000);
    const { w, cases, bigPhoto } = await buildLedger();
    const bytes = await attachmentBytes();
    expect(bytes.get(bigPhoto)!.length).to.be.above(2 * 255 * 1024);
    const file = tmp.path("round-trip.tar.gz");

    const made = await cli("backup", ["--out", file]);
    expect(made.stdout).to.contain(`备份完成：${file}`).and.contain("未备份：sessions");
    expect(made.stderr).to.match(/备份 case_history：\d+ 条，完成/);
    const { manifest, close } = await openArchive(file);
    close();
    expect(manifest.collections.map((c) => c.name)).to.include.members(["cases", "case_history", "notices", "notice_deliveries", "sequences", "units", "attachments.files", "attachments.chunks"]);
    expect(manifest.collections.map((c) => c.name)).to.not.include("sessions");
    // The manifest describes the database as it was.
    for (const c of manifest.collections) expect({ name: c.name, ...(await digestCollection(c.name, c.order)) }).to.deep.equal({ name: c.name, count: c.count, sha256: c.sha256 });
    expect(manifest.collections.find((c) => c.name === "cases")!.count).to.equal(4);
    expect(manifest.attachments).to.have.length(bytes.size);
    expect(manifest.attachments.find((a) => a.id === bigPhoto)).to.include({ length: bytes.get(bigPhoto)!.length });

    await db().dropDatabase();
    const restored = await cli("restore", [file]);
    expect(restored.stdout).to.contain("恢复完成").and.contain("条数和校验和与清单一致");

    for (const c of manifest.collections) expect({ name: c.name, ...(await digestCollection(c.name, c.order)) }).to.deep.equal({ name: c.name, count: c.count, sha256: c.sha256 });
    expect(await attachmentBytes()).to.deep.equal(bytes);
    expect(await db().collection("sessions").countDocuments()).to.equal(0);
    expect(await indexNames("cases")).to.include("ledgerNumber_1");
    expect(await indexNames("attachments.chunks")).to.include("files_id_1_n_1");
    const verified = await cli("verify-ledger", []);
    expect(verified.stdout).to.contain("台账完好").and.contain("2026 年至 2 号");
    // The restored ledger works: the next event chains on.
    const next = await w.service.applyEvent(cases[1]!._id.toString(), { type: "REPORT_PROGRESS", payload: { percent: 80, text: "恢复后" } }, w.lead);
    expect(next.entry.seq).to.equal(cases[1]!.version + 1);
    expect((await verifyLedger()).ok).to.equal(true);
  });

  it("a backup taken while events are applied restores to a ledger that verifies (the case lags, a new case is left out)", async function () {
    this.timeout(120_000);
    const { w, cases } = await buildLedger();
    const [a] = cases;
    let late: string | null = null;
    const r = await backup(tmp.path("busy.tar.gz"), {
      // Right after the cases were copied and before their history is.
      onProgress: async (p) => {
        if (p.step !== "case_history" || p.done !== 0 || late) return;
        await w.service.applyEvent(cases[1]!._id.toString(), { type: "REPORT_PROGRESS", payload: { percent: 95, text: "备份期间" } }, w.lead);
        late = (await w.service.createCase(newInspection(9), w.office))._id.toString();
      },
    });
    expect(late).to.not.equal(null);
    expect(r).to.include({ laggingCases: 1, historyLeftOut: 1 });
    await db().dropDatabase();
    await restore(r.file);
    const report = await verifyLedger();
    expect(report, JSON.stringify(report.broken)).to.include({ ok: true, lagging: 1, cases: 4 });
    expect(await Case.exists({ _id: late })).to.equal(null);
    expect(await CaseHistory.countDocuments({ caseId: late })).to.equal(0);
    // The service rolls the lagging case forward to the entry applied during the backup.
    expect((await w.service.getCase(cases[1]!._id.toString(), w.office)).version).to.equal(cases[1]!.version + 1);
    expect((await w.service.getCase(a!._id.toString(), w.office)).version).to.equal(a!.version);
  });

  it("restore refuses a database that holds data unless --force, and --force replaces it", async function () {
    this.timeout(120_000);
    const { w } = await buildLedger();
    const file = (await backup(tmp.path("refuse.tar.gz"))).file;
    const extra = await w.service.createCase(newInspection(7), w.office);
    const before = await ledgerState();

    const refused = await failure(cli("restore", [file]));
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.contain("未恢复").and.contain("不是空的").and.contain("--force");
    expect(await restore(file).catch((e) => e)).to.be.instanceOf(RestoreRefused);
    expect(await ledgerState()).to.equal(before);

    const forced = await cli("restore", [file, "--force"]);
    expect(forced.stdout).to.contain("恢复前已清空");
    expect(await Case.exists({ _id: extra._id })).to.equal(null);
    expect(await Case.countDocuments()).to.equal(4);
    expect((await verifyLedger()).ok).to.equal(true);
  });

  it("a damaged archive is refused by its checksums, before --force empties anything", async function () {
    this.timeout(120_000);
    await buildLedger();
    const good = await backup(tmp.path("good.tar.gz"));
    // The same archive with one character of one history entry changed.
    const parts = tmp.path("parts");
    mkdirSync(parts);
    const { manifest, entries, close } = await openArchive(good.file);
    for (let next = await entries.next(); !next.done; next = await entries.next()) {
      const text: string[] = [];
      for await (const line of lines(next.value)) text.push(`${line}\n`);
      writeFileSync(join(parts, next.value.header.name), text.join(""));
    }
    close();
    const history = join(parts, "case_history.ejson");
    writeFileSync(history, readFileSync(history, "utf8").replace("进展 2", "进展 3"));
    const bad = tmp.path("bad.tar.gz");
    await writeArchive(bad, manifest, parts);
    const before = await ledgerState();

    const refused = await failure(cli("restore", [bad, "--force"]));
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.contain("case_history 与清单不符");
    expect(await ledgerState()).to.equal(before);
  });
});
