/**
 * Inclusion proofs for the web: the latest stored checkpoint whose signature holds, an entry's proof
 * against it, and which of a case's entries it covers (已存证). An entry's leaf is recomputed from its
 * content here, never taken from the stored leaf hash, so an entry changed after it was signed fails
 * its proof whatever else was rewritten beside it.
 */
import type { ChainEntry } from "../cases/history.ts";
import { LedgerCheckpoint } from "../db/models.ts";
import { log } from "../log.ts";
import { entryLeafHash, leafData, leafHashes, openCheckpoint } from "./log.ts";
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
 * The tree the latest checkpoint was signed over, from the stored leaf hashes; kept while it
 * reproduces that checkpoint's root (read again otherwise, so a repaired ledger shows again).
 */
let cached: { note: string; tree: MerkleTree } | null = null;
async function treeOf(cp: VerifiedCheckpoint): Promise<MerkleTree | null> {
  if (cached?.note === cp.note) return cached.tree;
  let tree: MerkleTree;
  try {
    tree = new MerkleTree(await leafHashes(0, cp.checkpoint.size));
  } catch (e) {
    log.warn({ err: (e as Error).message }, "ledger tree incomplete");
    return null;
  }
  if (tree.root().equals(cp.checkpoint.root)) cached = { note: cp.note, tree };
  return tree;
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
}

/** An entry's inclusion proof against a checkpoint; null when the checkpoint does not cover it (yet). */
export async function entryProof(e: ChainEntry, cp: VerifiedCheckpoint): Promise<EntryProof | null> {
  if (typeof e.leaf !== "number" || e.leaf < 0 || e.leaf >= cp.checkpoint.size) return null;
  const tree = await treeOf(cp);
  const leafHash = entryLeafHash(e);
  const proof = tree ? tree.inclusionProof(e.leaf, cp.checkpoint.size) : [];
  const verified = tree !== null && verifyInclusion(e.leaf, cp.checkpoint.size, leafHash, proof, cp.checkpoint.root);
  return { leafIndex: e.leaf, treeSize: cp.checkpoint.size, leafData: leafData(e), leafHash, proof, verified };
}

export type Coverage = { status: "covered"; n: number; signedAt: Date } | { status: "pending" } | { status: "mismatch"; n: number };

/** For each entry (by seq): covered by the latest checkpoint with a proof that holds, not yet covered, or not matching it. */
export async function coverage(entries: ChainEntry[], verifiers: Verifier[]): Promise<Map<number, Coverage>> {
  const out = new Map<number, Coverage>();
  const cp = await latestCheckpoint(verifiers);
  for (const e of entries) {
    const p = cp ? await entryProof(e, cp) : null;
    out.set(e.seq, !p || !cp ? { status: "pending" } : p.verified ? { status: "covered", n: cp.n, signedAt: cp.signedAt } : { status: "mismatch", n: cp.n });
  }
  return out;
}
