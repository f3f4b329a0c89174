/**
 * The express application. Order matters: request id and logs → security headers → metrics →
 * health → body parsers (size-limited) → session → signed-in user → CSRF → routes → errors.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { Queue } from "bullmq";
import express, { type NextFunction, type Request, type Response } from "express";
import helmet from "helmet";
import type { Redis } from "ioredis";
import mongoose from "mongoose";
import { pinoHttp } from "pino-http";
import type { Clock } from "../clock.ts";
import type { Config } from "../config.ts";
import type { CaseService } from "../cases/service.ts";
import { AppError } from "../errors.ts";
import { log } from "../log.ts";
import { Api } from "./api.ts";
import { Login, actorOfRequest, csrfCheck, csrfToken, loadActor, sessions } from "./auth.ts";
import { createMetrics } from "./metrics.ts";
import { presentUser } from "./present.ts";
import { adminRoutes } from "./routes/admin.ts";
import { caseRoutes } from "./routes/cases.ts";
import { noticeRoutes } from "./routes/notices.ts";
import { User, type UserDoc } from "../db/models.ts";

export interface AppDeps {
  config: Config;
  clock: Clock;
  service: CaseService;
  redis: Redis | null;
  queues?: Queue[];
}

export function buildApi(deps: AppDeps): Api {
  const api = new Api();
  caseRoutes(api, { service: deps.service, clock: deps.clock, maxUploadBytes: deps.config.MAX_UPLOAD_MB * 1024 * 1024 });
  noticeRoutes(api, { clock: deps.clock, office: deps.config.ISSUING_OFFICE });
  adminRoutes(api);
  return api;
}

export function createApp(deps: AppDeps) {
  const { config } = deps;
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", config.TRUST_PROXY);
  app.set("query parser", "simple");

  app.use(
    pinoHttp({
      logger: log,
      genReqId: (req, res) => {
        const id = (typeof req.headers["x-request-id"] === "string" && /^[\w-]{1,64}$/.test(req.headers["x-request-id"]) && req.headers["x-request-id"]) || randomUUID();
        res.setHeader("X-Request-Id", id);
        return id;
      },
      // No cookies, tokens or bodies in the logs (bodies may carry passwords and complainant identity).
      serializers: { req: (req) => ({ id: req.id, method: req.method, url: req.url }), res: (res) => ({ statusCode: res.statusCode }) },
      autoLogging: { ignore: (req) => req.url === "/healthz" || req.url === "/metrics" },
    }),
  );
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: { defaultSrc: ["'self'"], scriptSrc: ["'self'"], styleSrc: ["'self'", "'unsafe-inline'"], imgSrc: ["'self'", "data:"], objectSrc: ["'none'"], frameAncestors: ["'self'"], formAction: ["'self'"] },
      },
      crossOriginEmbedderPolicy: false,
    }),
  );
  const metrics = createMetrics(deps.queues);
  app.use(metrics.observe);

  app.get("/healthz", (_req, res) => {
    res.json({ ok: true });
  });
  app.get("/readyz", async (_req, res) => {
    const checks = { mongodb: false, redis: deps.redis ? false : null };
    await mongoose.connection.db?.admin().ping().then(() => (checks.mongodb = true), () => {});
    if (deps.redis) await deps.redis.ping().then(() => (checks.redis = true), () => {});
    const ok = checks.mongodb && checks.redis !== false;
    res.status(ok ? 200 : 503).json({ ok, checks });
  });
  app.get("/metrics", async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.use(express.json({ limit: "1mb", strict: true }));
  app.use(express.urlencoded({ extended: false, limit: "1mb" }));
  if (!config.SESSION_SECRET) log.warn("SESSION_SECRET is not set: sessions end when this process restarts");
  app.use(sessions({ secret: config.SESSION_SECRET ?? randomBytes(32).toString("hex"), secureCookie: config.COOKIE_SECURE }));
  app.use(loadActor);
  app.use(csrfCheck);

  const api = buildApi(deps);
  const login = new Login({ redis: deps.redis, loginAttempts: config.LOGIN_ATTEMPTS });
  app.post("/api/auth/login", async (req, res) => {
    if (!req.is("application/json")) throw new AppError(415, "unsupported_media_type", "请求内容应为 JSON（Content-Type: application/json）");
    const user = await login.login(req, req.body);
    res.json({ user: presentUser(user), csrfToken: csrfToken(req) });
  });
  app.post("/api/auth/logout", async (req, res) => {
    await login.logout(req);
    res.clearCookie("rf.sid").json({ ok: true });
  });
  app.get("/api/me", async (req, res) => {
    const actor = actorOfRequest(req);
    if (!actor) throw new AppError(401, "not_signed_in", "请先登录");
    const user = await User.findById(actor.id).lean<UserDoc>();
    res.json({ user: presentUser(user!), role: actor.role, unitId: actor.unitId ?? null, csrfToken: csrfToken(req) });
  });
  app.get("/api/openapi.json", (_req, res) => {
    res.json(api.openapi({ title: "Rectiflow API（整改流）", version: "1" }));
  });
  app.use("/api", api.router(actorOfRequest));
  app.use("/api", (_req, _res, next) => next(new AppError(404, "not_found", "接口不存在")));

  app.use(errorHandler);
  return app;
}

/** Every error becomes `{error: {code, message, details}}` here, and nowhere else. */
function errorHandler(err: unknown, req: Request, res: Response, _next: NextFunction) {
  const e = toAppError(err);
  if (e.status >= 500) req.log?.error({ err }, "request failed");
  if (res.headersSent) return;
  if (e.status === 429 && typeof e.details.retryAfterSeconds === "number") res.setHeader("Retry-After", String(e.details.retryAfterSeconds));
  res.status(e.status).json({ error: { code: e.code, message: e.message, details: e.details } });
}

function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const e = err as { type?: string; status?: number; code?: string };
  if (e?.type === "entity.too.large" || e?.code === "LIMIT_FILE_SIZE") return new AppError(413, "payload_too_large", "提交的内容过大");
  if (e?.type === "entity.parse.failed") return new AppError(400, "malformed_json", "请求内容不是有效的 JSON");
  if (e?.code?.startsWith?.("LIMIT_")) return new AppError(400, "bad_upload", "上传格式不正确：一次上传一个文件，字段名为 file");
  if (e?.type === "charset.unsupported" || e?.type === "encoding.unsupported") return new AppError(415, "unsupported_media_type", "不支持的字符集或编码");
  if (typeof e?.status === "number" && e.status >= 400 && e.status < 500) return new AppError(e.status, "bad_request", "请求格式不正确");
  return new AppError(500, "internal", "系统内部错误，请稍后重试");
}
