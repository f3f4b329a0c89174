/**
 * Errors into responses, in one place: an AppError keeps its status and code; what express, the body
 * parsers and multer throw becomes the AppError a person understands; anything else is a 500.
 */
import type { NextFunction, Request, Response } from "express";
import { AppError } from "../errors.ts";
import { csrfToken } from "./auth.ts";
import { meOf } from "./pages/render.ts";

/** Every error becomes `{error: {code, message, details}}` for the API, or the Chinese error page, here and nowhere else. */
export function errorHandler(err: unknown, req: Request, res: Response, _next: NextFunction) {
  const e = toAppError(err);
  if (e.status >= 500) req.log?.error({ err }, "request failed");
  if (res.headersSent) return;
  if (e.status === 429 && typeof e.details.retryAfterSeconds === "number") res.setHeader("Retry-After", String(e.details.retryAfterSeconds));
  if (req.originalUrl.startsWith("/api/") || req.originalUrl === "/api" || res.locals.jsonErrors) {
    res.status(e.status).json({ error: { code: e.code, message: e.message, details: e.details } });
    return;
  }
  const heading = e.status === 404 ? "页面不存在" : e.status === 403 ? "无权访问" : e.status >= 500 ? "系统出错了" : "请求有误";
  res.status(e.status).render("pages/error", { title: heading, heading, message: e.message, me: meOf(res.locals.actor), csrf: req.session ? csrfToken(req) : "", path: req.path });
}

function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const e = err as { type?: string; status?: number; code?: string; message?: string; storageErrors?: unknown };
  if (e?.type === "entity.too.large" || e?.code === "LIMIT_FILE_SIZE") return new AppError(413, "payload_too_large", "提交的内容过大");
  if (e?.type === "entity.parse.failed") return new AppError(400, "malformed_json", "请求内容不是有效的 JSON");
  if (e?.code === "LIMIT_FILE_COUNT") return new AppError(400, "bad_upload", "一次上传的文件过多");
  if (e?.code === "LIMIT_FIELD_VALUE" || e?.code === "LIMIT_FIELD_COUNT" || e?.code === "LIMIT_PART_COUNT")
    return new AppError(413, "form_too_large", "提交的表单过大：字段过多或内容过长");
  if (e?.code === "LIMIT_FIELD_KEY" || e?.code === "LIMIT_FIELD_NESTING" || e?.code === "LIMIT_FIELD_ARRAY_INDEX" || e?.code === "INVALID_FIELD_NAME")
    return new AppError(400, "bad_field_name", "表单字段名不正确");
  if (e?.code?.startsWith?.("LIMIT_")) return new AppError(400, "bad_upload", "上传格式不正确：文件字段或表单项不符合要求");
  // multer marks every error that aborted a form it was reading; busboy names a form it cannot read at all.
  if (Array.isArray(e?.storageErrors) || /^Multipart: /.test(e?.message ?? ""))
    return new AppError(400, "bad_upload", "上传的表单不完整或格式不正确，请重新选择文件上传");
  if (e?.type === "parameters.too.many") return new AppError(413, "form_too_large", "提交的表单过大：字段过多或内容过长");
  if (e?.type === "charset.unsupported" || e?.type === "encoding.unsupported") return new AppError(415, "unsupported_media_type", "不支持的字符集或编码");
  if (typeof e?.status === "number" && e.status >= 400 && e.status < 500) return new AppError(e.status, "bad_request", "请求格式不正确");
  return new AppError(500, "internal", "系统内部错误，请稍后重试");
}
