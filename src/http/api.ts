/**
 * The JSON API as a table of routes: each says who may call it, the formats of its path ids and the
 * zod schemas of its query and body. The same table registers the express handlers (authenticate →
 * check role → check ids → validate → one call; any other method on a known path is answered 405 with
 * `Allow`) and generates the OpenAPI 3.1 document, so documentation and validation cannot drift.
 */
import express, { type NextFunction, type Request, type Response } from "express";
import type multer from "multer";
import { z } from "zod";
import { ISO_DATE, type Actor, type Role } from "../../workflows/index.ts";
import { AppError, forbidden, fromZod, notFound } from "../errors.ts";
import { assertCsrf } from "./auth.ts";
import { ERROR_CONTENT, NO_NUL, NOT_OPERATOR_KEY, SCHEMAS, ref, type PathParam } from "./contract.ts";

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
const UNSAFE = (m: Route["method"]) => m !== "get";

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

  /**
   * OpenAPI 3.1, from these routes and those of `others` (mounted elsewhere), with the same schemas.
   * `today` (in China) bounds the dates a rule compares with today (schemas marked `x-until: "today"`).
   */
  openapi(info: { title: string; version: string; description?: string }, today: string, others: Api[] = []): Record<string, unknown> {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const api of [this, ...others])
      for (const r of api.routes) {
        const path = `${api.mount}${r.path.replace(/:(\w+)/g, "{$1}")}`;
        paths[path] = { ...paths[path], [r.method]: operation(r, today) };
      }
    return {
      openapi: "3.1.0",
      info,
      paths,
      components: {
        schemas: SCHEMAS,
        securitySchemes: {
          session: { type: "apiKey", in: "cookie", name: "rf.sid", description: "登录（POST /api/auth/login）后服务器设置的会话 Cookie（HttpOnly，SameSite=Lax）" },
          csrf: {
            type: "apiKey",
            in: "header",
            name: "X-CSRF-Token",
            description: "会话的 CSRF 令牌（登录或 GET /api/me 返回的 csrfToken）；POST、PUT、PATCH 都须带上。上传文件的表单也可改放在查询参数 _csrf 中（表单内容在核对令牌之后才读取）",
          },
        },
      },
    };
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

function operation(r: Route<never, never>, today: string): Record<string, unknown> {
  const auth = r.auth ?? "session";
  const parameters = [
    ...Object.entries(r.params ?? {}).map(([name, p]) => ({ name, in: "path", required: true, description: p.description, schema: { type: "string", pattern: p.pattern.source } })),
    ...Object.entries(r.headers ?? {}).map(([name, h]) => ({ name, in: "header", required: false, description: h.description, schema: { type: "string", pattern: h.pattern.source } })),
    ...queryParameters(r.query),
    ...(r.form
      ? [{ name: "_csrf", in: "query", required: false, description: "CSRF 令牌（HTML 表单放在 action 的查询串里；也可用 X-CSRF-Token 请求头）：表单内容在核对令牌之后才读取", schema: { type: "string" } }]
      : []),
  ];
  const op: Record<string, unknown> = {
    summary: r.summary,
    tags: [r.tag],
    ...(parameters.length ? { parameters } : {}),
    security: auth === "none" ? [] : auth === "optional" ? [{}, { session: [], csrf: [] }] : UNSAFE(r.method) ? [{ session: [], csrf: [] }] : [{ session: [] }],
    responses: responses(r),
    ...(r.roles ? { "x-roles": r.roles } : {}),
  };
  const body = r.documentedBody ?? r.body;
  if (body) op.requestBody = { required: true, content: { "application/json": { schema: forTheWire(jsonSchema(body), today) } } };
  if (r.form) op.requestBody = { required: true, content: { "multipart/form-data": formBody(r.form) } };
  return op;
}

/** Each query parameter with its own schema; the query object is strict, so no other parameter is taken (422). */
function queryParameters(query: z.ZodType | undefined) {
  if (!query) return [];
  const s = jsonSchema(query) as { properties?: Record<string, { description?: string }>; required?: string[] };
  return Object.entries(s.properties ?? {}).map(([name, schema]) => ({ name, in: "query", required: s.required?.includes(name) ?? false, schema }));
}

function formBody(form: Form) {
  const fields = jsonSchema(form.fields) as { properties?: Record<string, unknown>; required?: string[] };
  return {
    schema: {
      type: "object",
      properties: { [form.file.name]: { type: "string", format: "binary", description: form.file.description }, ...fields.properties },
      required: [form.file.name, ...(fields.required ?? [])],
      additionalProperties: false,
    },
    encoding: { [form.file.name]: { contentType: form.file.types.join(", ") } },
  };
}

const statusText: Record<number, string> = {
  400: "请求格式不正确：JSON 无法解析、不是有效的 UTF-8、含 NUL 或以 $ 开头的键、嵌套过深，或上传的表单不完整、字段名不正确",
  401: "未登录或会话已过期",
  403: "无权执行：角色或单位不允许，或 CSRF 令牌缺失、不符",
  404: "不存在或无权查看（其他单位的案件、附件、通知也如此回答）",
  409: "冲突：版本已变、当前状态不允许此操作，或编号、名称已被占用",
  413: "提交的内容过大：请求体、上传文件、表单字段或 JSON 的项数超过上限",
  414: "请求地址过长（超过 8 KB）",
  415: "Content-Type 不正确",
  431: "请求头（含请求地址）过长（超过 16 KB）",
  422: "字段或参数不正确：details.fields 逐项列出 {field, message}",
  429: "登录失败次数过多，请按 Retry-After 等待后重试",
};

