/**
 * Start-time migrations of notices issued before a field was recorded (src/main.ts runs each once):
 * issuing records these since (issuer.ts).
 */
import mongoose from "mongoose";
import { LEVEL_RANK, levelPoints, type CaseKind, type Level } from "../../workflows/index.ts";
import { Notice } from "../db/models.ts";
import { loadRules } from "./rules.ts";

/** Writes the severity onto notices issued before it was recorded (run at start; issuing records it since). */
export async function backfillSeverity(): Promise<number> {
  const old = await Notice.find({ severity: mongoose.trusted({ $exists: false }) }, { level: 1 }).lean();
  if (!old.length) return 0;
  await Notice.bulkWrite(
    old.map((n) => ({ updateOne: { filter: { _id: n._id }, update: { $set: { severity: LEVEL_RANK[n.level as Level] ?? 0 } } } })),
    { ordered: false, timestamps: false },
  );
  return old.length;
}

/**
 * Scores the notices issued by hand while the unit held the case before such notices counted (run once at
 * start): each costs what its level costs by the rules (levelPoints), as one issued now would.
 */
export async function rescoreHandNotices(): Promise<number> {
  const [rules, old] = await Promise.all([loadRules(), Notice.find({ manual: true, holder: "unit", supersededBy: null, points: 0 }, { kind: 1, level: 1 }).lean()]);
  const ops = old
    .map((n) => ({ id: n._id, points: levelPoints(rules, n.kind as CaseKind, n.level as Level) }))
    .filter((n) => n.points !== 0)
    .map((n) => ({ updateOne: { filter: { _id: n.id }, update: { $set: { points: n.points } } } }));
  if (ops.length) await Notice.bulkWrite(ops, { ordered: false, timestamps: false });
  return ops.length;
}
