/**
 * The JSON API as a table of routes: each says who may call it, the formats of its path ids and the
 * zod schemas of its query and body. This file registers the table's express handlers (authenticate →
 * check role → check ids → validate → one call; any other method on a known path is answered 405 with
 * `Allow`); openapi.ts generates the OpenAPI 3.1 document from the same table, so documentation and
 * validation cannot drift.
 */
import express, { type NextFunction, type Request, type Response } from "express";
import type multer from "multer";
import { z } from "zod";
import { ISO_DATE, type Actor, type Role } from "../../workflows/index.ts";
import { AppError, forbidden, fromZod, notFound } from "../errors.ts";
import { assertCsrf } from "./auth.ts";
import { NO_NUL, type PathParam } from "./contract.ts";

export interface RouteContext<Q, B> {
  req: Request;
  res: Response;
  /** The signed-in user (a route with `auth: "none"` or `"optional"` may have none: it reads the request instead). */
  actor: Actor;
  query: Q;
  body: B;
  params: Record<string, string>;
}

/** session: signed in (and, for unsafe methods, the CSRF token); none: anyone; optional: either. */
export type Auth = "session" | "none" | "optional";

/** A multipart upload (read by the route itself): its text fields and its one file. */
export interface Form {
  /** The text fields, a strict object of strings (what multer leaves in req.body). */
  fields: z.ZodType;
  file: { name: string; description: string; /** What the server takes, by content. */ types: readonly string[] };
}

export interface Reply {
  description: string;
  schema?: Record<string, unknown>;
}

export interface Route<Q = unknown, B = unknown> {
  method: "get" | "post" | "put" | "patch";
  path: string;
  summary: string;
  tag: string;
  auth?: Auth;
  /** Roles allowed; default: every signed-in user. */
  roles?: readonly Role[];
  /** Path ids and their formats: an id that cannot name anything is answered 404, as one that names nothing. */
  params?: Record<string, PathParam>;
  /** Optional request headers the route reads, with their format; one not matching is refused (400, the refusal's code and message). */
  headers?: Record<string, { pattern: RegExp; description: string; refusal: [code: string, message: string] }>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /**
   * The body as the document gives it, where the route checks only its envelope and the service the
   * rest against the case (an event's payload depends on the case's kind): what the server enforces in all.
   */
  documentedBody?: z.ZodType;
  form?: Form;
  status?: number;
  /** What the 2xx response holds, for the document. */
  returns: string;
  /** The 2xx body: a JSON schema, or the media types of a file. */
  response?: { schema?: Record<string, unknown>; types?: readonly string[] };
  /** Other responses of this route, by status: refusals beyond those its auth, roles, ids, query and body imply, or a second success. */
  errors?: Record<number, string | Reply>;
  handle(ctx: RouteContext<Q, B>): Promise<unknown>;
}

export const OFFICE: readonly Role[] = ["office_admin", "office_staff"];
export const ADMIN: readonly Role[] = ["office_admin"];

/**
 * How a query value travels when its zod schema transforms it (an integer arrives as digits): the
 * document shows the wire form, which the schema's input side (a string with a pattern) would hide.
 */
const WIRE = new WeakMap<object, Record<string, unknown>>();
export const wireOf = (schema: object) => WIRE.get(schema);

/** A query string value: one plain string (Express 5 never builds objects, but repeated keys make arrays). */
export const qs = (what: string) =>
  z
    .string({ error: `参数 ${what} 只能出现一次` })
    .max(500, { error: `参数 ${what} 过长` })
    // NUL is in no text a person types, and the database refuses it in a search pattern.
    .regex(new RegExp(NO_NUL), { error: `参数 ${what} 含有不允许的控制字符` });
export const qsDate = (what: string) => z.string({ error: `参数 ${what} 只能出现一次` }).regex(ISO_DATE, { error: `参数 ${what} 应为有效日期，格式 YYYY-MM-DD` });
/**
 * A period from optional bounds: a missing one is the start or end of the other's year (else this year's),
 * so a bound alone never makes an inverted range; bounds given the wrong way round are refused (422 naming
 * `from`). The pages pass their raw query here too, so the bounds are checked as dates.
 */
export function periodOf(q: Record<string, unknown>, today: string): { from: string; to: string } {
  const given = (v: unknown) => (typeof v === "string" && v ? v : undefined);
  const invalid = (field: string, message: string) => new AppError(422, "invalid_fields", message, { fields: [{ field, message }] });
  const [f, t] = [given(q.from), given(q.to)];
  if (f !== undefined && !ISO_DATE.test(f)) throw invalid("from", "起始日期应为有效日期，格式 YYYY-MM-DD");
  if (t !== undefined && !ISO_DATE.test(t)) throw invalid("to", "截止日期应为有效日期，格式 YYYY-MM-DD");
  const from = f ?? `${(t ?? today).slice(0, 4)}-01-01`;
  const to = t ?? `${(f ?? today).slice(0, 4)}-12-31`;
  if (from > to) throw invalid("from", "起始日期不能晚于截止日期");
  return { from, to };
}
export const qsBool = (what: string) => z.enum(["true", "false"], { error: `参数 ${what} 应为 true 或 false` }).transform((v) => v === "true");
export const qsInt = (what: string, min: number, max: number) => {
  const schema = z
    .string({ error: `参数 ${what} 应为整数` })
    .regex(/^\d+$/, { error: `参数 ${what} 应为整数` })
    .transform(Number)
    .pipe(z.number().min(min, { error: `参数 ${what} 不能小于 ${min}` }).max(max, { error: `参数 ${what} 不能大于 ${max}` }));
  WIRE.set(schema, { type: "integer", minimum: min, maximum: max });
  return schema;
};

