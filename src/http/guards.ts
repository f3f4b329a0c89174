/**
 * What every request passes before a route sees it, and what Node refuses before express does: bounds on
 * the URL, the body's values, depth and text, sign-in only over https with COOKIE_SECURE. Each refusal is an
 * AppError with a Chinese message (errors.ts answers it); app.ts puts them in order.
 */
import { isUtf8 } from "node:buffer";
import type { Server } from "node:http";
import type { Duplex } from "node:stream";
import type { NextFunction, Request, Response } from "express";
import { AppError } from "../errors.ts";
import { MAX_NESTING } from "./contract.ts";

/** JSON must be UTF-8 as sent: a decoder would put U+FFFD in place of a broken byte and store that (the JSON parser's verify). */
export function utf8Only(_req: Request, _res: Response, body: Buffer, encoding: string): void {
  if (/^utf-?8$/i.test(encoding) && !isUtf8(body)) throw new AppError(400, "invalid_utf8", "请求内容不是有效的 UTF-8 文本");
}

/**
 * The longest URL taken (8 KB, what nginx passes by default): no query of ours needs more, and a page
 * or the API says so rather than working on it. Node itself refuses headers past 16 KB (answerClientErrors).
 */
export const MAX_URL = 8 * 1024;
export function refuseLongUrls(req: Request, _res: Response, next: NextFunction) {
  next(req.url.length > MAX_URL ? new AppError(414, "uri_too_long", "请求地址过长（查询条件过多或过长），请缩短后重试") : undefined);
}

/**
 * What Node's HTTP parser refuses before express sees a request (headers, the URL among them, past
 * its 16 KB limit; a request it cannot parse) is answered with a status and the API's error shape
 * in Chinese, where Node would only close the connection. The rest of the request is read and
 * dropped before the close, so the client gets the answer rather than a reset.
 */
export function answerClientErrors(server: Server): void {
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === "ECONNRESET" || !socket.writable) {
      socket.destroy();
      return;
    }
    const [status, reason, code, message] =
      err.code === "HPE_HEADER_OVERFLOW"
        ? [431, "Request Header Fields Too Large", "headers_too_large", "请求地址或请求头过长（查询条件过多或过长），请缩短后重试"]
        : err.code === "ERR_HTTP_REQUEST_TIMEOUT" || err.code === "ERR_HTTP_HEADERS_TIMEOUT"
          ? [408, "Request Timeout", "request_timeout", "请求超时"]
          : [400, "Bad Request", "bad_request", "请求格式不正确"];
    const body = JSON.stringify({ error: { code, message, details: {} } });
    socket.on("data", () => {});
    socket.on("error", () => {});
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    setTimeout(() => socket.destroy(), 5_000).unref();
  });
}

/** Values (strings, numbers, objects, array items) in one body: a batch of 200 ids is the largest we take. */
const MAX_VALUES = 10_000;

/**
 * Every JSON or form body, whatever route it is for (multipart forms are flat and their text goes through
 * the schemas' text()): a key starting with "$" is a query operator, never a field of
 * ours; no field of ours nests 20 deep (deeper input would only exhaust the stack of whoever walks it);
 * NUL is in no text a person types, key or value. The OpenAPI document says each of these (contract.ts).
 */
export function refuseOperatorKeys(req: Request, _res: Response, next: NextFunction) {
  let values = 0;
  const problem = (v: unknown, depth: number): AppError | null => {
    if (++values > MAX_VALUES) return new AppError(413, "too_many_fields", `请求内容的字段过多（最多 ${MAX_VALUES} 项）`);
    if (typeof v === "string") return v.includes("\u0000") ? new AppError(400, "control_character", "请求内容含有不允许的控制字符") : null;
    if (typeof v !== "object" || v === null) return null;
    if (depth >= MAX_NESTING) return new AppError(400, "too_deep", "请求内容的嵌套层级过深");
    for (const [k, x] of Object.entries(v)) {
      if (k.startsWith("$")) return new AppError(400, "operator_in_input", "请求中含有不允许的字段（以 $ 开头）");
      if (k.includes("\u0000")) return new AppError(400, "control_character", "请求内容含有不允许的控制字符");
      const p = problem(x, depth + 1);
      if (p) return p;
    }
    return null;
  };
  next(problem(req.body, 0) ?? undefined);
}

const SIGN_IN = new Set(["/login", "/api/auth/login"]);
/**
 * With COOKIE_SECURE the session cookie goes out over https only (express-session leaves it off
 * otherwise), so a sign-in that arrived over http would answer 200 and sign nobody in: it is refused,
 * saying why. Behind proxies, https is what a trusted proxy's X-Forwarded-Proto says (TRUST_PROXY).
 */
export function signInOverHttps(req: Request, _res: Response, next: NextFunction) {
  if (req.secure || !SIGN_IN.has(req.path)) return next();
  req.log?.warn({ forwardedProto: req.get("x-forwarded-proto") ?? null }, "sign-in over http refused (COOKIE_SECURE=1): check that the proxies pass X-Forwarded-Proto on, and TRUST_PROXY");
  next(new AppError(403, "https_required", "请通过 HTTPS 地址访问本系统并登录：登录凭证只经加密连接发送"));
}