/** The 2xx response and every refusal the route's auth, roles, ids, query and body imply, plus its own. */
function responses(r: Route<never, never>): Record<string, unknown> {
  const ok = r.status ?? 200;
  const okContent = r.response?.types
    ? Object.fromEntries(r.response.types.map((t) => [t, { schema: { type: "string", format: "binary" } }]))
    : { "application/json": { schema: r.response?.schema ?? {} } };
  const out: Record<string, unknown> = { [ok]: { description: r.returns, content: okContent } };
  const codes = new Set<number>();
  if ((r.auth ?? "session") === "session") codes.add(401);
  if (r.roles || ((r.auth ?? "session") === "session" && UNSAFE(r.method))) codes.add(403);
  if (r.params) codes.add(404);
  // A query long enough is refused before any route: 414 past 8 KB of URL, 431 past Node's 16 KB of headers.
  if (r.query) for (const c of [414, 422, 431]) codes.add(c);
  if (r.body || r.form) for (const c of [400, 413, 415, 422]) codes.add(c);
  if (r.headers) codes.add(400);
  for (const c of Object.keys(r.errors ?? {})) codes.add(Number(c));
  for (const c of [...codes].sort()) {
    const own = r.errors?.[c];
    const reply: Reply = typeof own === "string" ? { description: own } : (own ?? { description: statusText[c] ?? "错误" });
    out[c] = {
      description: reply.description,
      content: reply.schema ? { "application/json": { schema: reply.schema } } : ERROR_CONTENT,
      ...(c === 429 ? { headers: { "Retry-After": { description: "多少秒后可再试", schema: { type: "integer", minimum: 1 } } } } : {}),
    };
  }
  return out;
}

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const out = z.toJSONSchema(schema, {
    io: "input",
    unrepresentable: "any",
    override: (ctx) => {
      const def = ctx.zodSchema._zod.def as { type: string; innerType?: z.ZodType; defaultValue?: unknown };
      const wire = WIRE.get(ctx.zodSchema) ?? (def.type === "default" && def.innerType ? WIRE.get(def.innerType) : undefined);
      if (!wire) return;
      const js = ctx.jsonSchema as Record<string, unknown>;
      delete js.pattern;
      Object.assign(js, wire, def.type === "default" ? { default: def.defaultValue } : {});
    },
  }) as Record<string, unknown>;
  delete out.$schema;
  return out;
}

/** Whether every string a pattern matches is free of NUL (anchored, and no class or wildcard that could take one). */
const excludesNul = (p: string) => p.startsWith("^") && p.endsWith("$") && !/\[\^|(?<!\\)\.|\\[SDW]/.test(p);

/**
 * A body schema as the wire must satisfy it: app.ts refuses NUL in any string or key, keys starting with
 * "$", and deep nesting in every JSON body before a route sees it, so each string says so, and what an
 * open object may carry besides its fields is any such JSON (components.schemas.Json). A date marked
 * `x-until: "today"` gets the pattern of the dates up to today.
 */
function forTheWire(node: unknown, today: string): Record<string, unknown> {
  if (typeof node !== "object" || node === null || Array.isArray(node)) return node as Record<string, unknown>;
  const s = { ...(node as Record<string, unknown>) };
  if (Object.keys(s).length === 0 || (Object.keys(s).length === 1 && "description" in s)) return { ...s, ...ref("Json") };
  const deeper = (x: unknown) => forTheWire(x, today);
  for (const key of ["items", "additionalProperties", "not", "propertyNames"]) if (typeof s[key] === "object") s[key] = deeper(s[key]);
  for (const key of ["anyOf", "oneOf", "allOf", "prefixItems"]) if (Array.isArray(s[key])) s[key] = (s[key] as unknown[]).map(deeper);
  if (s.properties) s.properties = Object.fromEntries(Object.entries(s.properties as Record<string, unknown>).map(([k, v]) => [k, deeper(v)]));
  if (s["x-until"] === "today") {
    delete s["x-until"];
    s.allOf = [...((s.allOf as unknown[]) ?? []), { pattern: notAfter(today) }];
  }
  const types = ([] as unknown[]).concat(s.type ?? []);
  if (types.includes("string") && s.enum === undefined && s.const === undefined) {
    if (typeof s.pattern !== "string") s.pattern = NO_NUL;
    else if (!excludesNul(s.pattern)) {
      // "Contains one such character" (text()'s VISIBLE) becomes one pattern: generators are slow on two patterns of one string.
      if (/^\[(?:\\.|[^\]\\])*\]$/.test(s.pattern) && !new RegExp(s.pattern).test("\u0000")) s.pattern = `^[^\\u0000]*${s.pattern}[^\\u0000]*$`;
      else s.allOf = [...((s.allOf as unknown[]) ?? []), { pattern: NO_NUL }];
    }
  }
  if (types.includes("object") && s.additionalProperties !== false) {
    s.additionalProperties ??= ref("Json");
    s.propertyNames = { pattern: NOT_OPERATOR_KEY };
  }
  return s;
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
