/**
 * The express application. Order matters: request id and logs → security headers → metrics →
 * health → body parsers (size-limited) → session → signed-in user → CSRF → routes → errors.
 * The request guards are guards.ts, the mapping of errors to responses errors.ts: this file composes.
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type { Queue } from "bullmq";
import compression from "compression";
import type { Registry } from "prom-client";
import express, { type Request, type Response } from "express";
import { create } from "express-handlebars";
import helmet from "helmet";
import type { Redis } from "ioredis";
import { pinoHttp } from "pino-http";
import type { Clock } from "../clock.ts";
import type { Config } from "../config.ts";
import type { CaseService } from "../cases/service.ts";
import { shanghaiDate } from "../../workflows/index.ts";
import { AppError } from "../errors.ts";
import { errorHandler } from "./errors.ts";
import { refuseLongUrls, refuseOperatorKeys, signInOverHttps, utf8Only } from "./guards.ts";
import { log } from "../log.ts";
import { Api } from "./api.ts";
import { openapi } from "./openapi.ts";
import { Login, actorOfRequest, csrfCheck, csrfToken, loadActor, loginSchema, sameSecret, sessions } from "./auth.ts";
import { SCHEMAS, ref } from "./contract.ts";
import { createMetrics } from "./metrics.ts";
import { adminPages } from "./pages/admin.ts";
import { channelPages } from "./pages/admin-channels.ts";
import { navCounts, pageRouter } from "./pages/index.ts";
import { render, requireActor } from "./pages/render.ts";
import { reportPages } from "./pages/reports.ts";
import { presentUser } from "./present.ts";
import { setInstantLevel } from "../notices/instant.ts";
import { setDefaultOffice } from "../notices/settings.ts";
import { adminRoutes } from "./routes/admin.ts";
import { recipientRoutes } from "./routes/recipients.ts";
import { caseRoutes } from "./routes/cases.ts";
import { ioRoutes } from "./routes/io.ts";
import { noticeRoutes } from "./routes/notices.ts";
import { pingDb } from "../db/connection.ts";
import { importLimitsOf } from "../io/rows.ts";
import { findUser } from "../directory.ts";
import { reportRoutes } from "./routes/reports.ts";
import { ledgerRoutes } from "./routes/ledger.ts";
import { ledgerKeys } from "../ledger/keys.ts";

export interface AppDeps {
  config: Config;
  clock: Clock;
  service: CaseService;
  redis: Redis | null;
  queues?: Queue[];
  /** The process's metrics registry (src/metrics.ts); request latency is added to it. Default: one of its own. */
  metrics?: Registry;
}

export function buildApi(deps: AppDeps): Api {
  const api = new Api();
  caseRoutes(api, { service: deps.service, clock: deps.clock, maxUploadBytes: deps.config.MAX_UPLOAD_MB * 1024 * 1024 });
  ioRoutes(api, { service: deps.service, clock: deps.clock, maxUploadBytes: deps.config.MAX_UPLOAD_MB * 1024 * 1024, importLimits: importLimitsOf(deps.config) });
  noticeRoutes(api, { clock: deps.clock });
  adminRoutes(api, { clock: deps.clock });
  recipientRoutes(api, { clock: deps.clock, config: deps.config, redis: deps.redis });
  reportRoutes(api, { clock: deps.clock });
  ledgerRoutes(api, { service: deps.service, verifiers: ledgerKeys(deps.config)?.verifiers ?? [], dir: deps.config.LEDGER_DIR });
  return api;
}

const INFO = {
  title: "Rectiflow API（整改流）",
  version: "1",
  description:
    "整改流的 JSON 接口。登录（POST /api/auth/login）后带会话 Cookie 调用；POST、PUT、PATCH 另须带 X-CSRF-Token。" +
    "错误一律为 {error: {code, message, details}}。查询参数只收文档列出的、每个只出现一次；JSON 请求体的字符串不能含 NUL，键不能以 $ 开头。",
};

