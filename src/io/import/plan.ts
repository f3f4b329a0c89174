/**
 * Stage 4: a row whose item is not in the ledger becomes a plan to register it, once its required
 * cells are there and the case schema (lengths, formats) accepts it. The list's units and deadline
 * become the case's planned assignment (交办 applies them later: 按清单交办).
 */
import { COMPLAINT_NUMBER, complaintNumberTaken, newInspectionSchema, type NewCase } from "../../cases/schemas.ts";
import type { ColumnMap, Field } from "../columns.ts";
import { plannedOf } from "../deadline-phrases.ts";
import type { Problems } from "./problems.ts";
import type { Parsed, PreviewItem } from "./types.ts";

const sourceOf = (round: string) => (round.startsWith("中央") ? "中央生态环境保护督察" : round.startsWith("省") ? "省级生态环境保护督察" : undefined);

/** What the case service gets for a new item. */
export function inputOf(p: Parsed) {
  const { immediate, longTerm } = plannedOf(p.deadline, p.plannedDeadline);
  return {
    kind: "inspection" as const,
    ledgerNumber: p.ledgerNumber,
    round: p.round,
    source: sourceOf(p.round),
    title: p.title,
    description: p.description || p.title,
    category: p.category as NewCase["category"],
    goal: p.goal || undefined,
    measures: p.measures || undefined,
    immediate,
    longTerm,
    plannedDeadline: p.plannedDeadline ?? undefined,
    plannedLeadUnitId: p.lead?.id,
    plannedCoUnitIds: p.co.map((u) => u.id),
  };
}

/** The IMPORT entry's note beside the case's fields: the file, the row and what the list said. */
export function importNote(p: Parsed, fileName: string, sheet: string | null): Record<string, unknown> {
  return {
    file: fileName,
    row: p.row,
    ...(sheet ? { sheet } : {}),
    deadlineText: p.deadlineText,
    leadUnitId: p.lead!.id,
    leadUnit: p.lead!.name,
    coUnitIds: p.co.map((u) => u.id),
    coUnits: p.co.map((u) => u.name),
  };
}

export function previewOf(p: Parsed): PreviewItem {
  const input = inputOf(p);
  return {
    row: p.row,
    ledgerNumber: p.ledgerNumber,
    round: p.round,
    title: p.title,
    category: p.category,
    leadUnit: p.lead?.name ?? "",
    coUnits: p.co.map((u) => u.name),
    plannedDeadline: p.plannedDeadline,
    immediate: input.immediate,
    longTerm: input.longTerm,
  };
}

/** A new item: required cells, then the case schema (lengths). True when it can be registered; its errors are recorded otherwise. */
export function canRegister(p: Parsed, cols: ColumnMap, problems: Problems): boolean {
  const fail = problems.fail.bind(problems);
  if (p.kind === "complaint") {
    fail(p.row, "number", p.ledgerNumber, `信访件“${p.ledgerNumber}”不在台账中；导入只能登记督察反馈问题`);
    return false;
  }
  let ok = true;
  const need = (f: Field, value: unknown) => {
    if (value) return;
    ok = false;
    fail(p.row, f, "", `请填写${problems.header(f)}`);
  };
  need("round", p.round);
  need(cols.description ? "description" : "title", p.title);
  need("lead", p.lead);
  need("deadline", p.deadline);
  if (COMPLAINT_NUMBER.test(p.ledgerNumber)) {
    ok = false;
    fail(p.row, "number", p.ledgerNumber, complaintNumberTaken(p.ledgerNumber));
  }
  if (p.lead && !p.lead.active) {
    ok = false;
    fail(p.row, "lead", p.lead.name, `“${p.lead.name}”已停用，不能作为新问题的牵头单位`);
  }
  for (const u of p.co.filter((x) => !x.active)) {
    ok = false;
    fail(p.row, "co", u.name, `“${u.name}”已停用，不能作为新问题的配合单位`);
  }
  if (!ok) return false;
  const parsed = newInspectionSchema.safeParse(inputOf(p));
  if (!parsed.success) {
    const byPath: Record<string, Field> = { ledgerNumber: "number", round: "round", title: cols.title ? "title" : "description", description: "description", goal: "goal", measures: "measures" };
    for (const issue of parsed.error.issues) fail(p.row, byPath[String(issue.path[0])] ?? null, "", issue.message);
    return false;
  }
  return true;
}
