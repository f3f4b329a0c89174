/**
 * Issued monthly bulletins (docs/bulletin.md). 发布 freezes a month's 通报: its number (第N期, per year
 * of issue, claimed as the 督办 numbers are), the issuing office from the settings, the date, every
 * unit's row, the totals, the paragraph, and the cases and notices behind every figure, as they stood.
 * An issued bulletin is read from what was stored, never recomputed; a month not issued is a draft of
 * live figures (bulletin.ts). A correction is a new issue naming the one it corrects.
 *
 * Writes, in order: the traces (under a fresh id), the issue with its slot (the unique slot decides a
 * race: the loser's traces are removed), then the number claimed for the issue's id and written on it.
 * A crash before the number is written leaves an issue without one; every read finishes it with the
 * same claim, so its number is the one it was given.
 */
import mongoose from "mongoose";
import { z } from "zod";
import { isOfficeRole, shanghaiDate, type Actor } from "../../workflows/index.ts";
import { BulletinIssue, BulletinTrace, isDuplicateKey, nextSeq } from "../db/models.ts";
import { AppError, forbidden, fromZod, notFound } from "../errors.ts";
import { CASE_FIGURES, bulletin, bulletinCases, isMonth, monthRange, monthText, unitLevels, visibleTo, type Bulletin, type CaseFigure, type TracedCase } from "./bulletin.ts";
import { scorecard, type ScoreLine } from "./scorecard.ts";
import { loadSettings } from "./settings.ts";

/** What an issue says of itself on its header. */
export interface IssueInfo {
  id: string;
  month: string;
  monthText: string;
  year: string;
  number: number;
  /** "2026年第3期". */
  label: string;
  issuedOn: string;
  issuer: string;
  signer: string;
  /** The issue this one corrects, and the one that corrected this (the current one of its month is never corrected). */
  corrects: { id: string; label: string } | null;
  correctedBy: { id: string; label: string } | null;
  note: string;
}

/** A notice behind a notice figure, as issued. */
export interface TracedNotice {
  noticeId: string;
  level: string;
  number: string | null;
  points: number;
  caseId: string;
  ledgerNumber: string;
  caseTitle: string;
  issuedOn: string;
}

export type TraceFigure = CaseFigure | "notices";

interface IssueDoc {
  _id: string;
  month: string;
  slot: string;
  year: string;
  number: number | null;
  issuedOn: string;
  issuedAt: Date;
  issuer: string;
  signer: string;
  issuedBy: string;
  corrects: string | null;
  note: string;
  snapshot: Bulletin;
}

const tracedNotice = (l: ScoreLine): TracedNotice => ({
  noticeId: l.noticeId,
  level: l.level,
  number: l.number,
  points: l.points,
  caseId: l.caseId,
  ledgerNumber: l.ledgerNumber,
  caseTitle: l.caseTitle,
  issuedOn: shanghaiDate(l.issuedAt),
});
const labelOf = (d: { year: string; number: number | null }) => `${d.year}年第${d.number}期`;
const traceId = (bulletinId: string, unitId: string, figure: TraceFigure) => `${bulletinId}:${unitId}:${figure}`;
const ID = /^[0-9a-f]{24}$/;

export const issueSchema = z
  .object({
    month: z.string({ error: "请填写月份" }).regex(/^20\d{2}-(?:0[1-9]|1[0-2])$/, { error: "月份应为 YYYY-MM，如 2026-07" }),
    corrects: z.string({ error: "被更正的通报应为其编号" }).regex(ID, { error: "被更正的通报不存在" }).optional(),
    note: z.string({ error: "更正说明应为文字" }).trim().max(500, { error: "更正说明不能超过 500 个字" }).optional(),
  })
  .strict();

