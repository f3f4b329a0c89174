/**
 * The case history as a hash chain: each entry's hash covers its content (including the
 * snapshot it leads to) and the previous hash; the first links to a genesis derived from the
 * case id, and the case keeps the head. Editing, removing or inserting an entry in the database
 * breaks the chain at that entry.
 */
import { createHash } from "node:crypto";

export interface ChainEntry {
  _id: string;
  caseId: string;
  seq: number;
  type: string;
  actor: { id: string; name?: string | null; role: string; unitId?: string | null };
  at: Date;
  from: string | null;
  to: string;
  payload: unknown;
  deadlineRevision: number;
  idempotencyKey?: string | null;
  requestHash?: string | null;
  snapshot: { value: unknown; context: unknown };
  prevHash: string;
  hash: string;
  /** Position in the ledger's Merkle tree (src/ledger/log.ts); not covered by the chain. */
  leaf?: number | null;
  leafHash?: string | null;
}

/** JSON with sorted keys, undefined dropped, dates as ISO: the same bytes before and after a MongoDB round trip. */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

export function genesisHash(caseId: string): string {
  return sha256(`rectiflow:case:${caseId}`);
}

type Unsealed = Omit<ChainEntry, "_id" | "prevHash" | "hash">;

export function entryHash(entry: Unsealed & { prevHash: string }): string {
  const { caseId, seq, type, actor, at, from, to, payload, deadlineRevision, idempotencyKey, requestHash, snapshot, prevHash } = entry;
  return sha256(
    canonicalJson({
      caseId,
      seq,
      type,
      actor: { id: actor.id, name: actor.name ?? null, role: actor.role, unitId: actor.unitId ?? null },
      at,
      from,
      to,
      payload,
      deadlineRevision,
      idempotencyKey: idempotencyKey ?? null,
      requestHash: requestHash ?? null,
      snapshot,
      prevHash,
    }),
  );
}

/** Seals an entry onto a chain whose head is `prevHash`. */
export function seal(entry: Unsealed, prevHash: string): ChainEntry {
  const withPrev = { ...entry, prevHash };
  return { _id: `${entry.caseId}:${entry.seq}`, ...withPrev, hash: entryHash(withPrev) };
}

/** Does `entry` follow directly on a chain whose last entry is (seq, head)? */
export function follows(entry: ChainEntry, seq: number, head: string): boolean {
  return entry.seq === seq + 1 && entry.prevHash === head && entryHash(entry) === entry.hash;
}

export type ChainCheck = { ok: true; length: number } | { ok: false; seq: number; reason: string };

/** Verifies a case's whole history (in seq order) against its id, head and version. */
export function verifyChain(c: { _id: { toString(): string }; historyHead: string; version: number }, history: ChainEntry[]): ChainCheck {
  let prev = genesisHash(c._id.toString());
  for (const [i, e] of history.entries()) {
    const expectedSeq = i + 1;
    if (e.seq !== expectedSeq) return { ok: false, seq: expectedSeq, reason: `第 ${expectedSeq} 条记录序号为 ${e.seq}（缺失或插入）` };
    if (e.caseId !== c._id.toString()) return { ok: false, seq: e.seq, reason: `第 ${e.seq} 条记录不属于本案件` };
    if (e.prevHash !== prev) return { ok: false, seq: e.seq, reason: `第 ${e.seq} 条记录与前一条不衔接` };
    if (entryHash(e) !== e.hash) return { ok: false, seq: e.seq, reason: `第 ${e.seq} 条记录内容被改动` };
    prev = e.hash;
  }
  if (history.length < c.version)
    return { ok: false, seq: history.length + 1, reason: `记录只有 ${history.length} 条，案件版本为 ${c.version}（记录被删除）` };
  if (history.length === c.version && prev !== c.historyHead)
    return { ok: false, seq: history.length, reason: "最后一条记录与案件记录的链头不符（记录被删除或替换）" };
  // A case may lag its history (a crash between append and projection, or a backup taken meanwhile): its head is an earlier entry's.
  if (history.length > c.version && history[c.version - 1]?.hash !== c.historyHead)
    return { ok: false, seq: c.version, reason: `案件记录的链头与第 ${c.version} 条记录不符` };
  return { ok: true, length: history.length };
}

/** A 退回 that sent the case back to its unit: when, by whom, why. */
export interface SentBack {
  at: Date;
  by: string;
  reason: string;
}

/**
 * The 退回 (REJECT) that brought the case into the state it is in now, or null: the case is back with its
 * unit (整改中 / 查处中) because the office sent it back, until it leaves that state again (申请销号 anew).
 * A fact read from the history, not a state of its own.
 */
export function sentBack(history: Pick<ChainEntry, "type" | "at" | "from" | "to" | "payload" | "actor">[]): SentBack | null {
  const top = (s: string | null) => s?.split(".")[0] ?? null;
  for (let i = history.length - 1; i >= 0; i--) {
    const e = history[i]!;
    if (top(e.from) === top(e.to)) continue;
    if (e.type !== "REJECT") return null;
    const reason = (e.payload as { reason?: unknown } | null)?.reason;
    return { at: e.at, by: e.actor.name ?? e.actor.id, reason: typeof reason === "string" ? reason : "" };
  }
  return null;
}