/**
 * Reads a route's upload: the CSRF token first (header, or `?_csrf=`: the body is not read for a
 * request without it), then the form (upload.ts, its limits), then its text fields by the form's
 * schema. The file may be missing: the route says why it needs one.
 */
export async function readForm<F>(req: Request, res: Response, upload: multer.Multer, form: Form): Promise<{ file?: Express.Multer.File; fields: F }> {
  if (!req.is("multipart/form-data")) throw new AppError(415, "unsupported_media_type", "请以 multipart/form-data 上传文件");
  assertCsrf(req);
  await new Promise<void>((resolve, reject) => upload.single(form.file.name)(req, res, (err: unknown) => (err ? reject(err) : resolve())));
  return { file: (req as Request & { file?: Express.Multer.File }).file, fields: parse(form.fields, req.body, "") as F };
}

type Authenticate = (req: Request) => Actor | null;
export const UNSAFE = (m: Route["method"]) => m !== "get";

export class Api {
  readonly routes: Route<never, never>[] = [];

  /** `mount`: where the router is mounted (the document's paths start with it). */
  constructor(readonly mount = "/api") {}

  add<Q, B>(route: Route<Q, B>): void {
    this.routes.push(route as unknown as Route<never, never>);
  }

  router(authenticate: Authenticate): express.Router {
    const router = express.Router();
    for (const [path, routes] of byPath(this.routes)) {
      for (const route of routes) router[route.method](path, (req, res) => this.serve(route, authenticate, req, res));
      // Concrete paths come before templated ones in the table, so "/notices/ack" answers here before "/notices/:id" could.
      const allow = allowed(routes);
      router.all(path, (req: Request, res: Response, next: NextFunction) => {
        res.locals.jsonErrors = true;
        res.setHeader("Allow", allow.join(", "));
        if (req.method === "OPTIONS") {
          res.status(204).end();
          return;
        }
        next(new AppError(405, "method_not_allowed", `此接口不支持 ${req.method} 请求（可用：${allow.join("、")}）`, { allow }));
      });
    }
    return router;
  }

  private async serve(route: Route<never, never>, authenticate: Authenticate, req: Request, res: Response) {
    // Errors of a documented route are JSON wherever it is mounted (the health checks are outside /api).
    res.locals.jsonErrors = true;
    const actor = authenticate(req);
    if ((route.auth ?? "session") === "session") {
      if (!actor) throw new AppError(401, "not_signed_in", "请先登录");
      if (route.roles && !route.roles.includes(actor.role)) throw forbidden();
    }
    const params = req.params as Record<string, string>;
    for (const [name, p] of Object.entries(route.params ?? {})) if (!p.pattern.test(params[name] ?? "")) throw notFound(p.what);
    for (const [name, h] of Object.entries(route.headers ?? {})) {
      const value = req.get(name);
      if (value !== undefined && !h.pattern.test(value)) throw new AppError(400, ...h.refusal);
    }
    // A form's CSRF token may come in the query (readForm); it is no parameter of the route.
    const { _csrf, ...rest } = req.query as Record<string, unknown>;
    const query = parse(route.query, route.form ? rest : req.query, "query");
    let body: unknown;
    if (route.body) {
      if (!req.is("application/json")) throw new AppError(415, "unsupported_media_type", "请求内容应为 JSON（Content-Type: application/json）");
      body = parse(route.body, req.body, "");
    }
    const result = await route.handle({ req, res, actor: actor as Actor, query: query as never, body: body as never, params });
    if (!res.headersSent) res.status(route.status ?? 200).json(result);
  }
}

/** The routes by path, in table order (the first route of a path decides where the path stands). */
function byPath(routes: Route<never, never>[]): Map<string, Route<never, never>[]> {
  const out = new Map<string, Route<never, never>[]>();
  for (const r of routes) out.set(r.path, [...(out.get(r.path) ?? []), r]);
  return out;
}

/** What `Allow` lists for a path: its methods, HEAD where GET is (express answers it), and OPTIONS. */
function allowed(routes: Route[]): string[] {
  const methods = routes.map((r) => r.method.toUpperCase());
  return [...methods, ...(methods.includes("GET") ? ["HEAD"] : []), "OPTIONS"];
}

/** The strings of `date`'s shape (digits and dashes) that sort at or before it: for YYYY-MM-DD, the dates up to it. */
export function notAfter(date: string): string {
  const shape = (rest: string) => rest.replace(/[0-9]/g, "[0-9]");
  const earlier = [...date].flatMap((c, i) => (c >= "1" && c <= "9" ? [`${date.slice(0, i)}[0-${Number(c) - 1}]${shape(date.slice(i + 1))}`] : []));
  return `^(?:${[...earlier, date].join("|")})$`;
}

function parse(schema: z.ZodType | undefined, input: unknown, prefix: string): unknown {
  if (!schema) return undefined;
  const parsed = schema.safeParse(input ?? {});
  if (!parsed.success) throw fromZod(parsed.error, prefix);
  return parsed.data;
}