/** Numbers issues a crash left unnumbered (the claim is per issue id, so a repeat finds the same number). */
async function numbered(docs: IssueDoc[]): Promise<IssueDoc[]> {
  for (const d of docs)
    if (d.number == null) {
      d.number = await nextSeq(`bulletin-${d.year}`, d._id);
      await BulletinIssue.updateOne({ _id: d._id }, { $set: { number: d.number } });
    }
  return docs;
}

/** The issues of a month, oldest first (the last is the month's current bulletin). */
async function issuesOfMonth(month: string): Promise<IssueDoc[]> {
  return numbered(await BulletinIssue.find({ month }).sort({ issuedAt: 1, _id: 1 }).lean<IssueDoc[]>());
}

async function infoOf(d: IssueDoc): Promise<IssueInfo> {
  const [corrects, correctedBy] = await Promise.all([
    d.corrects ? BulletinIssue.findById(d.corrects, { year: 1, number: 1 }).lean<IssueDoc>() : null,
    BulletinIssue.findOne({ slot: `corrects:${d._id}` }, { year: 1, number: 1 }).lean<IssueDoc>(),
  ]);
  return {
    id: d._id,
    month: d.month,
    monthText: monthText(d.month),
    year: d.year,
    number: d.number!,
    label: labelOf(d),
    issuedOn: d.issuedOn,
    issuer: d.issuer,
    signer: d.signer,
    corrects: corrects ? { id: corrects._id, label: labelOf(corrects) } : null,
    correctedBy: correctedBy ? { id: correctedBy._id, label: labelOf(correctedBy) } : null,
    note: d.note,
  };
}

/**
 * Issues the bulletin of a finished month (office only). Refused when the month is already issued,
 * unless this is a correction of the month's current issue (with a note saying what it corrects).
 */
export async function issueBulletin(input: unknown, actor: Actor, now: Date): Promise<IssueInfo> {
  if (!isOfficeRole(actor.role)) throw forbidden("只有整改办可以发布通报");
  const parsed = issueSchema.safeParse(input);
  if (!parsed.success) throw fromZod(parsed.error);
  const { month, corrects, note = "" } = parsed.data;
  const today = shanghaiDate(now);
  if (month >= today.slice(0, 7))
    throw new AppError(409, "month_not_finished", `${monthText(month)}尚未结束，月度通报在月末之后发布`, { fields: [{ field: "month", message: "该月尚未结束" }] });
  const issued = await issuesOfMonth(month);
  const current = issued.at(-1);
  if (!corrects && current)
    throw new AppError(409, "already_issued", `${monthText(month)}的通报已发布（${labelOf(current)}）；数字有误的，请发布更正通报`, { current: current._id });
  if (corrects) {
    if (!current || !issued.some((d) => d._id === corrects)) throw new AppError(409, "not_this_months_issue", "被更正的通报不是该月已发布的通报", { fields: [{ field: "corrects", message: "被更正的通报不存在" }] });
    if (current._id !== corrects) throw new AppError(409, "already_corrected", `该期通报已被${labelOf(current)}更正，请更正最新一期`, { current: current._id });
    if (!note) throw new AppError(422, "invalid_fields", "请填写更正说明：更正了什么、为什么", { fields: [{ field: "note", message: "请填写更正说明" }] });
  }

  // The figures and everything behind them, as they stand now.
  const [snapshot, settings] = await Promise.all([bulletin(month, now, await unitLevels()), loadSettings()]);
  const id = new mongoose.Types.ObjectId().toString();
  const traces: { _id: string; bulletinId: string; items: (TracedCase | TracedNotice)[] }[] = [];
  for (const row of snapshot.rows)
    for (const figure of CASE_FIGURES) traces.push({ _id: traceId(id, row.unitId, figure), bulletinId: id, items: await bulletinCases(month, now, row.unitId, figure) });
  for (const s of await scorecard(snapshot.from, snapshot.to))
    traces.push({
      _id: traceId(id, s.unitId, "notices"),
      bulletinId: id,
      items: s.lines.map(tracedNotice),
    });
  if (traces.length) await BulletinTrace.insertMany(traces);
  const doc = {
    _id: id,
    month,
    slot: corrects ? `corrects:${corrects}` : month,
    year: today.slice(0, 4),
    number: null,
    issuedOn: today,
    issuedAt: now,
    issuer: settings.issuerMark,
    signer: settings.signer,
    issuedBy: actor.id,
    corrects: corrects ?? null,
    note,
    snapshot,
  };
  try {
    await BulletinIssue.create(doc);
  } catch (e) {
    await BulletinTrace.deleteMany({ bulletinId: id });
    if (isDuplicateKey(e)) throw new AppError(409, "already_issued", `${monthText(month)}的通报刚刚已由他人发布，请刷新后查看`);
    throw e;
  }
  const [done] = await numbered([{ ...doc } as IssueDoc]);
  return infoOf(done!);
}

