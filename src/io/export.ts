/**
 * The ledger and the rates as Excel workbooks, written with exceljs' streaming writer straight to
 * the response (rows are committed as they go; the ledger is read with a cursor in batches).
 * What a user gets is what they may see: the ledger through caseFilter (the visibility of
 * listCases), the rates through caseStats, notices only those in a unit's own inbox. Complainants'
 * identities are not exported at all.
 */
import type { Writable } from "node:stream";
import ExcelJS from "exceljs";
import mongoose from "mongoose";
import { KIND_LABELS, LEVEL_LABELS, ownUnit, overdueNow, rungOrder, shanghaiDate, stateLabel, type Actor, type CaseKind, type DatedCase, type Level } from "../../workflows/index.ts";
import { caseFilter, caseStats, sortSpec, type CaseFilter, type Sort } from "../cases/queries.ts";
import { Case, CaseHistory, Notice, NoticeDelivery, Unit, type CaseDoc } from "../db/models.ts";
import { CASE_FIGURES, FIGURE_DEFINITIONS, FIGURE_LABELS, type TracedCase } from "../notices/bulletin.ts";
import { readTrace, type BulletinView, type TracedNotice } from "../notices/bulletins.ts";
import { scorecard } from "../notices/scorecard.ts";

const t = mongoose.trusted;
const BATCH = 500;
const DATE_FORMAT = "yyyy-mm-dd";
const PERCENT_FORMAT = "0.0%";

export const XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/** A calendar date as an Excel date (exceljs writes a Date as the day it is in UTC). */
const excelDate = (d: string | null | undefined) => (d ? new Date(`${d}T00:00:00Z`) : null);

const daysBetween = (from: string, to: string) => Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);

async function unitNames(): Promise<Map<string, string>> {
  const rows = await Unit.find({}, { name: 1 }).lean();
  return new Map(rows.map((u) => [u._id.toString(), u.name]));
}

function workbook(out: Writable) {
  return new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false });
}

type Sheet = ReturnType<ReturnType<typeof workbook>["addWorksheet"]>;

/** A sheet with a bold, frozen header row and set column widths. */
function sheet(wb: ReturnType<typeof workbook>, name: string, columns: { header: string; key: string; width: number; numFmt?: string }[]): Sheet {
  const ws = wb.addWorksheet(name, { views: [{ state: "frozen", ySplit: 1 }] });
  ws.columns = columns.map((c) => ({ header: c.header, key: c.key, width: c.width, ...(c.numFmt ? { style: { numFmt: c.numFmt } } : {}) }));
  const head = ws.getRow(1);
  head.font = { bold: true };
  head.alignment = { vertical: "middle", horizontal: "center", wrapText: true };
  head.commit();
  return ws;
}

// ------------------------------------------------------------------------------------ ledger

/** The ledger's columns; the importer knows these headers, so an export can be read back as a check. */
export const LEDGER_COLUMNS = [
  { header: "序号", key: "n", width: 6 },
  { header: "台账编号", key: "ledgerNumber", width: 16 },
  { header: "案件类型", key: "kind", width: 14 },
  { header: "来源", key: "source", width: 22 },
  { header: "督察轮次", key: "round", width: 12 },
  { header: "问题标题", key: "title", width: 40 },
  { header: "问题描述", key: "description", width: 50 },
  { header: "类别", key: "category", width: 8 },
  { header: "牵头单位", key: "lead", width: 20 },
  { header: "配合单位", key: "co", width: 30 },
  { header: "整改目标", key: "goal", width: 40 },
  { header: "整改措施", key: "measures", width: 40 },
  { header: "整改时限", key: "deadline", width: 12, numFmt: DATE_FORMAT },
  { header: "状态", key: "state", width: 16 },
  { header: "超期天数", key: "overdueDays", width: 10 },
  { header: "最新进展（%）", key: "progressPercent", width: 10 },
  { header: "最新进展情况", key: "progressText", width: 40 },
  { header: "进展报送日期", key: "progressOn", width: 12, numFmt: DATE_FORMAT },
  { header: "最近通知", key: "noticeLevel", width: 14 },
  { header: "通知日期", key: "noticeOn", width: 12, numFmt: DATE_FORMAT },
  { header: "办结日期", key: "closedOn", width: 12, numFmt: DATE_FORMAT },
];

