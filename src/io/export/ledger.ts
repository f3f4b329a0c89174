/**
 * The ledger (整改台账) as a workbook, streamed: the cases the actor may see (caseFilter), in the 台账
 * page's order (sortSpec), read with a cursor in batches, each batch with its latest progress and notice.
 * Complainants' identities are not exported.
 */
import type { Writable } from "node:stream";
import { KIND_LABELS, daysBetween, overdueNow, shanghaiDate, stateLabel, type Actor, type CaseKind, type DatedCase } from "../../../workflows/index.ts";
import { latestProgress } from "../../cases/progress.ts";
import { UNLISTED, caseFilter, sortSpec, type CaseFilter, type Sort } from "../../cases/queries.ts";
import { Case, type CaseDoc } from "../../db/models.ts";
import { unitIdsMatching } from "../../directory.ts";
import { latestNotice } from "../../notices/latest.ts";
import { BATCH, DATE_FORMAT, excelDate, sheet, unitNames, workbook } from "./workbook.ts";

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

/** Writes the ledger (cases matching the filters that the actor may see) to `out`; returns the number of rows. */
export async function writeLedgerXlsx(out: Writable, actor: Actor, query: LedgerExportQuery, now: Date): Promise<number> {
  const { sort, ...filter } = query;
  const today = shanghaiDate(now);
  const names = await unitNames();
  const wb = workbook(out);
  wb.creator = "Rectiflow 整改流";
  wb.created = now;
  const ws = sheet(wb, "整改台账", LEDGER_COLUMNS);
  // The 台账's own filter (a search finds the cases of units named by it too) and order (sortSpec: nearest
  // deadline first puts cases without one last), as the page does.
  const qUnits = filter.q?.trim() ? await unitIdsMatching(filter.q) : [];
  const cursor = Case.find(caseFilter(actor, filter, now, qUnits), UNLISTED)
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