/** The issues of a year of issue, by number (for the list on the bulletin page and the API). */
export async function issuesOfYear(year: string): Promise<IssueInfo[]> {
  const docs = await numbered(await BulletinIssue.find({ year }, { snapshot: 0 }).lean<IssueDoc[]>());
  return Promise.all(docs.sort((a, b) => a.number! - b.number!).map(infoOf));
}

/** Which bulletin to read: an issue by id, else the month's current issue, else (or with `draft`) the live draft. */
export interface Which {
  month: string;
  issue?: string;
  draft?: boolean;
}

/** The issue asked for (404 for an id that names none), or the month's current one; null: the draft. */
async function issueOf(which: Which): Promise<IssueDoc | null> {
  if (which.issue) {
    const d = ID.test(which.issue) ? await BulletinIssue.findById(which.issue).lean<IssueDoc>() : null;
    if (!d) throw notFound("通报");
    return (await numbered([d]))[0]!;
  }
  if (which.draft) return null;
  return (await issuesOfMonth(which.month)).at(-1) ?? null;
}

export type BulletinView = Bulletin & { monthText: string; issue: IssueInfo | null; issues: IssueInfo[] };

/**
 * The bulletin as `actor` may see it: an issue's stored snapshot (cut for a unit at read time, as a draft
 * is), or the live draft; `issues`: the month's issues (what a draft page offers to read or correct).
 */
export async function readBulletin(actor: Actor, which: Which, now: Date): Promise<BulletinView> {
  const d = await issueOf(which);
  const month = d?.month ?? which.month;
  if (!isMonth(month)) throw new AppError(422, "invalid_fields", "月份应为 YYYY-MM，如 2026-07");
  const issues = await Promise.all((await issuesOfMonth(month)).map(infoOf));
  if (d) return { ...(await visibleTo(actor, d.snapshot)), issue: issues.find((i) => i.id === d._id)!, issues };
  const live = await visibleTo(actor, await bulletin(month, now, await unitLevels()));
  return { ...live, issue: null, issues };
}

/**
 * The cases (or notices) behind one figure of one unit: as issued, for an issue, or live for a draft.
 * A unit asks for its own only (the caller passes its unit whatever it named).
 */
export async function readTrace(which: Which, unitId: string, figure: TraceFigure, now: Date): Promise<{ issue: IssueInfo | null; month: string; items: (TracedCase | TracedNotice)[] }> {
  const d = await issueOf(which);
  if (d) {
    const t = await BulletinTrace.findById(traceId(d._id, unitId, figure)).lean<{ items: (TracedCase | TracedNotice)[] }>();
    return { issue: await infoOf(d), month: d.month, items: t?.items ?? [] };
  }
  if (figure === "notices") {
    const { from, to } = monthRange(which.month, now);
    const s = (await scorecard(from, to, unitId))[0];
    return { issue: null, month: which.month, items: (s?.lines ?? []).map(tracedNotice) };
  }
  return { issue: null, month: which.month, items: await bulletinCases(which.month, now, unitId, figure) };
}
