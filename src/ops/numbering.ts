/**
 * The numbering of supervision notices (督办〔year〕N号): per year the numbers 1…N, each on exactly one
 * notice, each claimed in `sequences` as `supervision-<year>:<n>` for that very notice (issuer.ts).
 */
import { setTimeout as sleep } from "node:timers/promises";
import mongoose from "mongoose";
import { Notice, Sequence } from "../db/models.ts";

export interface NumberingProblem {
  kind: "duplicate" | "gap" | "unclaimed" | "unnumbered" | "malformed";
  year: string | null;
  n: number | null;
  noticeIds: string[];
  message: string;
}

export interface NumberingReport {
  /** The highest number per year. */
  years: Record<string, number>;
  notices: number;
  problems: NumberingProblem[];
}

const NUMBER = /^督办〔(\d{4})〕(\d+)号$/;
const CLAIM = /^supervision-(\d{4})$/;

/**
 * Checks the numbering. On a live ledger a notice is numbered just after its number is claimed, so a
 * problem seen once is looked at again after `settleMs` and reported only if it is still there.
 */
export async function checkNumbering(settleMs = 1000): Promise<NumberingReport> {
  const first = await check();
  if (!first.problems.length || settleMs <= 0) return first;
  await sleep(settleMs);
  const again = await check();
  const seen = new Set(first.problems.map((p) => p.message));
  return { ...again, problems: again.problems.filter((p) => seen.has(p.message)) };
}

async function check(): Promise<NumberingReport> {
  const [claims, notices] = await Promise.all([
    Sequence.find({ name: CLAIM }, { name: 1, n: 1, ref: 1 }).lean<{ name: string; n: number; ref?: string | null }[]>(),
    // A superseded rung was never sent and takes no number (issuer.ts): it is left out.
    Notice.find({ $or: [{ level: "supervision", supersededBy: null }, { number: mongoose.trusted({ $ne: null }) }] }, { number: 1, ledgerNumber: 1 }).lean(),
  ]);
  const problems: NumberingProblem[] = [];
  const byId = new Map(notices.map((n) => [n._id, n]));
  const label = (id: string) => `通知 ${id}（案件 ${byId.get(id)?.ledgerNumber ?? "?"}）`;
  /** year → n → the notice ids carrying it, and the claim's notice. */
  const years = new Map<string, Map<number, { carriers: string[]; claimedFor?: string }>>();
  const slot = (year: string, n: number) => {
    const y = years.get(year) ?? years.set(year, new Map()).get(year)!;
    return y.get(n) ?? y.set(n, { carriers: [] }).get(n)!;
  };
  for (const c of claims) slot(CLAIM.exec(c.name)![1]!, c.n).claimedFor = c.ref ?? undefined;
  const claimedIds = new Set(claims.map((c) => c.ref));
  for (const notice of notices) {
    const m = notice.number ? NUMBER.exec(notice.number) : null;
    if (m) slot(m[1]!, Number(m[2])).carriers.push(notice._id);
    else if (notice.number)
      problems.push({ kind: "malformed", year: null, n: null, noticeIds: [notice._id], message: `${label(notice._id)}的编号“${notice.number}”格式不对` });
    // Unnumbered with a claim: reported below as the gap it leaves.
    else if (!claimedIds.has(notice._id))
      problems.push({ kind: "unnumbered", year: null, n: null, noticeIds: [notice._id], message: `督办通知 ${label(notice._id)}没有编号，也未取号` });
  }
  const highest: Record<string, number> = {};
  for (const [year, numbers] of [...years].sort(([a], [b]) => a.localeCompare(b))) {
    const max = Math.max(...numbers.keys());
    highest[year] = max;
    for (let n = 1; n <= max; n++) {
      const { carriers, claimedFor } = numbers.get(n) ?? { carriers: [] };
      const name = `督办〔${year}〕${n}号`;
      if (carriers.length > 1)
        problems.push({ kind: "duplicate", year, n, noticeIds: carriers, message: `${name}重复：${carriers.map(label).join("、")}` });
      else if (!carriers.length) {
        const why = !claimedFor ? "无人取号" : byId.has(claimedFor) ? `已为${label(claimedFor)}取号，但该通知未记此号` : `已为通知 ${claimedFor} 取号，但该通知不存在`;
        problems.push({ kind: "gap", year, n, noticeIds: claimedFor ? [claimedFor] : [], message: `${name}缺号：${why}` });
      } else if (claimedFor !== carriers[0])
        problems.push({
          kind: "unclaimed",
          year,
          n,
          noticeIds: carriers,
          message: `${name}在${label(carriers[0]!)}上，但${claimedFor ? `取号记录属于通知 ${claimedFor}` : "没有取号记录"}`,
        });
    }
  }
  return { years: highest, notices: notices.length, problems };
}
