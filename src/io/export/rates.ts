/** The rates per unit and overall (rateFiguresByUnit, caseStats' rates), their definitions and the scorecard, as a workbook. */
import type { Writable } from "node:stream";
import { LEVEL_LABELS, ownUnit, shanghaiDate, type Actor, type Level } from "../../../workflows/index.ts";
import { rateFiguresByUnit, type RateFigures } from "../../cases/stats.ts";
import { Unit } from "../../db/models.ts";
import { scorecard } from "../../notices/scorecard.ts";
import { DATE_FORMAT, PERCENT_FORMAT, excelDate, sheet, unitNames, workbook } from "./workbook.ts";

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

/** One row of the workbook: the complaints' counts and rates under their own names (the columns' keys), then the inspections'. */
function rateRow(unit: string, s: RateFigures, points: number | null) {
  const { rates, ...counts } = s.complaints;
  return {
    unit,
    ...counts,
    ...rates,
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

  // A fixed number of queries, whatever the number of units.
  const [overall, perUnit] = await Promise.all([isUnit ? undefined : rateFiguresByUnit(actor, range, now), rateFiguresByUnit(actor, range, now, unitIds)]);
  const rates = sheet(wb, "统计", RATE_COLUMNS);
  if (overall) rates.addRow(rateRow(OVERALL, overall.get("")!, Math.round(scores.reduce((a, s) => a + s.points, 0) * 10) / 10)).commit();
  for (const id of unitIds) rates.addRow(rateRow(names.get(id) ?? id, perUnit.get(id)!, points.get(id) ?? 0)).commit();
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
