/**
 * Typed errors with an HTTP status and a stable code; messages are Chinese because people read
 * them. The HTTP layer turns them into `{error: {code, message, details}}` in one place.
 */
import type { z } from "zod";

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "AppError";
  }
}

export interface FieldError {
  field: string;
  message: string;
  /** The message is a generic one put in place of zod's own English: a page may word it better. */
  generic?: boolean;
}

export const notFound = (what = "案件") => new AppError(404, "not_found", `${what}不存在或无权查看`);
export const forbidden = (message = "您无权执行此操作", details: Record<string, unknown> = {}) =>
  new AppError(403, "forbidden", message, details);
export const invalid = (fields: FieldError[], message = fields.map((f) => f.message).join("；")) =>
  new AppError(422, "invalid_fields", message, { fields });
export const versionConflict = (currentVersion: number) =>
  new AppError(409, "version_conflict", "案件已被他人更新，请刷新后重试", { currentVersion });
export const notAllowedInState = (state: string, stateLabel: string, allowedEvents: string[]) =>
  new AppError(409, "event_not_allowed", `案件当前状态为“${stateLabel}”，不能执行此操作`, { state, allowedEvents });
/** The case's situation blocks the event now (the machine's situation rules): the reasons are the message. */
export const notNow = (state: string, reasons: string[], allowedEvents: string[]) =>
  new AppError(409, "event_not_allowed", reasons.join("；"), { state, allowedEvents, reasons });
export const duplicate = (field: string, message: string) =>
  new AppError(409, "duplicate", message, { fields: [{ field, message }] });

/**
 * zod issues → field errors named by their path ("payload.deadline"). Our schemas word their own
 * messages; what zod words itself (an unknown key, a wrong shape) is put in Chinese here.
 */
export function fromZod(error: z.ZodError, prefix = ""): AppError {
  const fields = error.issues.map((i): FieldError => {
    const field = [prefix, ...i.path.map(String)].filter(Boolean).join(".");
    return /\p{Script=Han}/u.test(i.message) ? { field, message: i.message } : { field, message: chineseFor(i, field), generic: true };
  });
  return invalid(fields);
}

function chineseFor(issue: z.core.$ZodIssue, field: string): string {
  const name = field ? `“${field}”` : "请求内容";
  if (issue.code === "unrecognized_keys") return `不支持的字段：${issue.keys.join("、")}`;
  if (issue.code === "invalid_type" && issue.expected === "object") return `${name}应为对象`;
  if (issue.code === "too_big" || issue.code === "too_small") {
    const n = Number(issue.code === "too_big" ? issue.maximum : issue.minimum);
    const unit = issue.origin === "string" ? " 个字符" : issue.origin === "array" || issue.origin === "set" ? " 项" : "";
    const more = unit ? (issue.code === "too_big" ? "不能超过" : "至少") : issue.code === "too_big" ? "不能大于" : "不能小于";
    return `${name}${more} ${n}${unit}`;
  }
  return `${name}格式不正确`;
}
