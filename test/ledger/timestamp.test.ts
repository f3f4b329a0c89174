import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { LedgerCheckpoint } from "../../src/db/models.ts";
import { signCheckpoint } from "../../src/ledger/log.ts";
import { tokenOfReply } from "../../src/ledger/timestamp.ts";
import { buildLedger, type Ledger } from "../ops/support.ts";
import { ledgerSetup } from "./support.ts";

const run = promisify(execFile);

/** A local RFC 3161 TSA: openssl ts -reply behind a tiny HTTP server, with a certificate made here. */
async function localTsa() {
  const dir = mkdtempSync(join(tmpdir(), "rectiflow-tsa-"));
  await run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "tsa.key"), "-out", join(dir, "tsa.crt"), "-days", "1", "-subj", "/CN=Rectiflow test TSA",
    "-addext", "extendedKeyUsage=critical,timeStamping", "-addext", "keyUsage=critical,digitalSignature"]);
  writeFileSync(join(dir, "serial"), "01\n");
  writeFileSync(
    join(dir, "tsa.cnf"),
    `[ tsa ]\ndefault_tsa = tsa1\n[ tsa1 ]\ndir = ${dir}\nserial = $dir/serial\ncrypto_device = builtin\nsigner_cert = $dir/tsa.crt\ncerts = $dir/tsa.crt\nsigner_key = $dir/tsa.key\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\ndigests = sha256\naccuracy = secs:1\nordering = yes\ntsa_name = yes\ness_cert_id_chain = no\ness_cert_id_alg = sha256\n`,
  );
  let refuse = false;
  let n = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", async () => {
      if (refuse || req.headers["content-type"] !== "application/timestamp-query") {
        res.writeHead(500).end();
        return;
      }
      const q = join(dir, `q${++n}.tsq`);
      const r = join(dir, `r${n}.tsr`);
      writeFileSync(q, Buffer.concat(chunks));
      try {
        await run("openssl", ["ts", "-reply", "-config", join(dir, "tsa.cnf"), "-queryfile", q, "-out", r]);
        res.writeHead(200, { "content-type": "application/timestamp-reply" }).end(readFileSync(r));
      } catch {
        res.writeHead(500).end();
      }
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  return {
    dir,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/tsa`,
    refuse: (v: boolean) => {
      refuse = v;
    },
    close: () => {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe("RFC 3161 timestamps on checkpoints", function () {
  this.timeout(60_000);
  let tsa: Awaited<ReturnType<typeof localTsa>>;
  let ledger: Ledger;
  let setup: ReturnType<typeof ledgerSetup>;
  before(async () => {
    tsa = await localTsa();
  });
  after(() => tsa.close());
  beforeEach(async () => {
    ledger = await buildLedger();
    setup = ledgerSetup();
  });
  afterEach(() => setup.remove());

  it("gets each checkpoint a token from the TSA that openssl ts -verify accepts for the note, and stores it", async () => {
    const r = await signCheckpoint({ signer: setup.signer, dir: setup.dir, clock: ledger.w.clock, tsaUrl: tsa.url });
    expect(r).to.include({ status: "signed", timestamped: true });
    const note = join(setup.dir, "checkpoints", "0000000001.txt");
    const reply = join(setup.dir, "checkpoints", "0000000001.tsr");
    const v = await run("openssl", ["ts", "-verify", "-data", note, "-in", reply, "-CAfile", join(tsa.dir, "tsa.crt")]);
    expect(v.stdout).to.contain("Verification: OK");
    const stored = await LedgerCheckpoint.findById(1).lean();
    expect(Buffer.from(stored!.timestamp!, "base64").equals(tokenOfReply(readFileSync(reply)))).to.equal(true);
    // The token is for this note: another text does not verify.
    writeFileSync(join(setup.dir, "other.txt"), "another text\n");
    const other = await run("openssl", ["ts", "-verify", "-data", join(setup.dir, "other.txt"), "-in", reply, "-CAfile", join(tsa.dir, "tsa.crt")]).catch((e) => e);
    expect(String(other.stdout ?? "")).to.not.contain("Verification: OK");
  });

  it("signs the checkpoint anyway when the TSA fails (the timestamp is optional)", async () => {
    tsa.refuse(true);
    try {
      const r = await signCheckpoint({ signer: setup.signer, dir: setup.dir, clock: ledger.w.clock, tsaUrl: tsa.url });
      expect(r).to.include({ status: "signed", timestamped: false });
      expect((await LedgerCheckpoint.findById(1).lean())!.timestamp).to.equal(null);
    } finally {
      tsa.refuse(false);
    }
  });

  it("refuses a reply that grants nothing", () => {
    // TimeStampResp { status { rejection (2) } }
    expect(() => tokenOfReply(Buffer.from("30053003020102", "hex"))).to.throw("拒绝");
  });
});
