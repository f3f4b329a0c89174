/**
 * The unit scorecard (考评, docs/domain.md#scorecard): points from the notices a unit was given while it held the case, in a
 * period, each figure with the notices and cases behind it. A rung on the office's time, a rung
 * superseded by a higher one of the same pass, and a reminder that costs nothing do not count
 * against a unit (the first two are never even addressed to it). Two yellow cards (黄色预警, or a
 * complaint's 办理期限预警) in one quarter, on the unit's own time, call for a 专函督办.
 */
import mongoose from "mongoose";
import { CASE_KINDS, LEVEL_LABELS, levelPoints, shanghaiDate, startOfDay, type Level, type NoticeRule } from "../../workflows/index.ts";
import { Notice } from "../db/models.ts";

export interface ScoreLine {
  noticeId: string;
  level: string;
  kind: string;
  points: number;
  number: string | null;
  caseId: string;
  ledgerNumber: string;
  caseTitle: string;
  /** The case's state when the notice was issued (the unit's step). */
  state: string | null;
  issuedAt: Date;
}

export interface SpecialLetter {
  quarter: string;
  /** The yellow cards of that quarter. */
  noticeIds: string[];
}

export interface UnitScore {
  unitId: string;
  points: number;
  counts: Record<string, number>;
  /** Distinct cases behind the unit's notices. */
  cases: number;
  /** Quarters ("2026Q3") with two or more yellow cards, and the cards. */
  specialLetters: SpecialLetter[];
  /** The quarters alone (as the rates workbook lists them). */
  specialLetterQuarters: string[];
  lines: ScoreLine[];
}

/** The levels that are a yellow card: two in a quarter make a 专函督办. */
export const YELLOW_CARDS: readonly Level[] = ["yellow", "conclude_warning"];

/** "−2" for −2, "0" for 0. */
export const pointsText = (p: number) => (p < 0 ? `−${-p}` : String(p));

/**
 * The points each level costs a unit by the rules (the rules on the unit's time), as "−2" or, where the
 * kinds differ, "−1/−2": what the scorecard's columns and rules state, and what issuing a notice scores.
 */
export function levelPointsText(rules: NoticeRule[], level: Level): string {
  const points = [...new Set(CASE_KINDS.filter((k) => rules.some((r) => r.kind === k && r.level === level && r.holders.includes("unit"))).map((k) => levelPoints(rules, k, level)))];
  return points.length ? points.map(pointsText).join("/") : "0";
}

/** The rules the scorecard applies, in words, with the points of `levels` as the rules set them now (docs/domain.md#scorecard). */
export function scoringRules(rules: NoticeRule[], levels: Level[]): string[] {
  return [
    "只计责任单位办理案件期间（签收、整改、查处及延期待批）发给该单位的预警、督办通知；整改办办理期间（受理、交办、审核、答复、回访、销号审核、公示）的提醒只发给整改办，不计入单位考评。",
    "同一案件同批到期的多级通知只发出最高一级，较低级别记为“已被取代”，不发送、不计分。",
    `分值以预警督办规则为准，现为：${levels.map((l) => `${LEVEL_LABELS[l]} ${levelPointsText(rules, l)} 分`).join("、")}；通知按发出日期计入期间。`,
    "整改办手动发出的通知（如提前发出的督办通知），在责任单位办理期间发出的，与系统按规则发出的同级别通知同样计分；在整改办办理期间发出的不计分。",
    "同一季度内收到两次黄牌（黄色预警或信访办理期限预警）的单位，应予专函督办。",
  ];
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
  return Notice.find(q, { level: 1, kind: 1, points: 1, number: 1, caseId: 1, ledgerNumber: 1, caseTitle: 1, state: 1, issuedAt: 1, unitId: 1 }).sort({ issuedAt: 1, _id: 1 });
}

/** Scores for notices issued on days from..to (inclusive, YYYY-MM-DD), optionally for one unit; most points lost first. */
export async function scorecard(from: string, to: string, unitId?: string): Promise<UnitScore[]> {
  const rows = await scoredNoticesQuery(from, to, unitId).lean();
  const byUnit = new Map<string, UnitScore>();
  for (const r of rows) {
    const u = r.unitId as string;
    const s = byUnit.get(u) ?? { unitId: u, points: 0, counts: {}, cases: 0, specialLetters: [], specialLetterQuarters: [], lines: [] };
    byUnit.set(u, s);
    s.points += r.points ?? 0;
    s.counts[r.level] = (s.counts[r.level] ?? 0) + 1;
    s.lines.push({
      noticeId: String(r._id),
      level: r.level,
      kind: r.kind,
      points: r.points ?? 0,
      number: r.number ?? null,
      caseId: r.caseId,
      ledgerNumber: r.ledgerNumber,
      caseTitle: r.caseTitle,
      state: r.state ?? null,
      issuedAt: r.issuedAt,
    });
  }
  for (const s of byUnit.values()) {
    const yellows = new Map<string, string[]>();
    for (const l of s.lines) if (YELLOW_CARDS.includes(l.level as Level)) yellows.set(quarterOf(l.issuedAt), [...(yellows.get(quarterOf(l.issuedAt)) ?? []), l.noticeId]);
    s.specialLetters = [...yellows].filter(([, ids]) => ids.length >= 2).map(([quarter, noticeIds]) => ({ quarter, noticeIds }));
    s.specialLetterQuarters = s.specialLetters.map((l) => l.quarter);
    s.cases = new Set(s.lines.map((l) => l.caseId)).size;
    s.points = Math.round(s.points * 10) / 10;
  }
  return [...byUnit.values()].sort((a, b) => a.points - b.points);
}

/** "2026Q2" → "2026年第二季度". */
export const quarterLabel = (q: string) => `${q.slice(0, 4)}年第${["一", "二", "三", "四"][Number(q.slice(5)) - 1]}季度`;

export const levelLabel = (l: string) => LEVEL_LABELS[l as Level] ?? l;
