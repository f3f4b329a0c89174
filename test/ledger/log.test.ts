import { expect } from "chai";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { CaseHistory, LedgerCheckpoint } from "../../src/db/models.ts";
import { entryLeafHash, leafHashes, openCheckpoint, readSavedLeaves, sequence, signCheckpoint, treeSize } from "../../src/ledger/log.ts";
import { MerkleTree, verifyConsistency } from "../../src/ledger/merkle.ts";
import { parseSignerKey, generateSignerKey } from "../../src/ledger/note.ts";
import { verifyLedger } from "../../src/ops/verify.ts";
import type { ChainEntry } from "../../src/cases/history.ts";
import { newInspection } from "../support/fixtures.ts";
import mongoose from "mongoose";
import { backup } from "../../src/ops/backup.ts";
import { restore } from "../../src/ops/restore.ts";
import { buildLedger, cli, failure, type Ledger } from "../ops/support.ts";
import { ledgerSetup, rewriteCase } from "./support.ts";

describe("the ledger tree and its checkpoints", () => {
  let ledger: Ledger;
  let setup: ReturnType<typeof ledgerSetup>;
  beforeEach(async function () {
    this.timeout(60_000);
    ledger = await buildLedger();
    setup = ledgerSetup();
  });
  afterEach(() => setup.remove());
  const sign = () => signCheckpoint({ signer: setup.signer, dir: setup.dir, clock: ledger.w.clock });
  const verified = () => verifyLedger({ settleMs: 0, ledger: { dir: setup.dir, verifiers: setup.verifiers } });

  it("numbers every committed entry once, 0..n-1, even with sequencers and writers running at once", async () => {
    const { w, cases } = ledger;
    const total = await CaseHistory.countDocuments();
    // Three sequencers racing, while events keep coming.
    const events = [
      ...cases.slice(1, 3).map((c, i) => w.service.applyEvent(c._id.toString(), { type: "REPORT_PROGRESS", payload: { percent: 95 + i, text: "又一次进展" } }, w.lead)),
      w.service.createCase(newInspection(7), w.office),
    ];
    await Promise.all([sequence(w.clock, 3), sequence(w.clock, 5), sequence(w.clock), ...events]);
    await sequence(w.clock);
    const entries = await CaseHistory.find({}).lean<ChainEntry[]>();
    expect(entries).to.have.length(total + 3);
    const leaves = entries.map((e) => e.leaf).sort((a, b) => a! - b!);
    expect(leaves).to.deep.equal(entries.map((_, i) => i));
    for (const e of entries) expect(e.leafHash).to.equal(entryLeafHash(e).toString("hex"));
    // Within a case, positions follow the chain.
    const first = entries.filter((e) => e.caseId === cases[1]!._id.toString()).sort((a, b) => a.seq - b.seq);
    expect(first.map((e) => e.leaf)).to.deep.equal([...first.map((e) => e.leaf)].sort((a, b) => a! - b!));
    expect(await treeSize()).to.equal(total + 3);
    expect(await sequence(w.clock)).to.equal(0);
  });

  it("signs a checkpoint into the directory and the database, signs again only when the ledger grew, and each extends the last", async () => {
    const first = await sign();
    expect(first).to.include({ status: "signed", n: 1 });
    const size = await CaseHistory.countDocuments();
    const note = readFileSync(join(setup.dir, "checkpoints", "0000000001.txt"), "utf8");
    const c1 = openCheckpoint(note, setup.verifiers);
    expect(c1).to.deep.include({ origin: "zgb.test/rectiflow", size });
    expect(note.split("\n").slice(0, 3)).to.deep.equal(["zgb.test/rectiflow", String(size), c1.root.toString("base64")]);
    expect(c1.root.equals(new MerkleTree(await leafHashes(0, size)).root())).to.equal(true);
    expect((await LedgerCheckpoint.findById(1).lean())!.note).to.equal(note);
    expect((await readSavedLeaves(setup.dir))!).to.have.length(size);

    expect(await sign()).to.include({ status: "unchanged", n: 1 });
    const { w, cases } = ledger;
    await w.service.applyEvent(cases[1]!._id.toString(), { type: "REPORT_PROGRESS", payload: { percent: 90, text: "快完成了" } }, w.lead);
    expect(await sign()).to.include({ status: "signed", n: 2, size: size + 1 });
    const c2 = openCheckpoint(readFileSync(join(setup.dir, "checkpoints", "0000000002.txt"), "utf8"), setup.verifiers);
    const tree = new MerkleTree(await leafHashes(0, size + 1));
    expect(verifyConsistency(c1.size, c2.size, c1.root, c2.root, tree.consistencyProof(c1.size, c2.size))).to.equal(true);
    expect(readdirSync(join(setup.dir, "checkpoints"))).to.deep.equal(["0000000001.txt", "0000000002.txt"]);
    expect((await verified()).ok).to.equal(true);
  });

  it("refuses to sign when the database no longer extends the last checkpoint", async () => {
    await sign();
    const { cases } = ledger;
    await rewriteCase(cases[1]!._id.toString(), 4, (e) => {
      (e.payload as { percent: number }).percent = 100;
    });
    const { w } = ledger;
    await w.service.applyEvent(cases[2]!._id.toString(), { type: "REPORT_PROGRESS", payload: { percent: 95, text: "再报" } }, w.lead);
    const r = await sign();
    expect(r.status).to.equal("refused");
    expect((r as { reason: string }).reason).to.contain("与已存证的叶子哈希不符");
    expect(readdirSync(join(setup.dir, "checkpoints"))).to.deep.equal(["0000000001.txt"]);
  });

  it("verify-ledger names the case whose whole chain was rewritten consistently, which the chain check alone passes", async function () {
    this.timeout(120_000);
    await sign();
    const target = ledger.cases[1]!;
    await rewriteCase(target._id.toString(), 4, (e) => {
      (e.payload as { percent: number }).percent = 100;
    });
    // The hash chains alone see nothing: the rewrite is consistent.
    const chainsOnly = await verifyLedger({ settleMs: 0 });
    expect(chainsOnly.ok).to.equal(true);

    const r = await verified();
    expect(r.ok).to.equal(false);
    expect(r.broken).to.deep.equal([{ caseId: target._id.toString(), ledgerNumber: "ZY2-02", seq: 4, reason: "第 4 条记录与第 1 号存证检查点不符（存证后被改动）" }]);
    expect(r.checkpoints!.problems.join("\n")).to.contain("得不出第 1 号检查点");

    process.env.LEDGER_KEY = setup.key;
    process.env.LEDGER_DIR = setup.dir;
    try {
      const run = await failure(cli("verify-ledger", []));
      expect(run.code).to.equal(1);
      expect(run.stdout).to.contain(`✗ 案件 ZY2-02（id ${target._id}）：第 4 条记录与第 1 号存证检查点不符`);
      expect(run.stdout.match(/✗ 案件/g)).to.have.length(1);
      // Without the directory, the database's own copies and stored leaf hashes are all there is.
      delete process.env.LEDGER_DIR;
      const dbOnly = await failure(cli("verify-ledger", []));
      expect(dbOnly.stdout).to.contain("得不出第 1 号检查点");
    } finally {
      delete process.env.LEDGER_KEY;
      delete process.env.LEDGER_DIR;
    }
  });

  it("after a backup and a restore, positions and checkpoints hold; a consistent rewrite then is named as before", async function () {
    this.timeout(120_000);
    await sign();
    const before = await CaseHistory.find({}, { leaf: 1, leafHash: 1 }).sort({ _id: 1 }).lean();
    const file = join(setup.dir, "backup.tar.gz");
    await backup(file);
    await mongoose.connection.dropDatabase();
    await restore(file);
    expect(await CaseHistory.find({}, { leaf: 1, leafHash: 1 }).sort({ _id: 1 }).lean()).to.deep.equal(before);
    expect(await LedgerCheckpoint.countDocuments()).to.equal(1);
    expect((await verified()).ok).to.equal(true);
    // The restored ledger goes on: the next checkpoint extends the one signed before the backup.
    const { w, cases } = ledger;
    await w.service.applyEvent(cases[2]!._id.toString(), { type: "REPORT_PROGRESS", payload: { percent: 95, text: "恢复后" } }, w.lead);
    expect(await sign()).to.include({ status: "signed", n: 2 });

    const target = cases[0]!;
    await rewriteCase(target._id.toString(), 2, (e) => {
      e.actor = { ...e.actor, name: "别人" };
    });
    const r = await verified();
    expect(r.ok).to.equal(false);
    expect(r.broken.map((b) => [b.ledgerNumber, b.seq])).to.deep.equal([["ZY2-01", 2]]);
    expect(r.broken[0]!.reason).to.contain("与第 2 号存证检查点不符");
  });

  it("verify-ledger rejects a checkpoint whose signature does not hold, or that a key it does not know signed", async () => {
    await sign();
    const file = join(setup.dir, "checkpoints", "0000000001.txt");
    const note = readFileSync(file, "utf8");
    const { writeFileSync } = await import("node:fs");
    writeFileSync(file, note.replace(/\n(\d+)\n/, (_, n) => `\n${Number(n) - 1}\n`));
    let r = await verified();
    expect(r.ok).to.equal(false);
    expect(r.checkpoints!.problems[0]).to.contain("第 1 号检查点的签名无法验证").and.contain("签名不成立");
    writeFileSync(file, note);
    const stranger = parseSignerKey(generateSignerKey("zgb.test/rectiflow"));
    r = await verifyLedger({ settleMs: 0, ledger: { dir: setup.dir, verifiers: [stranger.verifier] } });
    expect(r.checkpoints!.problems[0]).to.contain("没有已知密钥的签名");
  });
});