/** Sign-in, the signed-in user and this document: under /api like the rest, for anyone or the session's user. */
export function authApi(login: Login, document: () => Record<string, unknown>): Api {
  const api = new Api();
  api.add({
    method: "post",
    path: "/auth/login",
    tag: "auth",
    summary: "登录：成功后设置会话 Cookie rf.sid（每次登录换新的会话编号），返回用户与 CSRF 令牌；同一账号和地址 15 分钟内失败次数有限",
    auth: "none",
    body: loginSchema,
    returns: "{user, csrfToken}",
    response: { schema: ref("SignedIn") },
    errors: { 401: "用户名或密码错误", 403: "COOKIE_SECURE=1 而请求未经 HTTPS 到达（https_required）", 429: "登录失败次数过多：按 Retry-After 等待后再试" },
    async handle({ req, body }) {
      const user = await login.login(req, body);
      return { user: presentUser(user), csrfToken: csrfToken(req) };
    },
  });
  api.add({
    method: "post",
    path: "/auth/logout",
    tag: "auth",
    summary: "退出登录（未登录时也答 200）",
    auth: "optional",
    returns: "{ok: true}",
    response: { schema: SCHEMAS.Health },
    errors: { 403: "已登录而 CSRF 令牌缺失或不符" },
    async handle({ req, res }) {
      await login.logout(req);
      res.clearCookie("rf.sid");
      return { ok: true };
    },
  });
  api.add({
    method: "get",
    path: "/me",
    tag: "auth",
    summary: "当前用户、角色、单位和 CSRF 令牌",
    returns: "{user, role, unitId, csrfToken}",
    response: { schema: ref("Me") },
    async handle({ req, actor }) {
      const user = await findUser(actor.id);
      if (!user) throw new AppError(401, "not_signed_in", "请先登录");
      return { user: presentUser(user), role: actor.role, unitId: actor.unitId ?? null, csrfToken: csrfToken(req) };
    },
  });
  api.add({
    method: "get",
    path: "/openapi.json",
    tag: "auth",
    summary: "本文档（OpenAPI 3.1）",
    auth: "none",
    returns: "the OpenAPI document",
    response: { schema: { type: "object" } },
    async handle() {
      return document();
    },
  });
  return api;
}

/** Liveness and readiness, for load balancers and orchestrators: no session. */
function healthApi(deps: AppDeps): Api {
  const api = new Api("");
  api.add({
    method: "get",
    path: "/healthz",
    tag: "health",
    summary: "进程存活",
    auth: "none",
    returns: "{ok: true}",
    response: { schema: ref("Health") },
    async handle() {
      return { ok: true };
    },
  });
  api.add({
    method: "get",
    path: "/readyz",
    tag: "health",
    summary: "就绪：MongoDB 与 Redis 均可达时 200，否则 503",
    auth: "none",
    returns: "{ok, checks: {mongodb, redis}}",
    response: { schema: ref("Readiness") },
    errors: { 503: { description: "MongoDB 或 Redis 不可达", schema: ref("Readiness") } },
    async handle({ res }) {
      const checks = { mongodb: false, redis: deps.redis ? false : null };
      checks.mongodb = await pingDb();
      if (deps.redis) await deps.redis.ping().then(() => (checks.redis = true), () => {});
      const ok = checks.mongodb && checks.redis !== false;
      res.status(ok ? 200 : 503).json({ ok, checks });
      return undefined;
    },
  });
  return api;
}