export interface LedgerExportQuery extends CaseFilter {
  sort: Sort;
}

/** Latest progress report per case. */
async function latestProgress(ids: string[]) {
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

/** Latest notice per case that this actor may know of: a unit's own inbox; for others every notice that went out (not cancelled, not superseded). */
async function latestNotice(ids: string[], actor: Actor) {
  const notices = (await Notice.find({ caseId: t({ $in: ids }) }, { caseId: 1, level: 1, issuedAt: 1, inbox: 1, supersededBy: 1 }).lean()).filter((n) => !n.supersededBy);
  if (!notices.length) return new Map<string, { level: string; on: string }>();
  const deliveries = await NoticeDelivery.find({ noticeId: t({ $in: notices.map((n) => String(n._id)) }), channel: "inbox" }, { noticeId: 1, status: 1, unitId: 1 }).lean();
  const inbox = new Map(deliveries.map((d) => [d.noticeId, d]));
  const visible = notices.filter((n) => {
    const d = inbox.get(String(n._id));
    if (actor.role === "unit_user") return !!actor.unitId && n.inbox === actor.unitId;
    return d?.status !== "cancelled";
  });
  // The latest; of notices issued in the same pass, the highest rung.
  const first = (a: (typeof visible)[number], b: (typeof visible)[number]) =>
    b.issuedAt.getTime() - a.issuedAt.getTime() || rungOrder({ level: a.level as Level, at: a.issuedAt }, { level: b.level as Level, at: b.issuedAt });
  const best = new Map<string, (typeof visible)[number]>();
  for (const n of visible) {
    const prior = best.get(n.caseId);
    if (!prior || first(n, prior) < 0) best.set(n.caseId, n);
  }
  return new Map([...best].map(([caseId, n]) => [caseId, { level: LEVEL_LABELS[n.level as Level] ?? n.level, on: shanghaiDate(n.issuedAt) }]));
}

/** Writes the ledger (cases matching the filters that the actor may see) to `out`; returns the number of rows. */
export async function writeLedgerXlsx(out: Writable, actor: Actor, query: LedgerExportQuery, now: Date): Promise<number> {
  const { sort, ...filter } = query;
  const today = shanghaiDate(now);
  const names = await unitNames();
  const wb = workbook(out);
  wb.creator = "Rectiflow 整改流";
  wb.created = now;
  const ws = sheet(wb, "整改台账", LEDGER_COLUMNS);
  // The 台账's own order (sortSpec): nearest deadline first puts cases without one last, as the page does.
  const cursor = Case.find(caseFilter(actor, filter, now), { stateValue: 0, historyHead: 0 })
    .sort(sortSpec(sort))
    .lean<CaseDoc[]>()
    .cursor({ batchSize: BATCH });

  let count = 0;
  let batch: CaseDoc[] = [];
  const writeBatch = async () => {
    if (!batch.length) return;
    const ids = batch.map((c) => c._id.toString());
    const [progress, notices] = await Promise.all([latestProgress(ids), latestNotice(ids, actor)]);
    for (const c of batch) {
      const id = c._id.toString();
      const kind = c.kind as CaseKind;
      const ctx = (c.context ?? {}) as { closedOn?: string | null };
      const deadline = c.deadline ?? c.plannedDeadline ?? null;
      const overdue = overdueNow({ kind, state: c.state, deadline: c.deadline, context: c.context as DatedCase["context"] }, today) ? daysBetween(c.deadline!, today) : null;
      const p = progress.get(id);
      const n = notices.get(id);
      ws.addRow({
        n: count + 1,
        ledgerNumber: c.ledgerNumber,
        kind: KIND_LABELS[kind] ?? c.kind,
        source: kind === "complaint" ? (c.channel ?? "") : (c.source ?? ""),
        round: c.round ?? "",
        title: c.title,
        description: c.description ?? "",
        goal: c.goal ?? "",
        measures: c.measures ?? "",
        category: c.category ?? "",
        lead: c.leadUnitId ? (names.get(c.leadUnitId) ?? c.leadUnitId) : "",
        co: (c.coUnitIds ?? []).map((u) => names.get(u) ?? u).join("、"),
        // A long-term item has no date: the cell says so, and reads back as 长期坚持.
        deadline: deadline ? excelDate(deadline) : c.longTerm ? "长期坚持" : null,
        state: stateLabel(kind, c.state),
        overdueDays: overdue,
        progressPercent: p?.percent ?? null,
        progressText: p?.text ?? "",
        progressOn: excelDate(p?.on),
        noticeLevel: n?.level ?? "",
        noticeOn: excelDate(n?.on),
        closedOn: excelDate(ctx.closedOn),
      }).commit();
      count++;
    }
    batch = [];
  };
  for await (const c of cursor) {
    batch.push(c);
    if (batch.length >= BATCH) await writeBatch();
  }
  await writeBatch();
  ws.commit();
  await wb.commit();
  return count;
}

// ------------------------------------------------------------------------------------ rates

export const RATE_DEFINITIONS: [string, string, string][] = [
  ["受理率", "已受理 ÷ 收到", "统计期间内收到的环境信访件中，已受理的比例（不予受理、转送、尚未受理的不计入分子）"],
  ["查处率", "已交办查处 ÷ 已受理", "已受理的信访件中，已交办责任单位查处的比例"],
  ["结案率", "已办结 ÷ 已受理", "已受理的信访件中，已办结（不含转送）的比例"],
  ["回复率", "已答复 ÷ 收到", "统计期间内收到的信访件中，已书面答复信访人的比例（含不予受理的答复）"],
  ["按期办结率", "按期办结 ÷ 已办结", "已办结的信访件中，办结日期不晚于法定办结期限（受理之日起 60 日，经批准延期的按延长后）的比例"],
  ["满意率", "（满意 + 基本满意）÷ 回访表态", "统计期间内收到的信访件中，办结前回访时信访人表示满意或基本满意的，占回访时作出表态（满意、基本满意、不满意）的比例；“未表态”不计入分母"],
  ["按期整改率", "按期销号 ÷（已销号 − 长期坚持）", "统计期间内销号的督察反馈问题中，销号日期不晚于整改时限（经批准延期的按延长后）的比例；长期坚持事项没有整改时限，既不算按期也不算超期，单列为“长期坚持”，不计入分母"],
  ["考评扣分", "各级通知分值之和", "统计期间内、责任单位办理案件期间发给该单位的预警、督办通知的扣分（黄牌 −0.5、红牌 −1、督办通知 −2 等，以规则设置为准；整改办手动发出的通知与同级别的自动通知同样计分）；整改办办理期间的提醒和通知、同批到期被更高级别取代的通知不计"],
];

const RATE_COLUMNS = [
  { header: "单位", key: "unit", width: 24 },
  { header: "收到信访件", key: "received", width: 10 },
  { header: "已受理", key: "accepted", width: 8 },
  { header: "已交办查处", key: "investigated", width: 10 },
  { header: "已办结", key: "closed", width: 8 },
  { header: "已答复", key: "replied", width: 8 },
  { header: "按期办结", key: "closedOnTime", width: 9 },
  { header: "受理率", key: "acceptance", width: 9, numFmt: PERCENT_FORMAT },
  { header: "查处率", key: "investigation", width: 9, numFmt: PERCENT_FORMAT },
  { header: "结案率", key: "closure", width: 9, numFmt: PERCENT_FORMAT },
  { header: "回复率", key: "reply", width: 9, numFmt: PERCENT_FORMAT },
  { header: "按期办结率", key: "onTime", width: 11, numFmt: PERCENT_FORMAT },
  { header: "回访表态", key: "answered", width: 9 },
  { header: "满意及基本满意", key: "satisfied", width: 13 },
  { header: "满意率", key: "satisfaction", width: 9, numFmt: PERCENT_FORMAT },
  { header: "督察问题已销号", key: "inspectionsClosed", width: 13 },
  { header: "按期销号", key: "inspectionsOnTime", width: 9 },
  { header: "按期整改率", key: "inspectionOnTimeRate", width: 11, numFmt: PERCENT_FORMAT },
  { header: "考评扣分", key: "points", width: 9 },
  // Apart from the rate: a 长期坚持 item has no deadline, so it is neither on time nor late.
  { header: "销号的长期坚持事项（不计入按期整改率）", key: "inspectionsLongTerm", width: 16 },
];

export const OVERALL = "全部（合计）";

type Stats = Awaited<ReturnType<typeof caseStats>>;

function rateRow(unit: string, s: Stats, points: number | null) {
  const c = s.complaints;
  return {
    unit,
    received: c.received,
    accepted: c.accepted,
    investigated: c.investigated,
    closed: c.closed,
    replied: c.replied,
    closedOnTime: c.closedOnTime,
    acceptance: c.rates.acceptance,
    investigation: c.rates.investigation,
    closure: c.rates.closure,
    reply: c.rates.reply,
    onTime: c.rates.onTime,
    answered: c.answered,
    satisfied: c.satisfied,
    satisfaction: c.rates.satisfaction,
    inspectionsClosed: s.inspections.closed,
    inspectionsOnTime: s.inspections.closedOnTime,
    inspectionsLongTerm: s.inspections.longTerm,
    inspectionOnTimeRate: s.inspections.onTimeRate,
    points,
  };
}

/**
 * The rates of docs/domain.md#rates per unit and overall for cases that came in (complaints: received;
 * inspections: closed) from..to, their definitions, and the scorecard with the notices behind it.
 * A unit sees its own row and its own scorecard only.
 */
export async function writeRatesXlsx(out: Writable, actor: Actor, range: { from: string; to: string }, now: Date): Promise<void> {
  const { from, to } = range;
  const names = await unitNames();
  const isUnit = actor.role === "unit_user";
  const unitIds = isUnit
    ? [ownUnit(actor)]
    : (await Unit.find({ active: true }, { _id: 1 }).sort({ name: 1 }).lean()).map((u) => u._id.toString());
  const scores = await scorecard(from, to, isUnit ? ownUnit(actor) : undefined);
  const points = new Map(scores.map((s) => [s.unitId, s.points]));

  const wb = workbook(out);
  wb.creator = "Rectiflow 整改流";
  wb.created = now;

  const rates = sheet(wb, "统计", RATE_COLUMNS);
  if (!isUnit) rates.addRow(rateRow(OVERALL, await caseStats(actor, { from, to }, now), Math.round(scores.reduce((a, s) => a + s.points, 0) * 10) / 10)).commit();
  for (const id of unitIds) rates.addRow(rateRow(names.get(id) ?? id, await caseStats(actor, { unit: id, from, to }, now), points.get(id) ?? 0)).commit();
  rates.commit();

  const defs = sheet(wb, "指标说明", [
    { header: "指标", key: "name", width: 12 },
    { header: "计算方法", key: "formula", width: 22 },
    { header: "口径", key: "meaning", width: 90 },
  ]);
  for (const [name, formula, meaning] of RATE_DEFINITIONS) defs.addRow({ name, formula, meaning }).commit();
  defs.addRow({ name: "统计期间", formula: `${from} 至 ${to}`, meaning: "信访件按收到日期、督察问题按销号日期、通知按发出日期计入期间" }).commit();
  defs.addRow({ name: "按单位统计", formula: "牵头或配合", meaning: "单位一行计入该单位牵头或配合的案件（与“统计”接口按单位筛选的口径相同），一件案件可计入多个单位；无数据的比率留空" }).commit();
  defs.addRow({ name: "导出时间", formula: now.toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false }), meaning: "" }).commit();
  defs.commit();

  const levels = [...new Set(scores.flatMap((s) => Object.keys(s.counts)))];
  const score = sheet(wb, "考评", [
    { header: "单位", key: "unit", width: 24 },
    { header: "扣分", key: "points", width: 8 },
    ...levels.map((l) => ({ header: LEVEL_LABELS[l as Level] ?? l, key: `level:${l}`, width: 12 })),
    { header: "应专函督办的季度", key: "special", width: 20 },
  ]);
  for (const s of scores)
    score
      .addRow({
        unit: names.get(s.unitId) ?? s.unitId,
        points: s.points,
        ...Object.fromEntries(levels.map((l) => [`level:${l}`, s.counts[l] ?? 0])),
        special: s.specialLetterQuarters.join("、"),
      })
      .commit();
  score.commit();

  const lines = sheet(wb, "考评明细", [
    { header: "单位", key: "unit", width: 24 },
    { header: "通知级别", key: "level", width: 14 },
    { header: "分值", key: "points", width: 8 },
    { header: "台账编号", key: "ledgerNumber", width: 16 },
    { header: "发出日期", key: "issuedOn", width: 12, numFmt: DATE_FORMAT },
  ]);
  for (const s of scores)
    for (const l of s.lines)
      lines
        .addRow({ unit: names.get(s.unitId) ?? s.unitId, level: LEVEL_LABELS[l.level as Level] ?? l.level, points: l.points, ledgerNumber: l.ledgerNumber, issuedOn: excelDate(shanghaiDate(l.issuedAt)) })
        .commit();
  lines.commit();
  await wb.commit();
}

