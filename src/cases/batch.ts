/**
 * One command over many cases (批量签收, 批量交办, 批量催办): each case goes through the same call as
 * a single action (CaseService.applyEvent, issueByHand), so no rule is repeated here. The cases are
 * independent: one refused does not stop the others, and the result names each case and why.
 */
import { eventLabel, isOfficeRole, type Actor } from "../../workflows/index.ts";
import type { Clock } from "../clock.ts";
import type { CaseDoc } from "../db/models.ts";
import { activeUnitIds, unitNames } from "../directory.ts";
import { AppError, forbidden, fromZod, invalid, type FieldError } from "../errors.ts";
import { issueByHand, manualNoticeSchema } from "../notices/issuer.ts";
import type { CaseService } from "./service.ts";

/** At most this many cases in one batch (a page of the 台账 is 20; the API may send more). */
export const MAX_BATCH = 200;

export interface BatchRow {
  /** The case's place in the request (1-based). */
  n: number;
  /** The case id, when the actor may see the case (an id it may not see is not echoed: it names another unit's case). */
  id: string | null;
  /** The case's ledger number, when the actor may see the case. */
  ledgerNumber: string | null;
  title: string | null;
  ok: boolean;
  /** Why it was refused (Chinese), or what was done. */
  message: string;
}

export interface BatchResult {
  done: number;
  failed: number;
  rows: BatchRow[];
}

/** A refusal in one sentence: the field messages of an invalid payload, the message otherwise. */
function reasonOf(e: unknown): string {
  if (!(e instanceof AppError)) return "系统内部错误，请稍后重试";
  const fields = (e.details.fields as FieldError[] | undefined) ?? [];
  return fields.length ? [...new Set(fields.map((f) => f.message))].join("；") : e.message;
}

function checkIds(ids: string[]): string[] {
  const unique = [...new Set(ids)];
  if (!unique.length) throw invalid([{ field: "ids", message: "请先勾选要办理的案件" }]);
  if (unique.length > MAX_BATCH) throw invalid([{ field: "ids", message: `一次最多办理 ${MAX_BATCH} 件` }]);
  return unique;
}

/** Runs `each` on every case the actor may see, one after another; a case it may not see is refused as not found. */
async function eachCase(service: CaseService, ids: string[], actor: Actor, each: (c: CaseDoc) => Promise<string>): Promise<BatchResult> {
  const rows: BatchRow[] = [];
  for (const [i, id] of checkIds(ids).entries()) {
    let c: CaseDoc | null = null;
    try {
      c = await service.getCase(id, actor);
      rows.push({ n: i + 1, id, ledgerNumber: c.ledgerNumber, title: c.title, ok: true, message: await each(c) });
    } catch (e) {
      if (!(e instanceof AppError) || e.status >= 500) throw e;
      rows.push({ n: i + 1, id: c ? id : null, ledgerNumber: c?.ledgerNumber ?? null, title: c?.title ?? null, ok: false, message: reasonOf(e) });
    }
  }
  return { done: rows.filter((r) => r.ok).length, failed: rows.filter((r) => !r.ok).length, rows };
}

/** The same event (and payload) applied to each case: 批量签收, 批量交办. */
export function applyToEach(service: CaseService, ids: string[], event: { type: string; payload?: unknown }, actor: Actor): Promise<BatchResult> {
  return eachCase(service, ids, actor, async (c) => {
    await service.applyEvent(c._id.toString(), { type: event.type, payload: event.payload }, actor);
    // Said as a person would: 已签收, 已交办 (the version is the API's business, not the reader's).
    return `已${eventLabel(event.type)}`;
  });
}

/** A refusal of one case of a batch, in the office's words. */
const refuse = (message: string) => new AppError(422, "not_planned", message);

/**
 * 按清单交办: each case assigned (ASSIGN, through the case service) to the units and deadline its list
 * planned (plannedLeadUnitId, plannedCoUnitIds, plannedDeadline). A case without a planned lead unit,
 * one its unit sent back (申请退回: the list's unit said it is not theirs), or one whose planned units
 * were stopped since, is refused by name, for the office to assign on the case page.
 */
export async function assignAsPlanned(service: CaseService, ids: string[], actor: Actor): Promise<BatchResult> {
  if (!isOfficeRole(actor.role)) throw forbidden("只有整改办可以交办");
  const names = await unitNames();
  return eachCase(service, ids, actor, async (c) => {
    const lead = c.plannedLeadUnitId;
    if (!lead) throw refuse("清单未列牵头单位，请在案件页交办");
    if (c.stateEvent === "RETURN") throw refuse(`${names.get(lead) ?? "牵头单位"}已申请退回，请在案件页另选单位交办`);
    const co = c.plannedCoUnitIds ?? [];
    const active = await activeUnitIds([lead, ...co]);
    const stopped = [lead, ...co].filter((u) => !active.has(u)).map((u) => names.get(u) ?? u);
    if (stopped.length) throw refuse(`清单所列单位“${stopped.join("、")}”已停用，请在案件页另选单位交办`);
    const payload = { leadUnitId: lead, coUnitIds: co, ...(c.plannedDeadline ? { deadline: c.plannedDeadline } : {}) };
    try {
      await service.applyEvent(c._id.toString(), { type: "ASSIGN", payload }, actor);
    } catch (e) {
      // The list's deadline may have passed since (an old list), or be missing: said so, with what to do.
      if (e instanceof AppError && e.code === "invalid_fields") throw refuse(`清单所列${c.plannedDeadline ? `时限 ${c.plannedDeadline} ` : "内容"}不能直接交办：${reasonOf(e)}。请在案件页修改后交办`);
      throw e;
    }
    const whom = [names.get(lead), ...co.map((u) => names.get(u))].filter(Boolean).join("、");
    return `已交办 ${whom}${c.plannedDeadline ? `，时限 ${c.plannedDeadline}` : c.longTerm ? "（长期坚持）" : ""}`;
  });
}

/** A notice by hand to each case's unit (批量催办): numbered and delivered as one issued on the case page. */
export async function noticeToEach(service: CaseService, ids: string[], input: unknown, actor: Actor, clock: Clock): Promise<BatchResult> {
  // Who may and what was written are the same for every case: refused once, for the whole batch.
  if (!isOfficeRole(actor.role)) throw forbidden("只有整改办可以发出督办通知");
  const parsed = manualNoticeSchema.safeParse(input);
  if (!parsed.success) throw fromZod(parsed.error);
  return eachCase(service, ids, actor, async (c) => {
    const n = await issueByHand(c, parsed.data, actor, clock);
    return n.number ? `已发出 ${n.number}` : "已发出";
  });
}
