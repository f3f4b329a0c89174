/**
 * What both case machines share: who acts, the envelope every event carries, dates, and
 * rule tables. Pure: no I/O, no clock (the case service stamps `at` on each event).
 */
import { z } from "zod";

export const ROLES = ["office_admin", "office_staff", "unit_user", "leader", "system"] as const;
export type Role = (typeof ROLES)[number];

export interface Actor {
  id: string;
  role: Role;
  unitId?: string | null;
  name?: string;
}

/**
 * Stamped by the case service on every event. `probe` asks "may this actor send this type now?" without a
 * payload, so the UI can list actions before the user fills a form: `true` skips the payload rules but keeps
 * the situation rules (a pending extension blocks 申请销号 whatever is filled in); "role" skips every rule,
 * so a refusal can tell "not yours to do" from "not now, because…".
 */
export interface Envelope {
  actor: Actor;
  at: string;
  probe?: boolean | "role";
}

export const isOfficeRole = (role: Role) => role === "office_admin" || role === "office_staff";

/** The system itself (the notice sweep, the ladder's notices), as the history names it. */
export const SYSTEM: Actor = { id: "system", name: "系统", role: "system", unitId: null };

// ---- dates: calendar dates are "YYYY-MM-DD" strings in Asia/Shanghai --------------------------
const shanghai = new Intl.DateTimeFormat("en-CA", {
  timeZone: "Asia/Shanghai",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
});

/** The calendar date in China of an instant. */
export function shanghaiDate(at: string | Date): string {
  return shanghai.format(typeof at === "string" ? new Date(at) : at);
}

export function addCalendarDays(date: string, days: number): string {
  const t = Date.parse(`${date}T00:00:00Z`) + days * 86_400_000;
  return new Date(t).toISOString().slice(0, 10);
}

/** Calendar days from one date to another (negative when `to` is earlier). */
export const daysBetween = (from: string, to: string) => Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);

/**
 * A calendar date that exists, in this century: no case, deadline or holiday of the ledger lies outside it.
 * The pattern is the whole rule (days per month, and every fourth year leap: 2000 is one, 2100 is out of
 * range), so the OpenAPI document carries it as it is and a client can check a date as the server does.
 */
export const ISO_DATE =
  /^(?:20[0-9]{2}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))|20(?:[02468][048]|[13579][26])-02-29)$/;
export function isIsoDate(value: string): boolean {
  return ISO_DATE.test(value);
}

// ---- payload field schemas (messages are shown to people, so Chinese) -------------------------
/** What String.prototype.trim removes (JavaScript's \s), spelled out: these patterns go into the OpenAPI document,
 * and the regex engines of its readers do not all agree on what \s is. */
const BLANK = "\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff";
/** Control characters other than tab and line breaks: no part of what a person types. */
const CONTROLS = "\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f";
const withoutControls = (s: string) => s.replace(new RegExp(`[${CONTROLS}]`, "g"), "");
/** Text that is not empty once trimmed and cleaned: at least one character that is neither blank nor a control. */
export const VISIBLE = new RegExp(`[^${BLANK}${CONTROLS}]`);
/**
 * What a person typed. The length is of what was sent (so a schema's maxLength says it), and it must hold
 * something besides blanks and control characters; the value is then cleaned and trimmed.
 */
export const text = (what: string, max = 5000) =>
  z
    .string({ error: `请填写${what}` })
    .max(max, { error: `${what}不能超过${max}个字` })
    .regex(VISIBLE, { error: `请填写${what}` })
    .overwrite(withoutControls)
    .trim();
export const optionalText = (what: string, max = 5000) =>
  z.string({ error: `${what}格式不正确` }).max(max, { error: `${what}不能超过${max}个字` }).overwrite(withoutControls).trim().optional();
export const isoDate = (what: string) => z.string({ error: `请填写${what}` }).regex(ISO_DATE, { error: `${what}应为有效日期，格式 YYYY-MM-DD` });
export const id = (what: string) =>
  z.string({ error: `请选择${what}` }).max(64).regex(VISIBLE, { error: `请选择${what}` }).trim();
