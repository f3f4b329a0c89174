/** Checkpoint keys and directories for the ledger tests, and a consistent rewrite of a case's history (an attacker with database access). */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ChainEntry, entryHash, genesisHash } from "../../src/cases/history.ts";
import { Case, CaseHistory } from "../../src/db/models.ts";
import { entryLeafHash } from "../../src/ledger/log.ts";
import { generateSignerKey, parseSignerKey } from "../../src/ledger/note.ts";

export function ledgerSetup() {
  const dir = mkdtempSync(join(tmpdir(), "rectiflow-ledger-"));
  const key = generateSignerKey("zgb.test/rectiflow");
  const signer = parseSignerKey(key);
  return { dir, key, signer, verifiers: [signer.verifier], remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Rewrites one entry of a case and then its whole chain after it, and the case's head, so that the
 * chain verifies as before; with `leafHashes`, the stored leaf hashes too.
 */
export async function rewriteCase(caseId: string, seq: number, change: (e: ChainEntry) => void, { leafHashes = true } = {}): Promise<void> {
  const history = await CaseHistory.find({ caseId }).sort({ seq: 1 }).lean<ChainEntry[]>();
  let prev = genesisHash(caseId);
  for (const e of history) {
    if (e.seq === seq) change(e);
    e.prevHash = prev;
    e.hash = entryHash(e);
    prev = e.hash;
    const { _id, ...set } = e as ChainEntry & Record<string, unknown>;
    if (leafHashes && typeof e.leaf === "number" && e.leaf >= 0) set.leafHash = entryLeafHash(e).toString("hex");
    await CaseHistory.collection.updateOne({ _id: _id as never }, { $set: set });
  }
  await Case.collection.updateOne({ _id: (await Case.findById(caseId, { _id: 1 }).lean())!._id }, { $set: { historyHead: prev } });
}
