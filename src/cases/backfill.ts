/**
 * Start-time migrations of cases stored before a projected field existed (src/main.ts runs each once):
 * every event projects these fields since (projection.ts).
 */
import mongoose from "mongoose";
import { Case, CaseHistory } from "../db/models.ts";
import { gramsOf } from "./grams.ts";
import { deadlineSortKey, unitIdsOf } from "./projection.ts";

/**
 * Writes the sort key of the nearest-deadline order onto cases stored before it was projected (run at
 * start; every event projects it since). Returns how many were updated.
 */
export async function backfillSortKeys(): Promise<number> {
  const docs = await Case.find({ deadlineSort: mongoose.trusted({ $exists: false }) }, { deadline: 1 }).lean();
  if (!docs.length) return 0;
  await Case.bulkWrite(
    docs.map((d) => ({ updateOne: { filter: { _id: d._id }, update: { $set: { deadlineSort: deadlineSortKey(d.deadline) } } } })),
    { ordered: false, timestamps: false },
  );
  return docs.length;
}

/** Writes unitIds onto cases stored before it was projected (run once at start). Returns how many were updated. */
export async function backfillUnitIds(): Promise<number> {
  let changed = 0;
  for (;;) {
    const docs = await Case.find({ unitIds: mongoose.trusted({ $exists: false }) }, { leadUnitId: 1, coUnitIds: 1 }).limit(1000).lean();
    if (!docs.length) return changed;
    await Case.bulkWrite(
      docs.map((d) => ({ updateOne: { filter: { _id: d._id }, update: { $set: { unitIds: unitIdsOf(d.leadUnitId, d.coUnitIds) } } } })),
      { ordered: false, timestamps: false },
    );
    changed += docs.length;
  }
}

/** Writes the search's bigrams onto cases stored before they were (run once at start). Returns how many were updated. */
export async function backfillGrams(): Promise<number> {
  let changed = 0;
  for (;;) {
    const docs = await Case.find({ grams: mongoose.trusted({ $exists: false }) }, { title: 1, ledgerNumber: 1, description: 1 }).limit(500).lean();
    if (!docs.length) return changed;
    await Case.bulkWrite(
      docs.map((d) => ({ updateOne: { filter: { _id: d._id }, update: { $set: { grams: gramsOf(d) } } } })),
      { ordered: false, timestamps: false },
    );
    changed += docs.length;
  }
}

/**
 * Writes when each case entered its current state, and by which event, onto cases stored before these
 * were projected (run once at start; every event projects them since): the last entry that changed the
 * state, or the first. Returns how many were updated.
 */
export async function backfillStateSince(): Promise<number> {
  let changed = 0;
  for (;;) {
    const docs = await Case.find({ stateSince: null }, { _id: 1, createdAt: 1 }).limit(500).lean();
    if (!docs.length) return changed;
    const ids = docs.map((d) => d._id.toString());
    const entries = await CaseHistory.find({ caseId: mongoose.trusted({ $in: ids }) }, { caseId: 1, seq: 1, type: 1, at: 1, from: 1, to: 1 }).lean();
    const last = new Map<string, { seq: number; type: string; at: Date }>();
    for (const e of entries) {
      const prior = last.get(e.caseId);
      if ((e.seq === 1 || e.from !== e.to) && (!prior || e.seq > prior.seq)) last.set(e.caseId, e);
    }
    await Case.bulkWrite(
      docs.map((d) => {
        const e = last.get(d._id.toString());
        // A case without history (never through the service) is stamped when it was stored.
        return { updateOne: { filter: { _id: d._id }, update: { $set: e ? { stateSince: e.at, stateEvent: e.type } : { stateSince: d.createdAt ?? new Date(0), stateEvent: "CREATE" } } } };
      }),
      { ordered: false, timestamps: false },
    );
    changed += docs.length;
  }
}
