/**
 * Inclusion proofs for the web: the latest stored checkpoint whose signature holds, an entry's proof
 * against it, and which of a case's entries it covers (已存证). An entry's leaf is recomputed from its
 * content here, never taken from the stored leaf hash, so an entry changed after it was signed fails
 * its proof whatever else was rewritten beside it.
 */
import type { ChainEntry } from "../cases/history.ts";
import { LedgerCheckpoint } from "../db/models.ts";
import { log } from "../log.ts";
import { entryLeafHash, leafData, leafHashes, openCheckpoint, readSavedLeaves } from "./log.ts";
import { MerkleTree, verifyInclusion } from "./merkle.ts";
import type { Checkpoint, Verifier } from "./note.ts";

export interface VerifiedCheckpoint {
  n: number;
  note: string;
  checkpoint: Checkpoint;
  signedAt: Date;
  /** RFC 3161 token (base64), if any. */
  timestamp: string | null;
}

/** The latest stored checkpoint, if its signature holds under these keys; null when there is none (or it does not verify). */
export async function latestCheckpoint(verifiers: Verifier[]): Promise<VerifiedCheckpoint | null> {
  const doc = await LedgerCheckpoint.findOne({}).sort({ _id: -1 }).lean();
  if (!doc) return null;
  try {
    return { n: doc._id as number, note: doc.note, checkpoint: openCheckpoint(doc.note, verifiers), signedAt: doc.signedAt, timestamp: doc.timestamp ?? null };
  } catch (e) {
    log.warn({ n: doc._id, err: (e as Error).message }, "the latest stored ledger checkpoint does not verify");
    return null;
  }
}

/**
 * The tree the latest checkpoint was signed over: from the leaf hashes appended to the ledger
 * directory when this process can read it, else from those stored on the entries. `authentic` when it
 * reproduces the signed root (then it is kept until the next checkpoint). When it does not (leaf hashes
 * rewritten in the database, and no directory), no proof can be built for any entry.
 */
let cached: { note: string; tree: MerkleTree } | null = null;
async function treeOf(cp: VerifiedCheckpoint, dir?: string): Promise<{ tree: MerkleTree | null; authentic: boolean }> {
  if (cached?.note === cp.note) return { tree: cached.tree, authentic: true };
  const size = cp.checkpoint.size;
  const saved = dir ? await readSavedLeaves(dir).catch(() => null) : null;
  let stored: MerkleTree | null = null;
  for (const load of [async () => (saved && saved.length >= size ? saved.slice(0, size) : null), () => leafHashes(0, size)]) {
    let leaves: Buffer[] | null;
    try {
      leaves = await load();
    } catch (e) {
      log.warn({ err: (e as Error).message }, "ledger tree incomplete");
      continue;
    }
    if (!leaves) continue;
    const tree = new MerkleTree(leaves);
    if (tree.root().equals(cp.checkpoint.root)) {
      cached = { note: cp.note, tree };
      return { tree, authentic: true };
    }
    stored ??= tree;
  }
  return { tree: stored, authentic: false };
}

export interface EntryProof {
  leafIndex: number;
  treeSize: number;
  /** The bytes hashed into the leaf (RFC 6962: SHA-256(0x00 ‖ leafData)). */
  leafData: Buffer;
  leafHash: Buffer;
  proof: Buffer[];
  /** Whether the proof leads from this entry, as stored now, to the checkpoint's signed root. */
  verified: boolean;
  /**
   * Whether the entry itself is known to differ from what was signed: its leaf differs from the
   * signed tree's (or, when that tree cannot be rebuilt, from the leaf hash stored at numbering).
   */
  changed: boolean;
}

/** An entry's inclusion proof against a checkpoint; null when the checkpoint does not cover it (yet). */
export async function entryProof(e: ChainEntry, cp: VerifiedCheckpoint, dir?: string): Promise<EntryProof | null> {
  if (typeof e.leaf !== "number" || e.leaf < 0 || e.leaf >= cp.checkpoint.size) return null;
  const { tree, authentic } = await treeOf(cp, dir);
  const leafHash = entryLeafHash(e);
  const proof = tree ? tree.inclusionProof(e.leaf, cp.checkpoint.size) : [];
  const verified = tree !== null && verifyInclusion(e.leaf, cp.checkpoint.size, leafHash, proof, cp.checkpoint.root);
  const signedLeaf = authentic && tree ? tree.leaf(e.leaf) : e.leafHash ? Buffer.from(e.leafHash, "hex") : null;
  const changed = !verified && (signedLeaf === null || !signedLeaf.equals(leafHash));
  return { leafIndex: e.leaf, treeSize: cp.checkpoint.size, leafData: leafData(e), leafHash, proof, verified, changed };
}

export type Coverage =
  | { status: "covered"; n: number; signedAt: Date }
  | { status: "pending" }
  | { status: "mismatch"; n: number }
  /** The ledger's tree does not reproduce the checkpoint, though this entry shows no change of its own. */
  | { status: "unverifiable"; n: number };

/**
 * For each entry (by seq): covered by the latest checkpoint with a proof that holds, not yet covered,
 * changed since it was signed, or not checkable (the tree cannot be rebuilt: run verify-ledger).
 * dir: the ledger directory, when this process can read it.
 */
export async function coverage(entries: ChainEntry[], verifiers: Verifier[], dir?: string): Promise<Map<number, Coverage>> {
  const out = new Map<number, Coverage>();
  const cp = await latestCheckpoint(verifiers);
  for (const e of entries) {
    const p = cp ? await entryProof(e, cp, dir) : null;
    out.set(
      e.seq,
      !p || !cp
        ? { status: "pending" }
        : p.verified
          ? { status: "covered", n: cp.n, signedAt: cp.signedAt }
          : p.changed
            ? { status: "mismatch", n: cp.n }
            : { status: "unverifiable", n: cp.n },
    );
  }
  return out;
}