/**
 * A pattern for text that, cleaned and trimmed as text() does, is the sequence of `atoms` (one regex atom per
 * character): for a schema's `not`, where the server refuses such a value.
 */
export const cleanedEquals = (atoms: string[]) => `^[${BLANK}${CONTROLS}]*${atoms.join(`[${CONTROLS}]*`)}[${BLANK}${CONTROLS}]*$`;
export const attachmentIds = z
  .array(z.string().min(1).max(64), { error: "佐证材料格式不正确" })
  .max(50, { error: "佐证材料最多 50 个" })
  .default([]);
export const percent = z
  .number({ error: "请填写整改进度（0–100）" })
  .int({ error: "整改进度应为整数" })
  .min(0, { error: "整改进度不能小于 0" })
  .max(100, { error: "整改进度不能大于 100" });
export const empty = z.object({ note: optionalText("备注", 2000) });

/** A rule that a well-formed payload must also satisfy in the case's current context. */
export interface Rule<C, E> {
  field: string;
  message: string;
  test: (context: C, event: E) => boolean;
  /**
   * About the case, not the payload (its test reads no event field): checked for a probe too, so the action
   * is not offered while it fails, and the refusal gives its message as the reason.
   */
  situation?: boolean;
}

export interface Violation {
  field: string;
  message: string;
}

export function violationsOf<C, E>(rules: Rule<C, E>[] | undefined, context: C, event: E): Violation[] {
  return (rules ?? []).filter((r) => !r.test(context, event)).map(({ field, message }) => ({ field, message }));
}

/** The machines' `rulesHold` guard: every rule for an event, the situation rules for a probe, none for a role probe. */
export function rulesHold<C, E extends Envelope>(rules: Rule<C, E>[] | undefined, context: C, event: E): boolean {
  if (event.probe === "role") return true;
  return violationsOf(event.probe ? rules?.filter((r) => r.situation) : rules, context, event).length === 0;
}

/**
 * 申请销号 (or 报送查处结果) declares the work done: while the unit's own extension request awaits the office it
 * is refused, not allowed to drop the request silently; the unit withdraws it first (WITHDRAW_EXTENSION).
 */
export function noPendingExtension<C extends { pendingExtension: PendingExtension | null }, E>(done: string): Rule<C, E> {
  return {
    field: "state",
    message: `延期申请尚待整改办审批，不能${done}；如已办结，请先撤回延期申请`,
    test: (c) => !c.pendingExtension,
    situation: true,
  };
}

export interface PendingExtension {
  deadline: string;
  reason: string;
  requestedOn: string;
  requestedBy: string;
}

/** An approved extension: the deadline revision it started and the day the office approved it. */
export interface GrantedExtension {
  revision: number;
  on: string;
}

type Sent = Envelope & { type: string; deadline?: string; reason?: string; percent?: number };

/** What REQUEST_EXTENSION leaves in context: the request, waiting for the office. */
export function requestedExtension(e: Sent): { pendingExtension?: PendingExtension } {
  if (e.type !== "REQUEST_EXTENSION" || e.deadline === undefined || e.reason === undefined) return {};
  return { pendingExtension: { deadline: e.deadline, reason: e.reason, requestedOn: shanghaiDate(e.at), requestedBy: e.actor.id } };
}

/** What REPORT_PROGRESS leaves in context. */
export function reportedProgress(e: Sent): { progressPercent?: number; lastProgressOn?: string } {
  if (e.type !== "REPORT_PROGRESS") return {};
  return { ...(e.percent === undefined ? {} : { progressPercent: e.percent }), lastProgressOn: shanghaiDate(e.at) };
}

/** The date a unit asked for has passed: approving it would set a deadline already missed. */
export const requestedDatePassed = (p: Pick<PendingExtension, "deadline">, today: string) => p.deadline < today;

/** APPROVE_EXTENSION's rule: the date the unit asked for must not have passed (requestedDatePassed). */
export function requestedDateNotPast<C extends { pendingExtension: PendingExtension | null }, E extends Envelope & { type: string }>(): Rule<C, E> {
  return {
    field: "deadline",
    message: "单位申请延期至的日期已过，不能同意；请选择不同意延期，由单位重新申请",
    test: (c, e) => e.type !== "APPROVE_EXTENSION" || !c.pendingExtension || !requestedDatePassed(c.pendingExtension, shanghaiDate(e.at)),
  };
}

