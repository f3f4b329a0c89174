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
export const duplicate = (field: string, message: string) =>
  new AppError(409, "duplicate", message, { fields: [{ field, message }] });

/**
 * zod issues → field errors named by their path ("payload.deadline"). Our schemas word their own
 * messages; what zod words itself (an unknown key, a wrong shape) is put in Chinese here.
 */
export function fromZod(error: z.ZodError, prefix = ""): AppError {
  const fields = error.issues.map((i) => {
    const field = [prefix, ...i.path.map(String)].filter(Boolean).join(".");
    return { field, message: /\p{Script=Han}/u.test(i.message) ? i.message : chineseFor(i, field) };
  });
  return invalid(fields);
}

function chineseFor(issue: z.core.$ZodIssue, field: string): string {
  if (issue.code === "unrecognized_keys") return `不支持的字段：${issue.keys.join("、")}`;
  if (issue.code === "invalid_type" && issue.expected === "object") return field ? `“${field}”应为对象` : "请求内容应为 JSON 对象";
  return field ? `“${field}”格式不正确` : "请求内容格式不正确";
}
