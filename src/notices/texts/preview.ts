/**
 * The admin's preview of a text: filled for sample cases of both kinds at the level's moment, nothing stored.
 */
import { LEVEL_LABELS, addCalendarDays, shanghaiDate, type CaseKind, type Level } from "../../../workflows/index.ts";
import { compose, type ComposeContext, type Composed, type NoticeSubject } from "./compose.ts";
import { notFound } from "../../errors.ts";
import { checkText, isLevel } from "./store.ts";

/** Sample cases a preview fills a text with: one of each kind, at the level's moment. */
export function previewSubjects(level: Level, today: string, unitName = "市生态环境局"): NoticeSubject[] {
  const office = level.startsWith("office_") || level.startsWith("accept_");
  const addressee = office ? ("office" as const) : level === "escalation" ? null : ("unit" as const);
  const before = level === "due_reminder" || level.endsWith("_warning") || level.endsWith("_due") || level === "yellow";
  const limit = addCalendarDays(today, before ? 7 : level === "supervision" || level === "escalation" ? -21 : -3);
  const extension = level === "office_extension";
  const inspectionState = extension ? "rectifying.extensionPending" : office ? "verifying" : level === "sign_reminder" ? "assigned" : "rectifying";
  const complaintState = extension ? "investigating.extensionPending" : level.startsWith("accept_") ? "received" : office ? "replying" : "investigating";
  const pendingExtension = extension ? { deadline: addCalendarDays(limit, 30), requestedOn: addCalendarDays(today, -3) } : null;
  const reason = level === "returned" ? "佐证材料不全，缺少整改前后对比照片" : undefined;
  const instruction = level === "instruction" ? "请加快进度，月底前完成整改并报送佐证材料。" : undefined;
  const inspection: NoticeSubject = {
    doc: {
      kind: "inspection",
      state: inspectionState,
      ledgerNumber: "ZY2-03",
      title: "城区部分燃煤锅炉淘汰不彻底",
      deadline: limit,
      receivedOn: null,
      progressPercent: 40,
      context: { deadline: limit, deadlineRevision: 1, assignedOn: addCalendarDays(today, -60), pendingExtension },
    },
    level,
    rule: null,
    addressee,
    unitName,
    requirement: "",
    reason,
    instruction,
  };
  const acceptBy = level.startsWith("accept_") ? limit : addCalendarDays(today, -50);
  const complaint: NoticeSubject = {
    doc: {
      kind: "complaint",
      state: complaintState,
      ledgerNumber: "XF-2026-000123",
      title: "夜间工地噪声扰民",
      deadline: level.startsWith("accept_") ? acceptBy : limit,
      receivedOn: addCalendarDays(acceptBy, -15),
      progressPercent: 0,
      context: { deadline: limit, deadlineRevision: 2, acceptBy, concludeBy: office && !level.startsWith("accept_") ? limit : addCalendarDays(today, 30), receivedOn: addCalendarDays(acceptBy, -15), reviewCount: 0, pendingExtension },
    },
    level,
    rule: { triggers: [{ anchor: level.startsWith("accept_") ? "acceptBy" : office ? "concludeBy" : "deadline", direction: "after", days: 0, unit: "calendar" }], clause: level.startsWith("accept_") ? "《信访工作条例》第二十二条：收到信访事项之日起15日内告知信访人是否受理" : "《信访工作条例》第三十四条：信访事项应当自受理之日起60日内办结" },
    addressee,
    unitName,
    requirement: "",
    reason,
    instruction,
  };
  return [inspection, complaint];
}

/** A text previewed on both kinds of sample case (nothing stored). */
export function preview(level: string, input: unknown, c: ComposeContext): { level: Level; label: string; samples: (Composed & { kind: CaseKind })[] } {
  if (!isLevel(level)) throw notFound("通知类别");
  const text = checkText(input);
  return {
    level,
    label: LEVEL_LABELS[level],
    samples: previewSubjects(level, shanghaiDate(c.issuedAt)).map((s) => ({ kind: s.doc.kind as CaseKind, ...compose(text, s, c) })),
  };
}
