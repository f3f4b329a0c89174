/** The latest progress report per case, from the history (what the ledger export shows). */
import mongoose from "mongoose";
import { shanghaiDate } from "../../workflows/index.ts";
import { CaseHistory } from "../db/models.ts";

const t = mongoose.trusted;

/** Latest progress report per case. */
export async function latestProgress(ids: string[]) {
  const rows = await CaseHistory.find({ caseId: t({ $in: ids }), type: "REPORT_PROGRESS" }, { caseId: 1, seq: 1, at: 1, payload: 1 }).lean();
  const out = new Map<string, { percent: number | null; text: string; on: string }>();
  const seqs = new Map<string, number>();
  for (const r of rows) {
    if ((seqs.get(r.caseId) ?? 0) > r.seq) continue;
    seqs.set(r.caseId, r.seq);
    const p = (r.payload ?? {}) as { percent?: number; text?: string };
    out.set(r.caseId, { percent: typeof p.percent === "number" ? p.percent : null, text: p.text ?? "", on: shanghaiDate(r.at) });
  }
  return out;
}
