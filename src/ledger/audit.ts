/**
 * The checkpoint half of verify-ledger: every saved checkpoint's signature, consistency between
 * successive checkpoints, and whether the database's entries (their leaf hashes recomputed from their
 * content) reproduce the latest checkpoint's root; where they do not, which entries changed.
 */
import { LedgerCheckpoint } from "../db/models.ts";
import { MerkleTree, verifyConsistency } from "./merkle.ts";
import type { Checkpoint, Verifier } from "./note.ts";
import { openCheckpoint, readSavedCheckpoints, readSavedLeaves, type SavedCheckpoint } from "./log.ts";

/** What the pass over the history saw at each tree position. */
export interface Positions {
  /** Leaf hashes recomputed from each entry's content. */
  recomputed: (Buffer | undefined)[];
  /** Leaf hashes as stored on the entries by the sequencer. */
  stored: (Buffer | undefined)[];
  owners: ({ caseId: string; seq: number } | undefined)[];
}

export interface ChangedEntry {
  caseId: string;
  seq: number;
  leaf: number;
  reason: string;
}

export interface CheckpointReport {
  /** Where the checkpoints were read: the ledger directory, or the database's copies when no directory is given. */
  source: "dir" | "db";
  checkpoints: number;
  latest: { n: number; size: number } | null;
  problems: string[];
  changed: ChangedEntry[];
}

export async function auditCheckpoints(opts: { dir?: string; verifiers: Verifier[] }, at: Positions): Promise<CheckpointReport> {
  const problems: string[] = [];
  const changed: ChangedEntry[] = [];
  const saved: SavedCheckpoint[] = opts.dir
    ? await readSavedCheckpoints(opts.dir)
    : (await LedgerCheckpoint.find({}, { note: 1 }).sort({ _id: 1 }).lean()).map((c) => ({ n: c._id as number, note: c.note }));
  const source = opts.dir ? "dir" : "db";
  const opened: { n: number; c: Checkpoint }[] = [];
  for (const s of saved) {
    try {
      opened.push({ n: s.n, c: openCheckpoint(s.note, opts.verifiers) });
    } catch (e) {
      problems.push(`第 ${s.n} 号检查点的签名无法验证：${(e as Error).message}`);
    }
  }
  if (opts.dir) {
    // The database's copies must be the directory's, note for note.
    const inDb = await LedgerCheckpoint.find({}, { note: 1 }).lean();
    const byN = new Map(saved.map((s) => [s.n, s.note]));
    for (const d of inDb) if (byN.has(d._id as number) && byN.get(d._id as number) !== d.note) problems.push(`数据库中的第 ${d._id} 号检查点与目录中的不同`);
  }
  const latest = opened.at(-1) ?? null;
  if (!latest) return { source, checkpoints: saved.length, latest: null, problems, changed };

  // The leaf hashes the checkpoints were signed over: those appended to the directory, else the ones
  // stored on the entries, else the recomputed ones; whichever reproduces the latest root.
  const prefix = (list: (Buffer | undefined)[] | null) => {
    if (!list || list.length < latest.c.size) return null;
    const head = list.slice(0, latest.c.size);
    return head.every(Boolean) ? (head as Buffer[]) : null;
  };
  const fileLeaves = opts.dir ? await readSavedLeaves(opts.dir) : null;
  let reference: MerkleTree | null = null;
  for (const list of [fileLeaves, at.stored, at.recomputed]) {
    const leaves = prefix(list);
    if (!leaves) continue;
    const tree = new MerkleTree(leaves);
    if (tree.root().equals(latest.c.root)) {
      reference = tree;
      break;
    }
  }

  for (let i = 1; i < opened.length; i++) {
    const [a, b] = [opened[i - 1]!, opened[i]!];
    if (a.c.size > b.c.size) {
      problems.push(`第 ${b.n} 号检查点的树（${b.c.size}）小于第 ${a.n} 号的（${a.c.size}）`);
      continue;
    }
    if (!reference) continue;
    const proof = reference.consistencyProof(a.c.size, b.c.size);
    if (!verifyConsistency(a.c.size, b.c.size, a.c.root, b.c.root, proof))
      problems.push(`第 ${a.n} 号与第 ${b.n} 号检查点不一致：其间已存证的记录被改写`);
  }
  if (!reference) problems.push(`找不到能得出第 ${latest.n} 号检查点根哈希的叶子哈希：无法证明各检查点彼此一致${opts.dir ? "" : "（请用 LEDGER_DIR 指向检查点目录的副本）"}`);

  const size = latest.c.size;
  const missing = [];
  for (let i = 0; i < size; i++) if (!at.recomputed[i]) missing.push(i);
  if (missing.length) problems.push(`第 ${latest.n} 号检查点存证的 ${size} 条记录中有 ${missing.length} 条不在数据库中（位置 ${missing.slice(0, 5).join("、")}${missing.length > 5 ? "……" : ""}）`);
  const ours = prefix(at.recomputed);
  if (!ours || !new MerkleTree(ours).root().equals(latest.c.root)) {
    problems.push(`数据库中的记录得不出第 ${latest.n} 号检查点（${size} 条）的根哈希：存证后有记录被改动`);
    const against = reference ? (i: number) => reference!.leaf(i) : (i: number) => at.stored[i];
    for (let i = 0; i < size; i++) {
      const owner = at.owners[i];
      const want = against(i);
      if (owner && at.recomputed[i] && want && !at.recomputed[i]!.equals(want))
        changed.push({ caseId: owner.caseId, seq: owner.seq, leaf: i, reason: `第 ${owner.seq} 条记录与第 ${latest.n} 号存证检查点不符（存证后被改动）` });
    }
  }
  // Entries not yet in a checkpoint, changed since they were numbered.
  for (let i = size; i < at.recomputed.length; i++) {
    const owner = at.owners[i];
    if (owner && at.recomputed[i] && at.stored[i] && !at.recomputed[i]!.equals(at.stored[i]!))
      changed.push({ caseId: owner.caseId, seq: owner.seq, leaf: i, reason: `第 ${owner.seq} 条记录在编号后被改动（尚未存证）` });
  }
  return { source, checkpoints: saved.length, latest: { n: latest.n, size }, problems, changed };
}
