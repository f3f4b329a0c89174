/**
 * The ledger as an append-only Merkle tree (RFC 6962) of every case history entry, and its signed
 * checkpoints (docs/ledger.md).
 *
 * Positions. An entry gets its position (`leaf`) after it is committed, from the sequencer, never at
 * append: a position taken at append by a write that then lost its race (a version conflict) would
 * leave a hole, and a slow writer could fill a position below a tree already signed. The sequencer
 * numbers committed entries in one ordered pass under a lease, each write conditional on the entry
 * being unnumbered and a unique index on `leaf` as the last guard, so positions are 0..n-1, each once,
 * and never change. A registration's first entry is numbered only once its case exists (until then
 * the registration may still be undone). Backups copy `leaf` with the entry, so a restore keeps it.
 *
 * Checkpoints. The signer sequences, checks that the tree still extends the last checkpoint it wrote
 * (a log must never sign two inconsistent checkpoints), appends the new leaf hashes and the signed
 * note to LEDGER_DIR (outside the database), and keeps a copy in `ledger_checkpoints` for serving.
 */
import { appendFile, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import mongoose from "mongoose";
import type { Clock } from "../clock.ts";
import { type ChainEntry, entryHash } from "../cases/history.ts";
import { Case, CaseHistory, LedgerCheckpoint, isDuplicateKey } from "../db/models.ts";
import { log } from "../log.ts";
import { HASH_SIZE, MerkleTree, leafHash } from "./merkle.ts";
import { type Checkpoint, type Signer, type Verifier, checkpointText, openNote, parseCheckpoint, signNote } from "./note.ts";
import { requestTimestamp } from "./timestamp.ts";

/** The bytes an entry contributes to the tree: its identity and the hash of its content, recomputed. */
export function leafData(e: ChainEntry): Buffer {
  return Buffer.from(`rectiflow-entry/v1\n${e.caseId}\n${e.seq}\n${entryHash(e)}\n`, "utf8");
}
export const entryLeafHash = (e: ChainEntry) => leafHash(leafData(e));

export class LedgerError extends Error {}

/** How many entries the tree holds: positions 0..size-1. */
export async function treeSize(): Promise<number> {
  const last = await CaseHistory.findOne({ leaf: mongoose.trusted({ $gte: 0 }) }, { leaf: 1 }).sort({ leaf: -1 }).lean();
  return last ? (last.leaf as number) + 1 : 0;
}

/** The stored leaf hashes of positions [from, to), in order; a missing position is an error. */
export async function leafHashes(from: number, to: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  if (to <= from) return out;
  const cursor = CaseHistory.find({ leaf: mongoose.trusted({ $gte: from, $lt: to }) }, { leaf: 1, leafHash: 1 })
    .sort({ leaf: 1 })
    .lean()
    .cursor({ batchSize: 5000 });
  for await (const e of cursor) {
    if (e.leaf !== from + out.length) throw new LedgerError(`存证树第 ${from + out.length} 个位置没有记录`);
    out.push(Buffer.from(String(e.leafHash), "hex"));
  }
  if (out.length !== to - from) throw new LedgerError(`存证树第 ${from + out.length} 个位置没有记录`);
  return out;
}

/** How many committed entries wait for a position, counting up to `limit`. */
export const unnumberedEntries = (limit: number) => CaseHistory.countDocuments({ leaf: null }, { limit });

const LEFTOVER_AFTER_MS = 10 * 60_000;

/** Gives positions to committed entries that have none yet, oldest first. Returns how many were numbered. */
export async function sequence(clock: Clock, batch = 1000): Promise<number> {
  let numbered = 0;
  for (;;) {
    const size = await treeSize();
    const pending = await CaseHistory.find({ leaf: null }).sort({ leaf: 1, at: 1, _id: 1 }).limit(batch).lean<ChainEntry[]>();
    if (!pending.length) return numbered;
    pending.sort((a, b) => +a.at - +b.at || (a.caseId < b.caseId ? -1 : a.caseId > b.caseId ? 1 : a.seq - b.seq));
    const firsts = pending.filter((e) => e.seq === 1).map((e) => e.caseId);
    const oids = firsts.filter((id) => mongoose.isObjectIdOrHexString(id)).map((id) => new mongoose.Types.ObjectId(id));
    const existing = new Set((await Case.find({ _id: mongoose.trusted({ $in: oids }) }, { _id: 1 }).lean()).map((c) => c._id.toString()));
    const waiting = new Set(firsts.filter((id) => !existing.has(id)));
    const writes: mongoose.AnyBulkWriteOperation[] = [];
    const leftovers: string[] = [];
    for (const e of pending) {
      if (waiting.has(e.caseId)) {
        // A registration whose case never came (it failed halfway): kept, but outside the tree.
        if (e.seq === 1 && clock.now().getTime() - +e.at > LEFTOVER_AFTER_MS) leftovers.push(e._id);
        continue;
      }
      writes.push({ updateOne: { filter: { _id: e._id, leaf: null }, update: { $set: { leaf: size + writes.length, leafHash: entryLeafHash(e).toString("hex") } } } });
    }
    if (leftovers.length) await CaseHistory.updateMany({ _id: mongoose.trusted({ $in: leftovers }), leaf: null }, { $set: { leaf: -1 } });
    if (!writes.length) {
      if (leftovers.length) continue;
      return numbered;
    }
    try {
      const r = await CaseHistory.bulkWrite(writes, { ordered: true });
      numbered += r.modifiedCount;
      if (r.modifiedCount !== writes.length) return numbered;
    } catch (e) {
      // Another sequencer took these positions: what it wrote stands.
      if (!isDuplicateKey(e)) throw e;
      return numbered;
    }
    if (pending.length < batch) return numbered;
  }
}

/** A checkpoint as saved (in LEDGER_DIR or the database), before its signature is checked. */
export interface SavedCheckpoint {
  n: number;
  note: string;
}

const CHECKPOINTS = "checkpoints";
const LEAVES = "leaves.bin";
const fileOf = (n: number) => `${String(n).padStart(10, "0")}.txt`;

/** The checkpoints appended to a ledger directory, oldest first. */
export async function readSavedCheckpoints(dir: string): Promise<SavedCheckpoint[]> {
  const names = await readdir(join(dir, CHECKPOINTS)).catch((e) => (e.code === "ENOENT" ? [] : Promise.reject(e)));
  const out: SavedCheckpoint[] = [];
  for (const name of names.filter((f) => /^\d{10}\.txt$/.test(f)).sort()) out.push({ n: Number(name.slice(0, 10)), note: await readFile(join(dir, CHECKPOINTS, name), "utf8") });
  return out;
}

/** The leaf hashes appended to a ledger directory (what the checkpoints were signed over). */
export async function readSavedLeaves(dir: string): Promise<Buffer[] | null> {
  const bytes = await readFile(join(dir, LEAVES)).catch((e) => (e.code === "ENOENT" ? null : Promise.reject(e)));
  if (!bytes) return null;
  const out: Buffer[] = [];
  for (let i = 0; i + HASH_SIZE <= bytes.length; i += HASH_SIZE) out.push(bytes.subarray(i, i + HASH_SIZE));
  return out;
}

/** Verifies a saved note with these keys and reads its checkpoint. */
export function openCheckpoint(note: string, verifiers: Verifier[]): Checkpoint {
  return parseCheckpoint(openNote(note, verifiers).text);
}

export interface SignerOptions {
  signer: Signer;
  /** Keys checkpoints may have been signed with before (rotation); the signer's own is added. */
  verifiers?: Verifier[];
  dir: string;
  clock: Clock;
  tsaUrl?: string;
}

export type SignResult =
  | { status: "signed"; n: number; size: number; root: string; timestamped: boolean }
  | { status: "unchanged"; n: number; size: number }
  | { status: "busy" }
  | { status: "refused"; reason: string };

const LEASE_MS = 5 * 60_000;
const leases = () => mongoose.connection.db!.collection<{ _id: string; until: Date }>("ledger_lease");

async function takeLease(clock: Clock): Promise<boolean> {
  const now = clock.now();
  const until = new Date(now.getTime() + LEASE_MS);
  const r = await leases().updateOne({ _id: "signer", until: { $lt: now } }, { $set: { until } });
  if (r.modifiedCount) return true;
  try {
    await leases().insertOne({ _id: "signer", until });
    return true;
  } catch (e) {
    if (isDuplicateKey(e)) return false;
    throw e;
  }
}

/**
 * Sequences new entries and, if the tree grew, signs a checkpoint of it: appended to the directory
 * first (the record that counts), then stored for serving. Refuses (and says why) when the tree no
 * longer extends the last checkpoint in the directory.
 */
export async function signCheckpoint(opts: SignerOptions): Promise<SignResult> {
  if (!(await takeLease(opts.clock))) return { status: "busy" };
  try {
    await sequence(opts.clock);
    const verifiers = [opts.signer.verifier, ...(opts.verifiers ?? [])];
    await mkdir(join(opts.dir, CHECKPOINTS), { recursive: true });
    const saved = await readSavedCheckpoints(opts.dir);
    const last = saved.at(-1);
    let previous: Checkpoint | null = null;
    if (last) {
      try {
        previous = openCheckpoint(last.note, verifiers);
      } catch (e) {
        return { status: "refused", reason: `目录中最新的检查点（第 ${last.n} 号）无法验证：${(e as Error).message}` };
      }
      if (previous.origin !== opts.signer.name) return { status: "refused", reason: `目录中的检查点属于另一个日志“${previous.origin}”` };
    }
    const size = await treeSize();
    if (previous && previous.size > size)
      return { status: "refused", reason: `数据库只有 ${size} 条已编号的记录，少于第 ${last!.n} 号检查点的 ${previous.size} 条（从较早的备份恢复了？见 docs/ledger.md）` };
    if (previous && last && previous.size === size) {
      await keepForServing(last.n, previous, last.note, opts.clock);
      return { status: "unchanged", n: last.n, size };
    }
    const tree = new MerkleTree(await leafHashes(0, size));
    const written = (await readSavedLeaves(opts.dir)) ?? [];
    const upTo = Math.min(written.length, size);
    for (let i = 0; i < upTo; i++)
      if (!written[i]!.equals(tree.leaf(i))) return { status: "refused", reason: `数据库中第 ${i} 个位置的记录与已存证的叶子哈希不符（记录被改动？运行 npm run verify-ledger）` };
    if (previous && !tree.root(previous.size).equals(previous.root))
      return { status: "refused", reason: `数据库的记录不再得出第 ${last!.n} 号检查点的根哈希（记录被改动？运行 npm run verify-ledger）` };
    if (written.length > size) return { status: "refused", reason: `目录中的叶子哈希（${written.length} 个）多于数据库的记录（${size} 条）` };
    if (written.length < size) await appendFile(join(opts.dir, LEAVES), Buffer.concat(Array.from({ length: size - written.length }, (_, i) => tree.leaf(written.length + i))));

    const checkpoint: Checkpoint = { origin: opts.signer.name, size, root: tree.root(), extensions: [] };
    const note = signNote(checkpointText(checkpoint), [opts.signer]);
    const n = (last?.n ?? 0) + 1;
    // "wx": a number is written once; a second signer racing for it fails here.
    await writeFile(join(opts.dir, CHECKPOINTS, fileOf(n)), note, { flag: "wx" });
    const stored = await keepForServing(n, checkpoint, note, opts.clock);
    let timestamped = false;
    if (opts.tsaUrl) {
      try {
        const token = await requestTimestamp(opts.tsaUrl, Buffer.from(note, "utf8"));
        await writeFile(join(opts.dir, CHECKPOINTS, `${String(n).padStart(10, "0")}.tsr`), token.reply, { flag: "wx" });
        await LedgerCheckpoint.updateOne({ _id: stored }, { $set: { timestamp: token.token.toString("base64") } });
        timestamped = true;
      } catch (e) {
        log.warn({ err: (e as Error).message, tsa: opts.tsaUrl }, "ledger checkpoint: no RFC 3161 timestamp");
      }
    }
    return { status: "signed", n, size, root: checkpoint.root.toString("base64"), timestamped };
  } finally {
    await leases().deleteOne({ _id: "signer" });
  }
}

/** Stores a checkpoint for serving (kept as it is when already there). */
async function keepForServing(n: number, c: Checkpoint, note: string, clock: Clock): Promise<number> {
  await LedgerCheckpoint.updateOne(
    { _id: n },
    { $setOnInsert: { size: c.size, root: c.root.toString("base64"), note, signedAt: clock.now(), timestamp: null } },
    { upsert: true },
  );
  return n;
}

/** Stored checkpoints from number `from`, oldest first (for serving). */
export async function listCheckpoints(from: number, limit: number) {
  const docs = await LedgerCheckpoint.find({ _id: mongoose.trusted({ $gte: from }) })
    .sort({ _id: 1 })
    .limit(limit)
    .lean();
  return docs.map((d) => ({ n: d._id as number, size: d.size, root: d.root, signedAt: d.signedAt, note: d.note, timestamp: d.timestamp ?? null }));
}
