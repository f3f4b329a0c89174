import { expect } from "chai";
import { createHash, createPublicKey, verify } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkpointText, generateSignerKey, keyIdOf, NoteError, openNote, parseCheckpoint, parseSignerKey, parseVerifierKey, signNote } from "../../src/ledger/note.ts";
import { cli, failure } from "../ops/support.ts";

describe("signed notes and checkpoints", () => {
  const signer = parseSignerKey(generateSignerKey("ledger.example.gov.cn/rectiflow"));
  const text = checkpointText({ origin: signer.name, size: 12, root: createHash("sha256").update("x").digest(), extensions: [] });

  it("writes a checkpoint as origin, size and base64 root, signed by an em-dash line of key id and Ed25519 signature", () => {
    const note = signNote(text, [signer]);
    const [body, sigs] = note.split("\n\n");
    expect(`${body}\n`).to.equal(text);
    expect(text.split("\n")).to.have.length(4);
    const m = /^\u2014 (\S+) (\S+)\n$/u.exec(sigs!)!;
    expect(m[1]).to.equal(signer.name);
    const raw = Buffer.from(m[2]!, "base64");
    expect(raw).to.have.length(68);
    // The key id as the spec defines it, from the published verifier key.
    const pub = Buffer.from(signer.verifier.vkey.split("+").slice(2).join("+"), "base64");
    expect(pub[0]).to.equal(1);
    const want = createHash("sha256").update(Buffer.concat([Buffer.from(`${signer.name}\n`), pub])).digest().subarray(0, 4);
    expect(raw.subarray(0, 4).equals(want)).to.equal(true);
    expect(keyIdOf(signer.name, pub.subarray(1)).equals(want)).to.equal(true);
    // Node verifies the signature over the text including its final newline.
    const key = createPublicKey({ key: Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), pub.subarray(1)]), format: "der", type: "spki" });
    expect(verify(null, Buffer.from(text), key, raw.subarray(4))).to.equal(true);
    expect(parseCheckpoint(openNote(note, [signer.verifier]).text)).to.deep.include({ origin: signer.name, size: 12 });
  });

  it("verifies the signed-note specification's example with its published key", () => {
    // From C2SP signed-note.md.
    const vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const note =
      "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    expect(openNote(note, [parseVerifierKey(vkey)]).signedBy).to.deep.equal(["PeterNeumann+c74f20a3"]);
  });

  it("rejects an edited text, an unknown key only, a forged line of a known key, and malformed keys", () => {
    const note = signNote(text, [signer]);
    expect(() => openNote(note.replace("\n12\n", "\n13\n"), [signer.verifier])).to.throw(NoteError, "签名不成立");
    const other = parseSignerKey(generateSignerKey(signer.name));
    expect(() => openNote(note, [other.verifier])).to.throw(NoteError, "没有已知密钥");
    // A second line by an unknown key is ignored (a witness's cosignature).
    const cosigned = `${note}${signNote(text, [other]).split("\n\n")[1]}`;
    expect(openNote(cosigned, [signer.verifier]).signedBy).to.have.length(1);
    expect(openNote(cosigned, [signer.verifier, other.verifier]).signedBy).to.have.length(2);
    expect(() => parseSignerKey(generateSignerKey("a").replace("PRIVATE+KEY+a+", "PRIVATE+KEY+b+"))).to.throw(NoteError, "密钥号");
    expect(() => generateSignerKey("has space")).to.throw(NoteError);
    expect(() => parseCheckpoint("o\n12\nnot-base64\n")).to.throw(NoteError, "根哈希");
  });
});

describe("npm run ledger-key", () => {
  it("writes a signer key its owner alone reads, prints the matching verifier key, and never overwrites one", async function () {
    this.timeout(60_000);
    const dir = mkdtempSync(join(tmpdir(), "rectiflow-key-"));
    try {
      const file = join(dir, "ledger.key");
      const made = await cli("ledger-key", ["--name", "zgb.test/rectiflow", "--out", file]);
      const signer = parseSignerKey(readFileSync(file, "utf8"));
      expect(statSync(file).mode & 0o777).to.equal(0o600);
      expect(made.stdout).to.contain(signer.verifier.vkey);
      const again = await failure(cli("ledger-key", ["--name", "zgb.test/rectiflow", "--out", file]));
      expect(again.code).to.equal(2);
      expect(again.stderr).to.contain("已存在，不覆盖");
      expect(parseSignerKey(readFileSync(file, "utf8")).verifier.vkey).to.equal(signer.verifier.vkey);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
