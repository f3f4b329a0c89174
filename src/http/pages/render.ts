/**
 * What every page shares: the signed-in user as the layout shows them, rendering inside the main
 * layout, the sign-in gate, reading posted forms, and a refused command turned into field errors.
 */
import type { NextFunction, Request, Response } from "express";
import { ROLE_LABELS, isOfficeRole, type Actor } from "../../../workflows/index.ts";
import type { z } from "zod";
import { AppError, fromZod, type FieldError } from "../../errors.ts";
import { csrfToken } from "../auth.ts";

export const actorOf = (res: Response) => res.locals.actor as Actor | undefined;

/** The user as the layout shows them: name, role in Chinese, and which navigation they get. */
export function meOf(actor: Actor | undefined) {
  if (!actor) return null;
  const isOffice = isOfficeRole(actor.role);
  return { ...actor, roleLabel: ROLE_LABELS[actor.role], isOffice, isAdmin: actor.role === "office_admin", isUnit: actor.role === "unit_user" };
}

/** Renders views/pages/<view> inside the main layout with the user, the CSRF token and the path (for the navigation). */
export function render(req: Request, res: Response, view: string, data: Record<string, unknown>, status = 200): void {
  res.status(status).render(`pages/${view}`, { ...data, me: meOf(actorOf(res)), csrf: csrfToken(req), path: `${req.baseUrl}${req.path}` });
}

/**
 * A redirect target taken from a request (`next`, `back`), followed only as a path of this site: one
 * leading "/", no "//", no backslash (browsers read "/\\host" as "//host"), no control character
 * (they drop tabs and newlines, so "/\t/host" is "//host" too), so no scheme and no other host.
 */
export function safePath(v: unknown, fallback = "/"): string {
  return typeof v === "string" && v.length <= 2048 && /^(?!.*\/\/)\/[^\\\p{Cc}]*$/u.test(v) ? v : fallback;
}

export function requireActor(req: Request, res: Response, next: NextFunction) {
  if (actorOf(res)) return next();
  res.redirect(`/login?next=${encodeURIComponent(req.originalUrl)}`);
}

export type Body = Record<string, unknown>;
export type Errors = Record<string, string>;

/** The posted form (none when the request had no body a parser took). */
export const formOf = (req: Request): Body => (req.body && typeof req.body === "object" ? (req.body as Body) : {});

/** One form value as a string (a repeated field counts by its first value). */
export function str(body: Body, key: string): string {
  const v = body[key];
  if (typeof v === "string") return v;
  if (Array.isArray(v) && typeof v[0] === "string") return v[0];
  return "";
}

/** Every value of a repeated form field (checkboxes, multiple selects). */
export function strs(body: Body, key: string): string[] {
  const v = body[key];
  return (Array.isArray(v) ? v : v === undefined ? [] : [v]).filter((x): x is string => typeof x === "string" && x !== "");
}

/**
 * A refused form: field errors keyed by form field (`toField` maps a path such as "payload.deadline"
 * or "notify.emails.0" to the field's name; `generic` words zod's own messages), or the whole message
 * under `_form`. Not-found and server errors are thrown on: they get the error page.
 */
export function refusal(
  e: unknown,
  toField: (path: string) => string = (p) => p,
  generic: Record<string, string> = {},
): { status: number; errors: Errors } {
  if (!(e instanceof AppError) || e.status >= 500 || e.status === 404) throw e;
  const errors: Errors = {};
  for (const f of (e.details.fields as FieldError[] | undefined) ?? []) {
    const field = toField(f.field);
    errors[field] ??= (f.generic && generic[field]) || f.message;
  }
  if (!Object.keys(errors).length) errors._form = e.message;
  return { status: e.status, errors };
}

/** 1536 → "1.5 KB", 2_500_000 → "2.4 MB". */
/** A list's total as shown: a capped count (listCases' totalCapped) reads "2,000+". */
export const countText = (n: number, capped: boolean) => (capped ? `${n.toLocaleString("en-US")}+` : String(n));

export function fileSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} 字节`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/**
 * A list page's query string through the API's query schema: blanks mean "any"; a parameter the schema
 * refuses (an impossible date, say) is left out and named, so the page still shows the rest.
 */
export function pageQuery<T>(schema: z.ZodType<T>, raw: Record<string, unknown>): { query: T; errors: string[] } {
  const given = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== "" && v !== undefined));
  const first = schema.safeParse(given);
  if (first.success) return { query: first.data, errors: [] };
  const bad = new Set(first.error.issues.map((i) => String(i.path[0])));
  const errors = (fromZod(first.error).details.fields as FieldError[]).map((f) => f.message);
  const second = schema.safeParse(Object.fromEntries(Object.entries(given).filter(([k]) => !bad.has(k))));
  return { query: second.success ? second.data : schema.parse({}), errors };
}