// ------------------------------------------------------------------------------------ bulletin

/**
 * The monthly 通报 as a workbook in the printed layout (title, period, summary, the table with the city's
 * totals, what each figure counts), then the cases behind each case figure and the notices behind each
 * notice figure, so every number traces to cases. A unit's workbook holds its own row and cases only
 * (`b` is already cut for the actor). An issued bulletin's workbook is written from what was stored.
 */
export async function writeBulletinXlsx(out: Writable, b: BulletinView, now: Date): Promise<void> {
  const which = { month: b.month, issue: b.issue?.id, draft: !b.issue };
  const wb = workbook(out);
  wb.creator = "Rectiflow 整改流";
  wb.created = b.issue ? new Date(`${b.issue.issuedOn}T00:00:00+08:00`) : now;
  wb.modified = wb.created;
  const levels = b.levels.map((l) => LEVEL_LABELS[l]);
  const width = 7 + levels.length + 2;
  const ws = wb.addWorksheet("通报", { pageSetup: { paperSize: 9, orientation: "landscape", fitToPage: true, fitToWidth: 1, fitToHeight: 0 } });
  ws.columns = [{ width: 6 }, { width: 22 }, ...Array.from({ length: width - 2 }, () => ({ width: 9 }))];
  const line = (text: string, opts: { bold?: boolean; size?: number; center?: boolean; height?: number } = {}) => {
    const row = ws.addRow([text]);
    ws.mergeCells(row.number, 1, row.number, width);
    row.font = { bold: opts.bold ?? false, size: opts.size ?? 11 };
    row.alignment = { horizontal: opts.center ? "center" : "left", vertical: "middle", wrapText: true };
    if (opts.height) row.height = opts.height;
    row.commit();
  };
  line(`${b.monthText}整改工作情况通报`, { bold: true, size: 16, center: true, height: 28 });
  line(b.issue ? `${b.issue.issuer}　${b.issue.label}${b.issue.corrects ? `（更正${b.issue.corrects.label}）` : ""}　${b.issue.issuedOn}` : "草稿（未发布）：实时数字，发布前仍会变化", { center: true });
  line(`统计期间：${b.from} 至 ${b.to}　统计截止：${b.cutoff}`, { center: true });
  line(`　　${b.summary}`, { height: Math.max(45, Math.ceil(b.summary.length / 70) * 16) });
  const head = ws.addRow(["排名", "责任单位", "承办案件", "本月办结", "其中按期", "其中长期坚持", "超期未办结", ...levels, "扣分", "专函督办"]);
  head.font = { bold: true };
  head.alignment = { horizontal: "center", vertical: "middle", wrapText: true };
  head.commit();
  for (const r of b.rows)
    ws.addRow([r.rank, r.unitName, r.held, r.closed, r.closedOnTime, r.longTerm, r.overdue, ...b.levels.map((l) => r.notices[l] ?? 0), r.points, r.specialLetter ? "应专函" : ""]).commit();
  const total = ws.addRow([`全市合计（${b.units} 个单位）`, "", b.totals.held, b.totals.closed, b.totals.closedOnTime, b.totals.longTerm, b.totals.overdue, ...b.levels.map((l) => b.totals.notices[l] ?? 0), b.totals.points, ""]);
  ws.mergeCells(total.number, 1, total.number, 2);
  total.font = { bold: true };
  total.commit();
  ws.addRow([]).commit();
  for (const [name, meaning] of FIGURE_DEFINITIONS) {
    const row = ws.addRow([name, meaning]);
    ws.mergeCells(row.number, 2, row.number, width);
    row.alignment = { wrapText: true, vertical: "top" };
    row.commit();
  }
  ws.commit();

  const cases = sheet(wb, "案件明细", [
    { header: "责任单位", key: "unit", width: 22 },
    { header: "指标", key: "figure", width: 12 },
    { header: "台账编号", key: "ledgerNumber", width: 16 },
    { header: "问题/事项", key: "title", width: 40 },
    { header: "状态", key: "state", width: 14 },
    { header: "时限", key: "deadline", width: 12, numFmt: DATE_FORMAT },
    { header: "办结日期", key: "closedOn", width: 12, numFmt: DATE_FORMAT },
  ]);
  for (const r of b.rows)
    for (const figure of CASE_FIGURES)
      for (const c of (await readTrace(which, r.unitId, figure, now)).items as TracedCase[])
        cases.addRow({ unit: r.unitName, figure: FIGURE_LABELS[figure], ledgerNumber: c.ledgerNumber, title: c.title, state: c.state, deadline: excelDate(c.deadline), closedOn: excelDate(c.closedOn) }).commit();
  cases.commit();

  const notices = sheet(wb, "通知明细", [
    { header: "责任单位", key: "unit", width: 22 },
    { header: "通知级别", key: "level", width: 14 },
    { header: "文号", key: "number", width: 16 },
    { header: "分值", key: "points", width: 8 },
    { header: "台账编号", key: "ledgerNumber", width: 16 },
    { header: "问题/事项", key: "title", width: 40 },
    { header: "发出日期", key: "issuedOn", width: 12, numFmt: DATE_FORMAT },
  ]);
  for (const r of b.rows)
    for (const l of (await readTrace(which, r.unitId, "notices", now)).items as TracedNotice[])
      notices
        .addRow({ unit: r.unitName, level: LEVEL_LABELS[l.level as Level] ?? l.level, number: l.number ?? "", points: l.points, ledgerNumber: l.ledgerNumber, title: l.caseTitle, issuedOn: excelDate(l.issuedOn) })
        .commit();
  notices.commit();
  await wb.commit();
}