export function createApp(deps: AppDeps) {
  const { config } = deps;
  setDefaultOffice(config.ISSUING_OFFICE);
  setInstantLevel(config);
  const app = express();
  app.disable("x-powered-by");
  viewEngine(app);
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
      // No cookies, tokens or bodies in the logs (bodies may carry passwords and complainant identity); an upload form's token comes in its URL.
      serializers: { req: (req) => ({ id: req.id, method: req.method, url: String(req.url).replace(/([?&]_csrf=)[^&]*/, "$1…") }), res: (res) => ({ statusCode: res.statusCode }) },
      autoLogging: { ignore: (req) => req.url === "/healthz" || req.url === "/metrics" },
    }),
  );
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: { defaultSrc: ["'self'"], scriptSrc: ["'self'"], styleSrc: ["'self'", "'unsafe-inline'"], imgSrc: ["'self'", "data:"], objectSrc: ["'none'"], frameAncestors: ["'self'"], formAction: ["'self'"], upgradeInsecureRequests: null },
      },
      crossOriginEmbedderPolicy: false,
    }),
  );
  app.use(refuseLongUrls);
  const metrics = createMetrics(deps.metrics);
  app.use(metrics.observe);

  // Text assets go compressed (echarts.min.js is 1.1 MB, a third of that gzipped); streamed pages flush as they go.
  app.use(compression());
  staticAssets(app);
  app.get("/favicon.ico", (_req, res) => {
    res.status(204).end();
  });
  const health = healthApi(deps);
  app.use(health.router(() => null));
  // Metrics (in a process that also works: the ledger's size by state, the queues): for a scraper holding the token only.
  app.get("/metrics", async (req, res) => {
    if (!config.METRICS_TOKEN) throw new AppError(404, "metrics_off", "指标接口未启用（需设置 METRICS_TOKEN）");
    const sent = /^bearer\s+(\S+)$/i.exec(req.get("authorization") ?? "")?.[1] ?? "";
    if (!sameSecret(sent, config.METRICS_TOKEN)) {
      res.set("WWW-Authenticate", 'Bearer realm="metrics"');
      throw new AppError(401, "metrics_token", "需要指标接口令牌（Authorization: Bearer …）");
    }
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.use(express.json({ limit: "1mb", strict: true, verify: utf8Only }));
  app.use(express.urlencoded({ extended: false, limit: "1mb", parameterLimit: 1000 }));
  app.use(refuseOperatorKeys);
  if (config.COOKIE_SECURE) app.use(signInOverHttps);
  if (!config.SESSION_SECRET) log.warn("SESSION_SECRET is not set: sessions end when this process restarts");
  app.use(sessions({ secret: config.SESSION_SECRET ?? randomBytes(32).toString("hex"), secureCookie: config.COOKIE_SECURE }));
  app.use(loadActor);
  app.use(csrfCheck);

  const api = buildApi(deps);
  const login = new Login({ redis: deps.redis, loginAttempts: config.LOGIN_ATTEMPTS });
  const auth = authApi(login, () => openapi(INFO, shanghaiDate(deps.clock.now()), [api, auth, health]));
  app.use("/api", auth.router(actorOfRequest));
  app.use("/api", api.router(actorOfRequest));
  app.use("/api", (_req, _res, next) => next(new AppError(404, "not_found", "接口不存在")));

  app.use(navCounts(deps.clock));
  // The API reference, rendered from the OpenAPI document by swagger-ui (node_modules, no CDN).
  app.get("/api-docs", requireActor, (req, res) => {
    render(req, res, "api-docs", { title: "接口文档" });
  });
  app.use("/admin/channels", channelPages({ clock: deps.clock, config, redis: deps.redis }));
  app.use("/admin", adminPages({ clock: deps.clock, queues: deps.queues ?? [] }));
  app.use(reportPages({ clock: deps.clock }));
  app.use(pageRouter({ service: deps.service, clock: deps.clock, login, maxUploadBytes: config.MAX_UPLOAD_MB * 1024 * 1024, importLimits: importLimitsOf(config), ledgerVerifiers: ledgerKeys(config)?.verifiers ?? [], ledgerDir: config.LEDGER_DIR }));
  app.use((_req, _res, next) => next(new AppError(404, "not_found", "您访问的页面不存在，或您无权查看")));

  app.use(errorHandler);
  return app;
}

/**
 * Static files. A URL carrying the assets' version (`?v=`, which every page uses) is cached for a
 * year as immutable: a new release has a new version, so browsers fetch it anew. Others, an hour.
 */
function staticAssets(app: express.Express) {
  const require = createRequire(import.meta.url);
  const versioned = (res: Response) => {
    if (typeof (res.req as Request).query?.v === "string") res.setHeader("Cache-Control", "public, max-age=31536000, immutable");
  };
  const opts = { maxAge: "1h", setHeaders: versioned };
  app.use("/static", express.static(fileURLToPath(new URL("../../public/", import.meta.url)), opts));
  app.get("/static/echarts.min.js", (req, res) => {
    const v = typeof req.query.v === "string";
    res.sendFile(require.resolve("echarts/dist/echarts.min.js"), { maxAge: v ? "365d" : "1h", immutable: v });
  });
  app.use("/static/swagger-ui", express.static(require.resolve("swagger-ui-dist/package.json").replace(/package\.json$/, ""), { ...opts, index: false }));
}

/** A version of the static assets: a hash of the public files and the packages served from node_modules. */
function assetVersion(): string {
  const h = createHash("sha256");
  const pub = fileURLToPath(new URL("../../public/", import.meta.url));
  for (const f of readdirSync(pub).sort()) h.update(f).update(readFileSync(`${pub}${f}`));
  const require = createRequire(import.meta.url);
  for (const pkg of ["echarts", "swagger-ui-dist"]) h.update(String((require(`${pkg}/package.json`) as { version: string }).version));
  return h.digest("hex").slice(0, 10);
}

/** Handlebars with the few helpers the views need; `{{ }}` escapes everything. */
function viewEngine(app: express.Express) {
  const root = fileURLToPath(new URL("../../views/", import.meta.url));
  const hbs = create({
    extname: ".hbs",
    defaultLayout: "main",
    layoutsDir: `${root}layouts`,
    partialsDir: `${root}partials`,
    helpers: {
      eq: (a: unknown, b: unknown) => String(a ?? "") === String(b ?? ""),
      isNumber: (a: unknown) => typeof a === "number",
      startsWith: (a: unknown, b: string) => typeof a === "string" && a.startsWith(b),
      includes: (list: unknown, x: unknown) => (Array.isArray(list) ? list.includes(x) : list === x),
      datetime: (d: unknown) => (d ? new Date(d as string).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false }) : ""),
      percent: (r: unknown) => (typeof r === "number" ? `${Math.round(r * 1000) / 10}%` : "—"),
      lightLabel: (l: string) => ({ red: "超期", yellow: "已预警或滞后", green: "正常" })[l] ?? "",
      braces: (name: unknown) => `{${String(name)}}`,
    },
  });
  app.engine(".hbs", hbs.engine);
  app.locals.v = assetVersion();
  // Compiled templates are kept (express only does so by itself when NODE_ENV=production).
  if (process.env.NODE_ENV !== "development") app.enable("view cache");
  app.set("view engine", ".hbs");
  app.set("views", root);
}
