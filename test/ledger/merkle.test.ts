import { expect } from "chai";
import { EMPTY_ROOT, MerkleTree, leafHash, nodeHash, rootOf, verifyConsistency, verifyInclusion } from "../../src/ledger/merkle.ts";

// The certificate-transparency reference vectors (RFC 6962 trees of these eight leaf inputs), as the
// C++ reference implementation and transparency-dev/merkle's tests give them.
const INPUTS = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"].map((h) => Buffer.from(h, "hex"));
const ROOTS = [
  "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
  "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
  "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
  "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
  "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];
// [leaf index (0-based), tree size, path]
const PATHS: [number, number, string[]][] = [
  [0, 1, []],
  [0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]],
  [5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b", "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0", "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]],
  [2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]],
  [1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]],
];
// [size1, size2, proof]
const CONSISTENCY: [number, number, string[]][] = [
  [1, 1, []],
  [1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]],
  [6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a", "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0", "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]],
  [2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]],
];

const hex = (bs: Buffer[]) => bs.map((b) => b.toString("hex"));
const unhex = (hs: string[]) => hs.map((h) => Buffer.from(h, "hex"));

/** The RFC's recursive definitions, written out plainly, to check the tree against at every size. */
const split = (n: number) => 2 ** Math.ceil(Math.log2(n) - 1);
const mth = (d: Buffer[]): Buffer => (d.length === 0 ? EMPTY_ROOT : d.length === 1 ? d[0]! : nodeHash(mth(d.slice(0, split(d.length))), mth(d.slice(split(d.length)))));
const path = (m: number, d: Buffer[]): Buffer[] => {
  if (d.length <= 1) return [];
  const k = split(d.length);
  return m < k ? [...path(m, d.slice(0, k)), mth(d.slice(k))] : [...path(m - k, d.slice(k)), mth(d.slice(0, k))];
};

describe("RFC 6962 Merkle trees", () => {
  const leaves = INPUTS.map(leafHash);
  const tree = new MerkleTree(leaves);

  it("gives the reference roots for every size, and the empty tree's hash", () => {
    expect(ROOTS.map((_, i) => tree.root(i + 1).toString("hex"))).to.deep.equal(ROOTS);
    expect(tree.root(0).toString("hex")).to.equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(rootOf(leaves.slice(0, 3)).toString("hex")).to.equal(ROOTS[2]);
  });

  it("builds the reference inclusion proofs and verifies them, and rejects a changed leaf, index, size or proof", () => {
    for (const [index, size, want] of PATHS) {
      expect(hex(tree.inclusionProof(index, size)), `${index}/${size}`).to.deep.equal(want);
      const root = Buffer.from(ROOTS[size - 1]!, "hex");
      expect(verifyInclusion(index, size, leaves[index]!, unhex(want), root)).to.equal(true);
      expect(verifyInclusion(index, size, leafHash(Buffer.from("x")), unhex(want), root)).to.equal(false);
      if (want.length) {
        expect(verifyInclusion(index ^ 1, size, leaves[index]!, unhex(want), root)).to.equal(false);
        const bent = unhex(want);
        bent[0]![0]! ^= 1;
        expect(verifyInclusion(index, size, leaves[index]!, bent, root)).to.equal(false);
        expect(verifyInclusion(index, size, leaves[index]!, unhex(want).slice(1), root)).to.equal(false);
      }
    }
    expect(verifyInclusion(8, 8, leaves[0]!, [], tree.root())).to.equal(false);
    expect(() => tree.inclusionProof(8, 8)).to.throw(RangeError);
  });

  it("builds the reference consistency proofs and verifies them, and rejects a changed root or proof", () => {
    for (const [m, n, want] of CONSISTENCY) {
      expect(hex(tree.consistencyProof(m, n)), `${m}→${n}`).to.deep.equal(want);
      const [r1, r2] = [Buffer.from(ROOTS[m - 1]!, "hex"), Buffer.from(ROOTS[n - 1]!, "hex")];
      expect(verifyConsistency(m, n, r1, r2, unhex(want))).to.equal(true);
      if (m < n) {
        expect(verifyConsistency(m, n, Buffer.from(ROOTS[n - 1]!, "hex"), r2, unhex(want))).to.equal(false);
        expect(verifyConsistency(m, n, r1, Buffer.from(ROOTS[m - 1]!, "hex"), unhex(want))).to.equal(false);
        expect(verifyConsistency(m, n, r1, r2, unhex(want).slice(0, -1))).to.equal(false);
      }
    }
  });

  it("agrees with the RFC's recursive definitions at random sizes, and every proof verifies", () => {
    let seed = 20;
    const random = (below: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % below;
    };
    for (let round = 0; round < 40; round++) {
      const n = 1 + random(300);
      const d = Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`${round}:${i}`)));
      const t = new MerkleTree(d);
      for (let probe = 0; probe < 6; probe++) {
        const size = 1 + random(n);
        const index = random(size);
        const m = random(size + 1);
        const root = mth(d.slice(0, size));
        expect(t.root(size).equals(root), `root ${size}`).to.equal(true);
        const proof = t.inclusionProof(index, size);
        expect(hex(proof)).to.deep.equal(hex(path(index, d.slice(0, size))));
        expect(verifyInclusion(index, size, d[index]!, proof, root)).to.equal(true);
        expect(verifyInclusion(index, size, d[(index + 1) % size]!, proof, root)).to.equal(size === 1);
        expect(verifyConsistency(m, size, t.root(m), root, t.consistencyProof(m, size)), `${m}→${size}`).to.equal(true);
        // A tree whose older part was rewritten is not consistent with the old root.
        if (m > 0 && m < size) {
          const rewritten = new MerkleTree([leafHash(Buffer.from("rewritten")), ...d.slice(1, size)]);
          expect(verifyConsistency(m, size, t.root(m), rewritten.root(), rewritten.consistencyProof(m, size))).to.equal(false);
        }
      }
    }
  });
});
