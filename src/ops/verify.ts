/**
 * verify-ledger: every case's hash chain against its case document (verifyChain), the numbering of
 * supervision notices (numbering.ts) and the 台账's facet counts (counts.ts). Cases and their history are read as two cursors in step (cases by
 * _id, history by (caseId, seq): the same order), so the whole ledger is checked in one pass with one
 * case's entries in memory at a time.
 */
import mongoose from "mongoose";
import { type CountProblem, checkCounts } from "../cases/counts.ts";
import { type ChainEntry, verifyChain } from "../cases/history.ts";
import { Case, CaseHistory } from "../db/models.ts";
import { auditCheckpoints, type CheckpointReport, type Positions } from "../ledger/audit.ts";
import { entryLeafHash } from "../ledger/log.ts";
import type { Verifier } from "../ledger/note.ts";
import { checkNumbering, type NumberingReport } from "./numbering.ts";
import { type OnProgress, PROGRESS_EVERY } from "./progress.ts";

export interface BrokenCase {
  caseId: string;
  ledgerNumber: string;
  /** The first entry that does not hold (0: the case document itself is missing). */
  seq: number;
  reason: string;
}

export interface LedgerReport {
  cases: number;
  entries: number;
  broken: BrokenCase[];
  /** Cases whose document is behind their history (the service rolls them forward on the next read). */
  lagging: number;
  /** First entries without a case: registrations that failed between the entry and the case document. */
  leftovers: string[];
  numbering: NumberingReport;
  /** The 台账's facet counts (src/cases/counts.ts) that differ from the cases: a crash between a case's write and its count's. */
  counts: { counts: number; problems: CountProblem[] };
  /** Anchored checkpoints (docs/ledger.md); null when no verifier key is configured. */
  checkpoints: CheckpointReport | null;
  ok: boolean;
}

type CaseHead = { _id: mongoose.Types.ObjectId; ledgerNumber: string; version: number; historyHead: string };
const HEAD = { ledgerNumber: 1, version: 1, historyHead: 1 };

/**
 * ledger: the checkpoint keys and the directory they were appended to (or, without `dir`, the
 * database's copies). Without it the checkpoints are not checked.
 */
