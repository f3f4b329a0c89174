/**
 * The OpenAPI 3.1 document, generated from the route tables (api.ts) with the same zod schemas the
 * routes validate with, and the response shapes of contract.ts: documentation and validation cannot drift.
 */
import { z } from "zod";
import { UNSAFE, notAfter, wireOf, type Api, type Form, type Reply, type Route } from "./api.ts";
import { ERROR_CONTENT, NO_NUL, NOT_OPERATOR_KEY, SCHEMAS, ref } from "./contract.ts";

/**
 * The document of these route tables (each at its own mount), with the same schemas.
 * `today` (in China) bounds the dates a rule compares with today (schemas marked `x-until: "today"`).
 */
export function openapi(info: { title: string; version: string; description?: string }, today: string, apis: Api[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const api of apis)
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
      const wire = wireOf(ctx.zodSchema) ?? (def.type === "default" && def.innerType ? wireOf(def.innerType) : undefined);
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
 * A body schema as the wire must satisfy it: the request guards (guards.ts) refuse NUL in any string or key, keys starting with
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

