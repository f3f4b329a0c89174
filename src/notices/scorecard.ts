/**
 * The unit scorecard (考评): points from the notices a unit received in a period, each figure with
 * the notices and cases behind it. Two yellow warnings in one quarter call for a 专函督办.
 */
import mongoose from "mongoose";
import { shanghaiDate, startOfDay } from "../../workflows/index.ts";
import { Notice } from "../db/models.ts";

export interface ScoreLine {
  noticeId: string;
  level: string;
  points: number;
  caseId: string;
  ledgerNumber: string;
  issuedAt: Date;
}

export interface UnitScore {
  unitId: string;
  points: number;
  counts: Record<string, number>;
  /** Quarters ("2026Q3") with two or more yellow warnings. */
  specialLetterQuarters: string[];
  lines: ScoreLine[];
}

const quarterOf = (d: Date) => {
  const day = shanghaiDate(d);
  return `${day.slice(0, 4)}Q${Math.floor((Number(day.slice(5, 7)) - 1) / 3) + 1}`;
};

/** The notices that score, issued on days from..to (not yet run): only what a unit was told while it held the case; a superseded rung was never sent. */
export function scoredNoticesQuery(from: string, to: string, unitId?: string) {
  const end = startOfDay(to);
  end.setUTCDate(end.getUTCDate() + 1);
  const q: Record<string, unknown> = {
    unitId: unitId ?? mongoose.trusted({ $ne: null }),
    holder: "unit",
    supersededBy: null,
    issuedAt: mongoose.trusted({ $gte: startOfDay(from), $lt: end }),
  };
  return Notice.find(q, { level: 1, points: 1, caseId: 1, ledgerNumber: 1, issuedAt: 1, unitId: 1 }).sort({ issuedAt: 1 });
}

/** Scores for notices issued on days from..to (inclusive, YYYY-MM-DD), optionally for one unit. */
export async function scorecard(from: string, to: string, unitId?: string): Promise<UnitScore[]> {
  const rows = await scoredNoticesQuery(from, to, unitId).lean();
  const byUnit = new Map<string, UnitScore>();
  for (const r of rows) {
    const u = r.unitId as string;
    const s = byUnit.get(u) ?? { unitId: u, points: 0, counts: {}, specialLetterQuarters: [], lines: [] };
    byUnit.set(u, s);
    s.points += r.points ?? 0;
    s.counts[r.level] = (s.counts[r.level] ?? 0) + 1;
    s.lines.push({ noticeId: String(r._id), level: r.level, points: r.points ?? 0, caseId: r.caseId, ledgerNumber: r.ledgerNumber, issuedAt: r.issuedAt });
  }
  for (const s of byUnit.values()) {
    const yellows = new Map<string, number>();
    for (const l of s.lines) if (l.level === "yellow") yellows.set(quarterOf(l.issuedAt), (yellows.get(quarterOf(l.issuedAt)) ?? 0) + 1);
    s.specialLetterQuarters = [...yellows].filter(([, n]) => n >= 2).map(([q]) => q);
    s.points = Math.round(s.points * 10) / 10;
  }
  return [...byUnit.values()].sort((a, b) => a.points - b.points);
}
