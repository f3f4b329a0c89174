/**
 * The JSON API as a table of routes: each says who may call it and the zod schemas of its query
 * and body. The same table registers the express handlers (authenticate → check role → validate
 * → one call) and generates the OpenAPI 3.1 document, so documentation and validation cannot drift.
 */
import express, { type Request, type Response } from "express";
import { z } from "zod";
import { isIsoDate, type Actor, type Role } from "../../workflows/index.ts";
import { AppError, forbidden, fromZod } from "../errors.ts";

export interface RouteContext<Q, B> {
  req: Request;
  res: Response;
  actor: Actor;
  query: Q;
  body: B;
  params: Record<string, string>;
}

export interface Route<Q = unknown, B = unknown> {
  method: "get" | "post" | "put" | "patch";
  path: string;
  summary: string;
  tag: string;
  /** Roles allowed; default: every signed-in user. */
  roles?: readonly Role[];
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /** A multipart upload instead of a JSON body (handled by the route itself). */
  multipart?: boolean;
  status?: number;
  /** What the 2xx response holds, for the document. */
  returns: string;
  handle(ctx: RouteContext<Q, B>): Promise<unknown>;
}

export const OFFICE: readonly Role[] = ["office_admin", "office_staff"];
export const ADMIN: readonly Role[] = ["office_admin"];

/** A query string value: one plain string (Express 5 never builds objects, but repeated keys make arrays). */
export const qs = (what: string) => z.string({ error: `参数 ${what} 只能出现一次` }).max(500, { error: `参数 ${what} 过长` });
export const qsDate = (what: string) => qs(what).refine(isIsoDate, { error: `参数 ${what} 应为有效日期，格式 YYYY-MM-DD` });
export const qsBool = (what: string) => z.enum(["true", "false"], { error: `参数 ${what} 应为 true 或 false` }).transform((v) => v === "true");
export const qsInt = (what: string, min: number, max: number) =>
  z
    .string({ error: `参数 ${what} 应为整数` })
    .regex(/^\d+$/, { error: `参数 ${what} 应为整数` })
    .transform(Number)
    .pipe(z.number().min(min, { error: `参数 ${what} 不能小于 ${min}` }).max(max, { error: `参数 ${what} 不能大于 ${max}` }));

type Authenticate = (req: Request) => Actor | null;

export class Api {
  readonly routes: Route<never, never>[] = [];

  add<Q, B>(route: Route<Q, B>): void {
    this.routes.push(route as unknown as Route<never, never>);
  }

  router(authenticate: Authenticate): express.Router {
    const router = express.Router();
    for (const route of this.routes) {
      router[route.method](route.path, async (req, res) => {
        const actor = authenticate(req);
        if (!actor) throw new AppError(401, "not_signed_in", "请先登录");
        if (route.roles && !route.roles.includes(actor.role)) throw forbidden();
        const query = parse(route.query, req.query, "query");
        let body: unknown;
        if (route.body) {
          if (!req.is("application/json")) throw new AppError(415, "unsupported_media_type", "请求内容应为 JSON（Content-Type: application/json）");
          body = parse(route.body, req.body, "");
        }
        const result = await route.handle({ req, res, actor, query: query as never, body: body as never, params: req.params as Record<string, string> });
        if (!res.headersSent) res.status(route.status ?? 200).json(result);
      });
    }
    return router;
  }

  /** OpenAPI 3.1, from the same routes and schemas. */
  openapi(info: { title: string; version: string }): Record<string, unknown> {
    const paths: Record<string, Record<string, unknown>> = {};
    const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: "input", unrepresentable: "any" });
    for (const r of this.routes) {
      const path = `/api${r.path.replace(/:(\w+)/g, "{$1}")}`;
      const params = [...r.path.matchAll(/:(\w+)/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: { type: "string" } }));
      const query = r.query ? (schema(r.query) as { properties?: Record<string, unknown>; required?: string[] }) : null;
      const queryParams = Object.entries(query?.properties ?? {}).map(([name, s]) => ({
        name,
        in: "query",
        required: query?.required?.includes(name) ?? false,
        schema: s,
      }));
      const op: Record<string, unknown> = {
        summary: r.summary,
        tags: [r.tag],
        parameters: [...params, ...queryParams],
        responses: {
          [String(r.status ?? 200)]: { description: r.returns },
          "4XX": { description: "错误：{error: {code, message, details}}", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } },
        },
        ...(r.roles ? { "x-roles": r.roles } : {}),
      };
      if (r.body) op.requestBody = { required: true, content: { "application/json": { schema: schema(r.body) } } };
      if (r.multipart)
        op.requestBody = {
          required: true,
          content: { "multipart/form-data": { schema: { type: "object", properties: { file: { type: "string", format: "binary" } }, required: ["file"] } } },
        };
      paths[path] = { ...paths[path], [r.method]: op };
    }
    return {
      openapi: "3.1.0",
      info,
      paths,
      components: {
        schemas: {
          Error: {
            type: "object",
            properties: {
              error: {
                type: "object",
                properties: { code: { type: "string" }, message: { type: "string" }, details: { type: "object" } },
                required: ["code", "message"],
              },
            },
          },
        },
        securitySchemes: {
          session: { type: "apiKey", in: "cookie", name: "rf.sid" },
          csrf: { type: "apiKey", in: "header", name: "X-CSRF-Token" },
        },
      },
      security: [{ session: [], csrf: [] }],
    };
  }
}

function parse(schema: z.ZodType | undefined, input: unknown, prefix: string): unknown {
  if (!schema) return undefined;
  const parsed = schema.safeParse(input ?? {});
  if (!parsed.success) throw fromZod(parsed.error, prefix);
  return parsed.data;
}
