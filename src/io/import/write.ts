/**
 * Stage 5: the plans written through the case service alone (createCases, in batches: the same cases
 * and entries as createCase, in bulk inserts), whose first history entry is "IMPORT" and records the
 * file and row. Every row was checked before; a create can still fail here (another import of the same
 * list running at the same time, the database going away). Then writing stops and the rows written are
 * left: a re-run of the same file finds them in the ledger with the same content, counts them
 * "unchanged" and creates only the rest, so re-running completes the import.
 */
import { eachConcurrently } from "../../concurrently.ts";
import { importNote, inputOf } from "./plan.ts";
import type { ImportOptions, Parsed } from "./types.ts";

/** How many cases are created in one call of the case service (two bulk inserts). */
const WRITE_BATCH = 500;

export interface Written {
  /** The rows written, in order. */
  rows: number[];
  failure: { plan: Parsed; error: unknown } | null;
}

export async function writePlans(plans: Parsed[], sheet: string | null, opts: ImportOptions): Promise<Written> {
  const rows: number[] = [];
  let failure: Written["failure"] = null;
  const batches = Array.from({ length: Math.ceil(plans.length / WRITE_BATCH) }, (_, b) => plans.slice(b * WRITE_BATCH, (b + 1) * WRITE_BATCH));
  await eachConcurrently(batches, opts.concurrency ?? 2, async (batch) => {
    if (failure) return;
    const items = batch.map((plan) => ({ input: inputOf(plan), opts: { entryType: "IMPORT", entryNote: importNote(plan, opts.fileName, sheet) } }));
    const { created, failed } = await opts.service.createCases(items, opts.actor);
    for (const plan of batch.slice(0, created)) rows.push(plan.row);
    opts.onProgress?.({ phase: "write", done: rows.length, total: plans.length });
    if (failed) failure ??= { plan: batch[failed.index]!, error: failed.error };
  });
  return { rows: rows.sort((a, b) => a - b), failure };
}