export async function verifyLedger(opts: { onProgress?: OnProgress; settleMs?: number; ledger?: { dir?: string; verifiers: Verifier[] } } = {}): Promise<LedgerReport> {
  const broken: BrokenCase[] = [];
  const leftovers: string[] = [];
  let cases = 0;
  let entries = 0;
  let lagging = 0;

  const total = await Case.estimatedDocumentCount();
  const caseCursor = Case.find({}, HEAD).sort({ _id: 1 }).lean<CaseHead>().cursor({ batchSize: 1000 });
  const historyCursor = CaseHistory.find({}).sort({ caseId: 1, seq: 1 }).lean<ChainEntry>().cursor({ batchSize: 1000 });
  let pending = (await historyCursor.next()) as ChainEntry | null;
  const positions: Positions = { recomputed: [], stored: [], owners: [] };
  const place = (e: ChainEntry) => {
    if (!opts.ledger || typeof e.leaf !== "number" || e.leaf < 0 || !Number.isSafeInteger(e.leaf)) return;
    positions.recomputed[e.leaf] = entryLeafHash(e);
    positions.stored[e.leaf] = e.leafHash ? Buffer.from(e.leafHash, "hex") : undefined;
    positions.owners[e.leaf] = { caseId: e.caseId, seq: e.seq };
  };
  /** The entries of one case id, taken from the history cursor. */
  const takeEntries = async (caseId: string) => {
    const taken: ChainEntry[] = [];
    while (pending && pending.caseId === caseId) {
      taken.push(pending);
      place(pending);
      pending = await historyCursor.next();
    }
    entries += taken.length;
    return taken;
  };
  /** History whose case the cases cursor did not have. */
  const orphans = async (before: string | null) => {
    while (pending && (before === null || pending.caseId < before)) {
      const caseId = pending.caseId;
      const found = await judgeOrphan(caseId, await takeEntries(caseId));
      if (found === "leftover") leftovers.push(caseId);
      else if (found) broken.push(found);
    }
  };

  await opts.onProgress?.({ step: "cases", done: 0, total });
  for (let c = await caseCursor.next(); c; c = await caseCursor.next()) {
    const id = c._id.toString();
    await orphans(id);
    const history = await takeEntries(id);
    cases++;
    const found = judge(c, history) && (await judgeAgain(id));
    if (found) broken.push(found);
    else if (history.length > c.version) lagging++;
    if (cases % PROGRESS_EVERY === 0) await opts.onProgress?.({ step: "cases", done: cases, total });
  }
  await orphans(null);
  await opts.onProgress?.({ step: "cases", done: cases, finished: true });

  let checkpoints: CheckpointReport | null = null;
  if (opts.ledger) {
    await opts.onProgress?.({ step: "checkpoints", done: 0 });
    checkpoints = await auditCheckpoints(opts.ledger, positions);
    // A case whose entries no longer match what was signed is named like one whose chain broke.
    const named = new Set(broken.map((b) => b.caseId));
    for (const c of checkpoints.changed) {
      if (named.has(c.caseId)) continue;
      named.add(c.caseId);
      const doc = mongoose.isObjectIdOrHexString(c.caseId) ? await Case.findById(c.caseId, { ledgerNumber: 1 }).lean() : null;
      broken.push({ caseId: c.caseId, ledgerNumber: doc?.ledgerNumber ?? "?", seq: c.seq, reason: c.reason });
    }
    await opts.onProgress?.({ step: "checkpoints", done: checkpoints.checkpoints, finished: true });
  }

  await opts.onProgress?.({ step: "notice numbers", done: 0 });
  const numbering = await checkNumbering(opts.settleMs);
  await opts.onProgress?.({ step: "notice numbers", done: numbering.notices, finished: true });
  await opts.onProgress?.({ step: "counts", done: 0 });
  const counts = await checkCounts(opts.settleMs);
  await opts.onProgress?.({ step: "counts", done: counts.counts, finished: true });
  return {
    cases,
    entries,
    broken,
    lagging,
    leftovers,
    numbering,
    counts,
    checkpoints,
    ok: !broken.length && !numbering.problems.length && !counts.problems.length && !checkpoints?.problems.length,
  };
}

function judge(c: CaseHead, history: ChainEntry[]): BrokenCase | null {
  const check = verifyChain(c, history);
  return check.ok ? null : { caseId: c._id.toString(), ledgerNumber: c.ledgerNumber, seq: check.seq, reason: check.reason };
}

/**
 * A finding is confirmed by reading the case and its history once more: on a live ledger the history
 * cursor may have read ahead of an event that the case cursor then saw applied.
 */
async function judgeAgain(caseId: string): Promise<BrokenCase | null> {
  const c = await Case.findById(caseId, HEAD).lean<CaseHead>();
  const history = await CaseHistory.find({ caseId }).sort({ seq: 1 }).lean<ChainEntry[]>();
  if (!c) return judgeOrphan(caseId, history).then((r) => (r === "leftover" ? null : r));
  return judge(c, history);
}

/**
 * History without a case document. A lone first entry is what a registration that failed halfway leaves
 * (harmless); more than that means the case document was removed.
 */
async function judgeOrphan(caseId: string, history: ChainEntry[]): Promise<BrokenCase | "leftover" | null> {
  // Registered meanwhile (the entry goes in just before the case document)?
  if (mongoose.isObjectIdOrHexString(caseId) && (await Case.exists({ _id: caseId }))) return judgeAgain(caseId);
  if (history.length === 1 && history[0]!.seq === 1) return "leftover";
  const first = history.find((e) => e.seq === 1);
  const ledgerNumber = (first?.payload as { ledgerNumber?: string } | undefined)?.ledgerNumber ?? "?";
  return { caseId, ledgerNumber, seq: 0, reason: `案件记录不存在，却有 ${history.length} 条办理记录（案件被删除）` };
}
