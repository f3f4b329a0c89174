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

/** Stamped by the case service on every event. `probe` asks "may this actor send this type at all?"
 * and skips the payload rules, so the UI can list actions before the user fills a form. */
export interface Envelope {
  actor: Actor;
  at: string;
  probe?: boolean;
}

export const isOfficeRole = (role: Role) => role === "office_admin" || role === "office_staff";

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

/** A calendar date that exists, in this century: no case, deadline or holiday of the ledger lies outside it. */
const DATE_RE = /^20\d{2}-\d{2}-\d{2}$/;
export function isIsoDate(value: string): boolean {
  if (!DATE_RE.test(value)) return false;
  const d = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(value);
}

// ---- payload field schemas (messages are shown to people, so Chinese) -------------------------
/** Control characters other than tab and line breaks are no part of what a person types (NUL-only text is empty). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
const withoutControls = (s: string) => s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, "");
export const text = (what: string, max = 5000) =>
  z
    .string({ error: `请填写${what}` })
    .overwrite(withoutControls)
    .trim()
    .min(1, { error: `请填写${what}` })
    .max(max, { error: `${what}不能超过${max}个字` });
export const optionalText = (what: string, max = 5000) =>
  z.string({ error: `${what}格式不正确` }).overwrite(withoutControls).trim().max(max, { error: `${what}不能超过${max}个字` }).optional();
export const isoDate = (what: string) =>
  z
    .string({ error: `请填写${what}` })
    .refine(isIsoDate, { error: `${what}应为有效日期，格式 YYYY-MM-DD` });
export const id = (what: string) =>
  z.string({ error: `请选择${what}` }).trim().min(1, { error: `请选择${what}` }).max(64);
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
}

export interface Violation {
  field: string;
  message: string;
}

export function violationsOf<C, E>(rules: Rule<C, E>[] | undefined, context: C, event: E): Violation[] {
  return (rules ?? []).filter((r) => !r.test(context, event)).map(({ field, message }) => ({ field, message }));
}

export interface PendingExtension {
  deadline: string;
  reason: string;
  requestedOn: string;
  requestedBy: string;
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

/** APPROVE_EXTENSION's rule: the date the unit asked for must not have passed (approving it would set a deadline already missed). */
export function requestedDateNotPast<C extends { pendingExtension: PendingExtension | null }, E extends Envelope & { type: string }>(): Rule<C, E> {
  return {
    field: "deadline",
    message: "单位申请延期至的日期已过，不能同意；请选择不同意延期，由单位重新申请",
    test: (c, e) => e.type !== "APPROVE_EXTENSION" || !c.pendingExtension || c.pendingExtension.deadline >= shanghaiDate(e.at),
  };
}
