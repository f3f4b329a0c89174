import { expect } from "chai";
import { createHash } from "node:crypto";
import request from "supertest";
import { signCheckpoint } from "../../src/ledger/log.ts";
import { verifyInclusion } from "../../src/ledger/merkle.ts";
import { openNote, parseCheckpoint } from "../../src/ledger/note.ts";
import { buildLedger, type Ledger } from "../ops/support.ts";
import { useApp } from "../support/app.ts";
import { signIn, testApp } from "../support/http.ts";
import { ledgerSetup, rewriteCase } from "./support.ts";

describe("checkpoints and proofs over HTTP, and 已存证 on the case page", function () {
  this.timeout(60_000);
  let ledger: Ledger;
  let setup: ReturnType<typeof ledgerSetup>;
  // Registered before the app's hooks: the ledger's world exists before the app, its key directory goes first.
  beforeEach(async () => {
    ledger = await buildLedger();
    setup = ledgerSetup();
  });
  afterEach(() => setup.remove());
  const t = useApp({ world: () => ledger.w, env: () => ({ LEDGER_KEY: setup.key }) });
  const sign = () => signCheckpoint({ signer: setup.signer, dir: setup.dir, clock: ledger.w.clock });
  const b64 = (s: string) => Buffer.from(s, "base64");

  it("serves the latest checkpoint as a signed note and all of them by page, to anyone", async () => {
    expect((await request(t.app).get("/api/ledger/checkpoint")).body.error.code).to.equal("no_checkpoint");
    await sign();
    const res = await request(t.app).get("/api/ledger/checkpoint");
    expect(res.status).to.equal(200);
    expect(res.headers["content-type"]).to.match(/^text\/plain/);
    const c = parseCheckpoint(openNote(res.text, setup.verifiers).text);
    expect(c.origin).to.equal("zgb.test/rectiflow");
    const page = await request(t.app).get("/api/ledger/checkpoints?from=1");
    expect(page.status).to.equal(200);
    expect(page.body.items.map((i: { n: number; note: string }) => [i.n, i.note])).to.deep.equal([[1, res.text]]);
    expect(page.body.next).to.equal(null);
    expect((await request(t.app).get("/api/ledger/checkpoints?from=0")).status).to.equal(422);
  });

  it("gives an entry's inclusion proof that an outsider verifies against the signed root, only to who may see the case", async () => {
    await sign();
    const c = ledger.cases[1]!;
    const lead = await t.signIn("lead");
    const res = await lead.agent.get(`/api/cases/${c._id}/history/2/proof`);
    expect(res.status).to.equal(200);
    const p = res.body;
    expect(p).to.include({ caseId: c._id.toString(), seq: 2, verified: true, checkpointNumber: 1 });
    // What an outside party does with the published key: check the note, hash the leaf, walk the path.
    const cp = parseCheckpoint(openNote(p.checkpoint, setup.verifiers).text);
    const leaf = createHash("sha256").update(Buffer.of(0)).update(b64(p.leafData)).digest();
    expect(leaf.equals(b64(p.leafHash))).to.equal(true);
    expect(verifyInclusion(p.leafIndex, cp.size, leaf, p.proof.map(b64), cp.root)).to.equal(true);

    const other = await t.signIn("other");
    const hidden = await other.agent.get(`/api/cases/${c._id}/history/2/proof`);
    expect([hidden.status, hidden.body.error.code]).to.deep.equal([404, "not_found"]);
    expect((await lead.agent.get(`/api/cases/${c._id}/history/99/proof`)).status).to.equal(404);
    expect((await lead.agent.get(`/api/cases/${c._id}/history/0/proof`)).status).to.equal(404);

    const { w } = ledger;
    await w.service.applyEvent(c._id.toString(), { type: "REPORT_PROGRESS", payload: { percent: 70, text: "新进展" } }, w.lead);
    const fresh = await lead.agent.get(`/api/cases/${c._id}/history/${c.version + 1}/proof`);
    expect([fresh.status, fresh.body.error.code]).to.deep.equal([409, "not_yet_covered"]);
  });

  it("marks each covered entry 已存证 with the checkpoint's time; a case rewritten after signing shows 与存证不符 instead", async () => {
    const c = ledger.cases[1]!;
    const staff = await t.signIn("staff");
    const page = async () => (await staff.agent.get(`/cases/${c._id}`)).text;
    let html = await page();
    expect(html.match(/待存证/g)).to.have.length(c.version);
    expect(html).to.not.contain("已存证");

    await sign();
    html = await page();
    expect(html.match(/已存证 /g)).to.have.length(c.version);
    expect(html).to.contain(`href="/api/cases/${c._id}/history/1/proof"`);

    await rewriteCase(c._id.toString(), c.version, (e) => {
      (e.payload as { percent: number }).percent = 100;
    });
    html = await page();
    expect(html.match(/已存证 /g)).to.have.length(c.version - 1);
    expect(html.match(/与存证不符/g)).to.have.length(1);
    const lead = await t.signIn("lead");
    const proof = await lead.agent.get(`/api/cases/${c._id}/history/${c.version}/proof`);
    expect(proof.body.verified).to.equal(false);
  });

  it("after leaf hashes were rewritten in the database too: with the ledger directory the intact cases still show 已存证; without it nothing does", async () => {
    await sign();
    const [intact, target] = [ledger.cases[2]!, ledger.cases[1]!];
    await rewriteCase(target._id.toString(), target.version, (e) => {
      (e.payload as { percent: number }).percent = 100;
    });
    // A fresh web process (nothing cached yet) without the directory first.
    const plain = await t.signIn("staff");
    for (const c of [intact, target]) {
      const html = (await plain.agent.get(`/cases/${c._id}`)).text;
      expect(html).to.not.contain("已存证 ");
      expect(html.match(/存证无法核对|与存证不符/g)).to.have.length(c.version);
    }
    const withDir = testApp(ledger.w, { LEDGER_KEY: setup.key, LEDGER_DIR: setup.dir });
    try {
      const staff = await signIn(withDir.app, "staff");
      const good = (await staff.agent.get(`/cases/${intact._id}`)).text;
      expect(good.match(/已存证 /g)).to.have.length(intact.version);
      const bad = (await staff.agent.get(`/cases/${target._id}`)).text;
      expect(bad.match(/已存证 /g)).to.have.length(target.version - 1);
      expect(bad.match(/与存证不符/g)).to.have.length(1);
    } finally {
      await withDir.close();
    }
  });
});
