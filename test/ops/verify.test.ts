import { expect } from "chai";
import { Case, CaseHistory, Notice, Sequence } from "../../src/db/models.ts";
import { issueByHand } from "../../src/notices/issuer.ts";
import { verifyLedger } from "../../src/ops/verify.ts";
import { buildLedger, cli, failure, type Ledger } from "./support.ts";

describe("verify-ledger", () => {
  let ledger: Ledger;
  beforeEach(async () => {
    ledger = await buildLedger();
  });
  const caseOf = (i: number) => ledger.cases[i]!;

  it("passes on an intact ledger", async () => {
    const r = await verifyLedger({ settleMs: 0 });
    expect(r).to.include({ ok: true, cases: 4, lagging: 0 });
    expect(r.entries).to.equal(await CaseHistory.countDocuments());
    expect(r.numbering.years).to.deep.equal({ "2026": 2 });
  });

  it("names exactly the case whose history entry was edited in the database, and exits 1", async function () {
    this.timeout(60_000);
    const c = caseOf(1);
    await CaseHistory.collection.updateOne({ _id: `${c._id}:4` as never }, { $set: { "payload.percent": 100 } });
    const r = await verifyLedger({ settleMs: 0 });
    expect(r.ok).to.equal(false);
    expect(r.broken).to.deep.equal([{ caseId: c._id.toString(), ledgerNumber: "ZY2-02", seq: 4, reason: "第 4 条记录内容被改动" }]);

    const run = await failure(cli("verify-ledger", []));
    expect(run.code).to.equal(1);
    expect(run.stdout).to.contain(`✗ 案件 ZY2-02（id ${c._id}）：第 4 条记录内容被改动`);
    expect(run.stdout.match(/✗/g)).to.have.length(1);
  });

  it("names a case with a removed entry, one whose head was changed, and one whose document was removed", async () => {
    const [a, b, c] = [caseOf(0), caseOf(1), caseOf(2)];
    await CaseHistory.deleteOne({ _id: `${a._id}:2` });
    await Case.collection.updateOne({ _id: b._id }, { $set: { historyHead: "0".repeat(64) } });
    await Case.collection.deleteOne({ _id: c._id });
    const r = await verifyLedger({ settleMs: 0 });
    const named = Object.fromEntries(r.broken.map((x) => [x.ledgerNumber, x.reason]));
    expect(named).to.have.keys(["ZY2-01", "ZY2-02", "ZY2-03"]);
    expect(named["ZY2-01"]).to.contain("缺失或插入");
    expect(named["ZY2-02"]).to.contain("链头不符");
    expect(named["ZY2-03"]).to.contain("案件记录不存在");
  });

  it("accepts a case one entry behind its history (a crash between append and projection), but not a head that does not match", async () => {
    const c = caseOf(1);
    const head = await CaseHistory.findById(`${c._id}:${c.version - 1}`).lean();
    await Case.collection.updateOne({ _id: c._id }, { $set: { version: c.version - 1, historyHead: head!.hash } });
    expect(await verifyLedger({ settleMs: 0 })).to.include({ ok: true, lagging: 1 });
    await Case.collection.updateOne({ _id: c._id }, { $set: { historyHead: c.historyHead } });
    const r = await verifyLedger({ settleMs: 0 });
    expect(r.broken.map((x) => x.ledgerNumber)).to.deep.equal(["ZY2-02"]);
  });

  it("reports a gap and a duplicate in the supervision numbering", async function () {
    this.timeout(60_000);
    const { w } = ledger;
    const third = await issueByHand(caseOf(2), { level: "supervision", requirement: "请书面报告" }, w.office, w.clock);
    expect(third.number).to.equal("督办〔2026〕3号");
    const second = await Notice.findOne({ number: "督办〔2026〕2号" }).lean();
    // A crash between claiming the number and writing it onto the notice.
    await Notice.updateOne({ _id: second!._id }, { $set: { number: null } });
    let r = await verifyLedger({ settleMs: 10 });
    expect(r.ok).to.equal(false);
    expect(r.broken).to.deep.equal([]);
    expect(r.numbering.problems.map((p) => [p.kind, p.n, p.noticeIds])).to.deep.equal([["gap", 2, [second!._id]]]);
    expect(r.numbering.problems[0]!.message).to.contain("督办〔2026〕2号缺号").and.contain(second!._id);

    await Notice.updateOne({ _id: second!._id }, { $set: { number: "督办〔2026〕2号" } });
    await Notice.updateOne({ _id: third._id }, { $set: { number: "督办〔2026〕1号" } });
    r = await verifyLedger({ settleMs: 10 });
    expect(r.numbering.problems.map((p) => [p.kind, p.n])).to.deep.equal([
      ["duplicate", 1],
      ["gap", 3],
    ]);
    const run = await failure(cli("verify-ledger", []));
    expect(run.code).to.equal(1);
    expect(run.stdout).to.contain("督办〔2026〕1号重复").and.contain("督办〔2026〕3号缺号");
    expect(await Sequence.countDocuments({ name: "supervision-2026" })).to.equal(3);
  });
});
