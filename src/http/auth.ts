/**
 * Sign-in: server-side sessions (MongoDB), a new session id at login, a CSRF token per session
 * (synchronizer: sent back in X-CSRF-Token or a form's _csrf), and login limits per account and
 * address. Messages never tell whether a username exists, and an unknown name costs the same hash.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import MongoStore from "connect-mongo";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import session from "express-session";
import type { Redis } from "ioredis";
import mongoose from "mongoose";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import { z } from "zod";
import { VISIBLE, type Actor } from "../../workflows/index.ts";
import type { UserDoc } from "../db/models.ts";
import { actorOf, findUser, verifyPassword } from "../directory.ts";
import { AppError, fromZod } from "../errors.ts";

declare module "express-session" {
  interface SessionData {
    userId?: string;
    csrf?: string;
  }
}

const SESSION_TTL_S = 8 * 3600;

export function sessions(opts: { secret: string; secureCookie: boolean }): RequestHandler {
  return session({
    name: "rf.sid",
    secret: opts.secret,
    resave: false,
    saveUninitialized: false,
    rolling: true,
    cookie: { httpOnly: true, sameSite: "lax", secure: opts.secureCookie, maxAge: SESSION_TTL_S * 1000 },
    store: sessionStore(),
  });
}

export function sessionStore(client = mongoose.connection.getClient()): MongoStore {
  return MongoStore.create({
    client: client as never,
    collectionName: "sessions",
    ttl: SESSION_TTL_S,
    // Expired sessions are never served (the store checks `expires`) and the server deletes them through
    // the TTL index that ensureIndexes builds; connect-mongo builds nothing and runs no timer of its own
    // (its interval cleanup wrote with w:0).
    autoRemove: "disabled",
    // An unchanged session's expiry is rewritten at most every 5 minutes, not on every request
    // (so an idle session ends up to 5 minutes before its cookie would).
    touchAfter: 5 * 60,
    stringify: false,
  });
}

/** Loads the signed-in user (fresh each request: a deactivated user is out at once). */
export async function loadActor(req: Request, res: Response, next: NextFunction) {
  const id = req.session?.userId;
  if (id) {
    const user = await findUser(id, { activeOnly: true });
    if (user) res.locals.actor = actorOf(user);
  }
  next();
}

export const actorOfRequest = (req: Request): Actor | null => (req.res?.locals.actor as Actor | undefined) ?? null;

export function csrfToken(req: Request): string {
  if (!req.session.csrf) req.session.csrf = randomBytes(24).toString("base64url");
  return req.session.csrf;
}

/** Compares a sent secret with the expected one in constant time; digests, so no length can throw or leak. */
export function sameSecret(sent: string, expected: string): boolean {
  const digest = (s: string) => createHash("sha256").update(s).digest();
  return expected.length > 0 && timingSafeEqual(digest(sent), digest(expected));
}

/**
 * The token a request carries: X-CSRF-Token, else a form's _csrf field; a multipart form's comes in
 * its action's query (`?_csrf=`), because the check comes before its body is read.
 */
function sentToken(req: Request): string {
  const header = req.get("x-csrf-token");
  if (header !== undefined) return header;
  if (req.is("multipart/form-data")) return typeof req.query._csrf === "string" ? req.query._csrf : "";
  return typeof req.body?._csrf === "string" ? req.body._csrf : "";
}

/** Throws unless the request carries the session's token (see sentToken). */
export function assertCsrf(req: Request): void {
  const sent = sentToken(req);
  const expected = req.session?.csrf ?? "";
  if (!sameSecret(sent, expected)) throw new AppError(403, "csrf_invalid", "页面已过期或请求来源不明，请刷新页面后重试");
}

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

/** Unsafe requests of a signed-in session must carry the session's token; before any route reads a multipart body. */
export function csrfCheck(req: Request, _res: Response, next: NextFunction) {
  if (SAFE.has(req.method) || !req.session?.userId) return next();
  assertCsrf(req);
  next();
}

export const loginSchema = z.strictObject({
  username: z.string({ error: "请输入用户名" }).max(100, { error: "用户名不能超过 100 个字符" }).regex(VISIBLE, { error: "请输入用户名" }).trim(),
  password: z.string({ error: "请输入密码" }).min(1, { error: "请输入密码" }).max(200, { error: "密码不能超过 200 个字符" }),
});

export class Login {
  private perAccount: RateLimiterAbstract;
  private perAddress: RateLimiterAbstract;

  /** `loginAttempts`: tries per account and address (and ×6 per address) in 15 minutes. */
  constructor(opts: { redis: Redis | null; loginAttempts: number }) {
    // In Redis, so every web process counts the same attempts. While Redis is unreachable each process
    // counts on its own (insuranceLimiter) rather than refusing every sign-in.
    const make = (keyPrefix: string, points: number) => {
      const memory = new RateLimiterMemory({ keyPrefix, points, duration: 15 * 60 });
      return opts.redis
        ? new RateLimiterRedis({ storeClient: opts.redis, keyPrefix, points, duration: 15 * 60, useRedisPackage: false, insuranceLimiter: memory })
        : memory;
    };
    this.perAccount = make("rf-login-user", opts.loginAttempts);
    this.perAddress = make("rf-login-ip", opts.loginAttempts * 6);
  }

  /** Checks the password; on success starts a new session. */
  async login(req: Request, input: unknown): Promise<UserDoc> {
    const parsed = loginSchema.safeParse(input);
    if (!parsed.success) throw fromZod(parsed.error);
    const { username, password } = parsed.data;
    const accountKey = `${username.toLowerCase()}|${req.ip}`;
    const addressKey = req.ip ?? "-";
    // Only failures count: a whole office signing in through one address in the morning is no attack.
    const [account, address] = await Promise.all([this.perAccount.get(accountKey), this.perAddress.get(addressKey)]);
    const blocked = [
      [account, this.perAccount.points],
      [address, this.perAddress.points],
    ].filter(([r, points]) => r && (r as RateLimiterRes).consumedPoints >= (points as number)) as [RateLimiterRes, number][];
    if (blocked.length) {
      const ms = Math.max(...blocked.map(([r]) => r.msBeforeNext));
      throw new AppError(429, "too_many_attempts", `登录失败次数过多，请 ${Math.ceil(ms / 60_000)} 分钟后再试`, { retryAfterSeconds: Math.ceil(ms / 1000) });
    }
    const user = await verifyPassword(username, password);
    if (!user) {
      await Promise.all([this.perAccount.consume(accountKey), this.perAddress.consume(addressKey)]).catch((e) => {
        if (!(e instanceof RateLimiterRes)) throw e;
      });
      throw new AppError(401, "bad_credentials", "用户名或密码错误");
    }
    await this.perAccount.delete(accountKey);
    await new Promise<void>((resolve, reject) => req.session.regenerate((err) => (err ? reject(err) : resolve())));
    req.session.userId = user._id.toString();
    csrfToken(req);
    // Saved before the reply goes out: a browser follows a redirect as soon as it has the headers,
    // which express-session sends before its own save at the end of the response has finished, so
    // the next page could look for a session not yet stored and send the user back to /login.
    await new Promise<void>((resolve, reject) => req.session.save((err) => (err ? reject(err) : resolve())));
    return user;
  }

  async logout(req: Request): Promise<void> {
    await new Promise<void>((resolve, reject) => req.session.destroy((err) => (err ? reject(err) : resolve())));
  }
}
