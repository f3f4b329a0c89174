/**
 * Stage 3: the rows compared with the ledger. An item is known by its number (序号, the ledger number,
 * unique in the ledger). A row whose item is in the ledger with the same content is "unchanged"; one
 * that differs is a conflict, reported and never written over. A cell is compared with what the ledger
 * says now and with what the list said when the item was imported (the unit and deadline proposed by
 * the list may have been replaced at assignment), so both a re-imported list and a re-imported ledger
 * export (台账导出) read as "unchanged".
 */
import mongoose from "mongoose";
import { Case, CaseHistory, type CaseDoc } from "../../db/models.ts";
import type { ColumnMap, Field } from "../columns.ts";
import type { UnitMatcher } from "../units.ts";
import type { Problems } from "./problems.ts";
import type { Parsed, RowConflict } from "./types.ts";

const t = mongoose.trusted;

/** What the list said when an item was imported (its IMPORT entry), if it was imported. */
interface Proposal {
  leadUnitId: string | null;
  coUnitIds: string[];
}

export interface InLedger {
  case: CaseDoc;
  proposal: Proposal | null;
}

/** The cases of a batch of rows, by ledger number, with their IMPORT proposals: one query for the cases, one for their first entries. */
export async function findInLedger(batch: Parsed[]): Promise<Map<string, InLedger>> {
  const found = await Case.find({ ledgerNumber: t({ $in: batch.map((p) => p.ledgerNumber) }) }).lean<CaseDoc[]>();
  const firsts = found.length
    ? await CaseHistory.find({ _id: t({ $in: found.map((c) => `${c._id.toString()}:1`) }), type: "IMPORT" }, { caseId: 1, payload: 1 }).lean()
    : [];
  const proposals = new Map(
    firsts.map((e) => {
      const pl = (e.payload ?? {}) as { leadUnitId?: string; coUnitIds?: string[] };
      return [e.caseId, { leadUnitId: pl.leadUnitId ?? null, coUnitIds: pl.coUnitIds ?? [] }];
    }),
  );
  return new Map(found.map((c) => [c.ledgerNumber, { case: c, proposal: proposals.get(c._id.toString()) ?? null }]));
}

const sameText = (a: string | null | undefined, b: string | null | undefined) => (a ?? "").replace(/\r\n?/g, "\n").trim() === (b ?? "").replace(/\r\n?/g, "\n").trim();

/** The deadline cell as the ledger would show it, for conflict messages. */
function ledgerDeadline(c: CaseDoc): string {
  const parts = [c.deadline ?? c.plannedDeadline ?? ""];
  if (c.plannedDeadline && c.deadline && c.deadline !== c.plannedDeadline) parts[0] = `${c.deadline}（清单为 ${c.plannedDeadline}）`;
  if (c.immediate) parts.push("立行立改");
  if (c.longTerm) parts.push("长期坚持");
  return parts.filter(Boolean).join("，") || "（无）";
}

/**
 * A row whose item is in the ledger: "unchanged", a conflict naming each differing cell, or null when
 * the row cannot be that item at all (another kind; recorded as the row's error).
 */
export function compareWithLedger(p: Parsed, found: InLedger, cols: ColumnMap, units: UnitMatcher, problems: Problems): "unchanged" | RowConflict | null {
  const { case: c, proposal } = found;
  if (c.kind !== p.kind) {
    const what = c.kind === "complaint" ? "信访件" : "督察反馈问题";
    problems.fail(p.row, "number", p.ledgerNumber, `“${p.ledgerNumber}”在台账中是${what}，与本行不符`);
    return null;
  }
  const diffs: RowConflict["differences"] = [];
  const differ = (f: Field, file: string, ledger: string) => diffs.push({ column: problems.header(f), file: file || "（空）", ledger: ledger || "（空）" });
  if (cols.round && !sameText(p.round, c.round)) differ("round", p.round, c.round ?? "");
  if (cols.description && !sameText(p.description, c.description)) differ("description", p.description, c.description ?? "");
  if (cols.title && !sameText(p.title, c.title)) differ("title", p.title, c.title);
  if (cols.category && p.category !== (c.category ?? "其他")) differ("category", p.category, c.category ?? "");
  if (cols.goal && !sameText(p.goal, c.goal)) differ("goal", p.goal, c.goal ?? "");
  if (cols.measures && !sameText(p.measures, c.measures)) differ("measures", p.measures, c.measures ?? "");
  if (cols.lead) {
    // The planned unit (kept on the case since) counts as the list's proposal too.
    const known = [c.leadUnitId ?? null, ...(proposal ? [proposal.leadUnitId] : []), ...(c.plannedLeadUnitId ? [c.plannedLeadUnitId] : [])];
    if (!known.includes(p.lead?.id ?? null)) differ("lead", p.lead?.name ?? "", units.nameOf(c.leadUnitId ?? proposal?.leadUnitId ?? c.plannedLeadUnitId));
  }
  if (cols.co) {
    const key = (ids: string[]) => [...ids].sort().join(",");
    const mine = key(p.co.map((u) => u.id));
    const planned = c.plannedLeadUnitId ? [key(c.plannedCoUnitIds ?? [])] : [];
    const known = [key(c.coUnitIds ?? []), ...(proposal ? [key(proposal.coUnitIds)] : []), ...planned];
    const ledgerCo = c.leadUnitId || !proposal ? (c.coUnitIds ?? []) : proposal.coUnitIds;
    if (!known.includes(mine)) differ("co", p.co.map((u) => u.name).join("、"), ledgerCo.map((id) => units.nameOf(id)).join("、"));
  }
  if (cols.deadline) {
    const d = p.deadline;
    const same =
      d === null
        ? !c.deadline && (!c.plannedDeadline || c.longTerm)
        : d.kind === "immediate"
          ? !!c.immediate && (!d.longTerm || !!c.longTerm)
          : d.kind === "longTerm"
            ? !!c.longTerm
            : d.date === c.plannedDeadline || d.date === c.deadline;
    if (!same) differ("deadline", p.deadlineText, ledgerDeadline(c));
  }
  if (!diffs.length) return "unchanged";
  return {
    row: p.row,
    ledgerNumber: p.ledgerNumber,
    differences: diffs,
    message: `第 ${p.row} 行（${p.ledgerNumber}）与台账不一致：${diffs.map((x) => `“${x.column}”清单为“${x.file}”，台账为“${x.ledger}”`).join("；")}`,
  };
}