// ---- 领导批示 (docs/domain.md#instructions) ------------------------------------------------------

/** How many 批示 a case keeps at most: each one stays in the case's context (and every later snapshot). */
export const MAX_INSTRUCTIONS = 50;

/**
 * A leader's instruction (批示) on a case, numbered within the case, and whether the office has recorded
 * how it was carried out (落实情况). It changes no state; the texts are in the history entries.
 */
export interface Instruction {
  n: number;
  /** When it was written (the event's `at`) and by whom. */
  at: string;
  by: string;
  /** The notice it was written on, if any (a 批示 on a notice is recorded on that notice's case). */
  noticeId: string | null;
  /** When the office recorded its 落实, and who; null while it awaits the office. */
  doneAt: string | null;
  doneBy: string | null;
}

export const instructionPayloads = {
  INSTRUCT: z.object({
    text: text("批示内容", 2000),
    noticeId: z.string({ error: "通知编号格式不正确" }).max(100, { error: "通知编号格式不正确" }).regex(VISIBLE, { error: "通知编号格式不正确" }).trim().optional(),
  }),
  CARRY_OUT: z.object({
    instruction: z.number({ error: "请指明落实的是哪条批示" }).int({ error: "批示序号应为整数" }).min(1, { error: "批示序号应为正整数" }).max(MAX_INSTRUCTIONS, { error: "没有这条批示" }),
    text: text("落实情况"),
  }),
} as const;

type WithInstructions = { instructions?: Instruction[] };
type InstructionEvent = Envelope & { type: string; instruction?: number; noticeId?: string };

export const isLeader = (role: Role) => role === "leader";

/** The rules of 批示 and 落实, shared by both machines. */
export function instructionRules<C extends WithInstructions, E extends InstructionEvent>(): { INSTRUCT: Rule<C, E>[]; CARRY_OUT: Rule<C, E>[] } {
  return {
    INSTRUCT: [
      {
        field: "text",
        message: `本案批示已达 ${MAX_INSTRUCTIONS} 条，不能再批示`,
        test: (c) => (c.instructions ?? []).length < MAX_INSTRUCTIONS,
        situation: true,
      },
    ],
    CARRY_OUT: [
      {
        field: "instruction",
        message: "没有这条待落实的批示（可能已记录落实情况）",
        test: (c, e) => e.type !== "CARRY_OUT" || (c.instructions ?? []).some((i) => i.n === e.instruction && !i.doneAt),
      },
    ],
  };
}

/**
 * The CARRY_OUT guard: the case has a 批示 awaiting 落实. A role probe passes it, so sending CARRY_OUT to a
 * case without one is refused by the payload rule (which 批示), not as "not your role"; the action is
 * neither offered nor listed as blocked while nothing awaits.
 */
export const hasOpenInstruction = (c: WithInstructions, e: Envelope) => e.probe === "role" || (c.instructions ?? []).some((i) => !i.doneAt);

/** What INSTRUCT leaves in context: a new open 批示. */
export function instructed(c: WithInstructions, e: InstructionEvent & { type: string }): { instructions: Instruction[] } {
  const list = c.instructions ?? [];
  if (e.type !== "INSTRUCT") return { instructions: list };
  return { instructions: [...list, { n: list.length + 1, at: e.at, by: e.actor.id, noticeId: e.noticeId ?? null, doneAt: null, doneBy: null }] };
}

/** What CARRY_OUT leaves in context: the 批示 marked carried out. */
export function carriedOut(c: WithInstructions, e: InstructionEvent): { instructions: Instruction[] } {
  const list = c.instructions ?? [];
  if (e.type !== "CARRY_OUT") return { instructions: list };
  return { instructions: list.map((i) => (i.n === e.instruction ? { ...i, doneAt: e.at, doneBy: e.actor.id } : i)) };
}

/** Since when the case's oldest open 批示 has awaited the office's 落实 (an ISO instant), or null. */
export const instructionOpenSince = (c: WithInstructions): string | null => (c.instructions ?? []).find((i) => !i.doneAt)?.at ?? null;
