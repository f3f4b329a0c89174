/**
 * RFC 6962 (§2.1) Merkle trees over leaf hashes: the root of the first n leaves, inclusion (audit)
 * proofs and consistency proofs, and their verification (the algorithms of RFC 9162 §2.1.3.2 and
 * §2.1.4.2). Pure: no I/O. Sizes and indices are plain numbers (safe far beyond any ledger's size).
 */
import { createHash } from "node:crypto";

export const HASH_SIZE = 32;

const hash = (...parts: Uint8Array[]) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest();
};

/** SHA-256(0x00 ‖ data). */
export const leafHash = (data: Uint8Array): Buffer => hash(Buffer.of(0), data);
/** SHA-256(0x01 ‖ left ‖ right). */
export const nodeHash = (left: Uint8Array, right: Uint8Array): Buffer => hash(Buffer.of(1), left, right);
/** The root of the empty tree: SHA-256 of nothing. */
export const EMPTY_ROOT = hash();

/** The largest power of two smaller than n (n ≥ 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}
const isPowerOfTwo = (n: number) => n > 0 && split(n + 1) === n;
const odd = (n: number) => n % 2 === 1;
const half = (n: number) => Math.floor(n / 2);

/**
 * A tree over a list of leaf hashes. The hashes of complete, aligned subtrees are computed once (about
 * one hash per leaf), so a root or proof for any size up to the list's length then costs O(log² n).
 */
export class MerkleTree {
  /** levels[h][j]: the hash of leaves [j·2^h, (j+1)·2^h). */
  private readonly levels: Buffer[][];

  constructor(leaves: readonly Buffer[]) {
    this.levels = [leaves.slice()];
    for (let below = this.levels[0]!; below.length >= 2; ) {
      const level: Buffer[] = [];
      for (let j = 0; j + 1 < below.length; j += 2) level.push(nodeHash(below[j]!, below[j + 1]!));
      this.levels.push(level);
      below = level;
    }
  }

  get size(): number {
    return this.levels[0]!.length;
  }

  leaf(index: number): Buffer {
    return this.at(index);
  }

  /** The root of the first n leaves (MTH(D[0:n])). */
  root(n = this.size): Buffer {
    this.checkSize(n);
    return n === 0 ? EMPTY_ROOT : this.range(0, n);
  }

  /** PATH(index, D[0:n]): the sibling hashes from the leaf up to the root, leaf side first. */
  inclusionProof(index: number, n = this.size): Buffer[] {
    this.checkSize(n);
    if (!Number.isInteger(index) || index < 0 || index >= n) throw new RangeError(`leaf ${index} is not in a tree of ${n}`);
    const path: Buffer[] = [];
    const walk = (m: number, start: number, end: number) => {
      if (end - start === 1) return;
      const k = split(end - start);
      if (m < k) {
        walk(m, start, start + k);
        path.push(this.range(start + k, end));
      } else {
        walk(m - k, start + k, end);
        path.push(this.range(start, start + k));
      }
    };
    walk(index, 0, n);
    return path;
  }

  /** PROOF(m, D[0:n]): that the tree of the first m leaves is a prefix of the tree of the first n. */
  consistencyProof(m: number, n = this.size): Buffer[] {
    this.checkSize(n);
    if (!Number.isInteger(m) || m < 0 || m > n) throw new RangeError(`cannot prove ${m} against ${n}`);
    const proof: Buffer[] = [];
    if (m === 0 || m === n) return proof;
    const sub = (m: number, start: number, end: number, complete: boolean) => {
      if (m === end - start) {
        if (!complete) proof.push(this.range(start, end));
        return;
      }
      const k = split(end - start);
      if (m <= k) {
        sub(m, start, start + k, complete);
        proof.push(this.range(start + k, end));
      } else {
        sub(m - k, start + k, end, false);
        proof.push(this.range(start, start + k));
      }
    };
    sub(m, 0, n, true);
    return proof;
  }

  private checkSize(n: number) {
    if (!Number.isInteger(n) || n < 0 || n > this.size) throw new RangeError(`tree size ${n} is outside 0..${this.size}`);
  }

  private at(index: number): Buffer {
    const h = this.levels[0]![index];
    if (!h) throw new RangeError(`no leaf ${index}`);
    return h;
  }

  /** MTH(D[start:end]) for a range the RFC's recursion reaches: a complete aligned subtree, or one whose left part is. */
  private range(start: number, end: number): Buffer {
    const width = end - start;
    if (isPowerOfTwo(width) && start % width === 0) return this.levels[Math.log2(width)]![start / width]!;
    const k = split(width);
    return nodeHash(this.range(start, start + k), this.range(start + k, end));
  }
}

/** The root of a list of leaf hashes. */
export const rootOf = (leaves: readonly Buffer[]) => new MerkleTree(leaves).root();

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.compare(a, b) === 0;

/** The root an inclusion proof leads to, or null when the proof cannot belong to (index, size). */
export function rootFromInclusionProof(index: number, size: number, leaf: Uint8Array, proof: readonly Uint8Array[]): Buffer | null {
  if (!Number.isInteger(index) || !Number.isInteger(size) || index < 0 || index >= size) return null;
  let fn = index;
  let sn = size - 1;
  let r: Buffer = Buffer.from(leaf);
  for (const p of proof) {
    if (sn === 0 || p.length !== HASH_SIZE) return null;
    if (odd(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!odd(fn))
        while (!odd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
    } else r = nodeHash(r, p);
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 ? r : null;
}

/** Is `leaf` the index-th leaf of the tree of `size` leaves whose root is `root`? */
export function verifyInclusion(index: number, size: number, leaf: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  const r = rootFromInclusionProof(index, size, leaf, proof);
  return r !== null && same(r, root);
}

/** Is the tree (size1, root1) a prefix of the tree (size2, root2), by this proof? */
export function verifyConsistency(size1: number, size2: number, root1: Uint8Array, root2: Uint8Array, proof: readonly Uint8Array[]): boolean {
  if (!Number.isInteger(size1) || !Number.isInteger(size2) || size1 < 0 || size1 > size2) return false;
  if (size1 === size2) return proof.length === 0 && same(root1, root2);
  if (size1 === 0) return proof.length === 0 && same(root1, EMPTY_ROOT);
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : [...proof];
  if (!path.length || path.some((p) => p.length !== HASH_SIZE)) return false;
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr: Buffer = Buffer.from(path[0]!);
  let sr: Buffer = Buffer.from(path[0]!);
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!odd(fn))
        while (!odd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
    } else sr = nodeHash(sr, c);
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && same(fr, root1) && same(sr, root2);
}
