/**
 * The 管理 pages of the office administrator: units, users, the escalation ladder, the holiday
 * calendar and a read-only look at the queues. Server-rendered, no JavaScript needed; forms post
 * back with the session's CSRF token and follow post/redirect/get. Validation is the services'
 * (createUnit, createUser, updateUser, updateRule: the API's rules too); a refused form is shown
 * again with the Chinese message beside the field and the input kept.
 */
import type { Job, Queue } from "bullmq";
import express, { type Request, type Response } from "express";
import { ANCHOR_LABELS, HOLDER_LABELS, HOLDERS, KIND_LABELS, LEVEL_LABELS, LEVELS, ROLE_LABELS, stateLabel, type CaseKind, type Level, type NoticeRule, type Trigger } from "../../../workflows/index.ts";
import { addEnteredYear, addOverride, countOverrides, deleteEnteredYear, deleteOverride, listEnteredYears, listOverrides } from "../../calendar/overrides.ts";
import { COVERED_YEARS, loadCalendar, missingYears } from "../../calendar/workdays.ts";
import type { Clock } from "../../clock.ts";
import type { UserDoc } from "../../db/models.ts";
import {
  createUnit,
  createUser,
  directoryCounts,
  endSessions,
  findUser,
  listUnits,
  listUsers,
  newUnitSchema,
  newUserSchema,
  unitExists,
  updateUnit,
  updateUser,
} from "../../directory.ts";
import { AppError, fromZod, invalid, notFound } from "../../errors.ts";
import { loadRules, updateRule } from "../../notices/rules.ts";
import { VERIFICATION_TERMS, loadSettings, updateSettings } from "../../notices/settings.ts";
import { PLACEHOLDERS, loadTexts, preview, updateText } from "../../notices/texts.ts";
import { assertCsrf, csrfToken } from "../auth.ts";
import { actorOf, formOf, meOf, refusal as refuseForm, str, type Body, type Errors } from "./render.ts";

export interface AdminPageDeps {
  clock: Clock;
  /** The BullMQ queues this process holds (none in a web-only process). */
  queues: Queue[];
}

const ROLE_CHOICES = ["office_admin", "office_staff", "unit_user", "leader"] as const;
const RECIPIENT_LABELS: Record<string, string> = { unit: "责任单位", unit_head: "责任单位主要负责人", office: "整改办", leader: "分管领导" };
const DAY_UNIT_LABELS: Record<string, string> = { workday: "工作日", calendar: "自然日" };
const QUEUE_LABELS: Record<string, string> = { "notice-sweep": "通知巡检", "notice-delivery": "通知投递" };
/** Job and scheduler names as people say them (delivery jobs are named by their channel). */
const JOB_LABELS: Record<string, string> = { sweep: "巡检", inbox: "站内投递", email: "邮件投递", webhook: "推送投递", wecom: "企业微信投递", dingtalk: "钉钉投递", feishu: "飞书投递", sms: "短信投递" };
const TIME_ZONES: Record<string, string> = { "Asia/Shanghai": "北京时间" };
const JOB_STATES = [
  ["waiting", "等待"],
  ["active", "执行中"],
  ["delayed", "延迟"],
  ["completed", "已完成"],
  ["failed", "失败"],
] as const;

export const TABS = [
  ["/admin", "概览"],
  ["/admin/units", "单位"],
  ["/admin/users", "用户"],
  ["/admin/channels", "接收渠道"],
  ["/admin/rules", "预警督办规则"],
  ["/admin/texts", "通知文本"],
  ["/admin/settings", "系统设置"],
  ["/admin/holidays", "节假日"],
  ["/admin/queues", "队列"],
] as const;

/** Messages after a successful post (post/redirect/get: `?done=<key>`). */
const DONE: Record<string, string> = {
  unit_created: "已新增单位",
  unit_saved: "已保存单位",
  user_created: "已新增用户",
  user_saved: "已保存用户",
  password_reset: "已重置密码，该用户的其他登录会话已退出",
  user_deactivated: "已停用用户，其登录会话已退出",
  user_activated: "已启用用户",
  rule_saved: "已保存规则（各案件下次计算提醒时间时生效）",
  text_saved: "已保存通知文本（此后发出的通知使用新文字）",
  settings_saved: "已保存系统设置（此后发出的通知使用）",
  override_added: "已添加日历调整",
  override_deleted: "已删除日历调整",
  year_added: "已标记该年度已录入",
  year_deleted: "已取消该年度的录入标记",
};

/** "a、b，c" → ["a", "b", "c"] (aliases: commas, 、 or new lines; e-mails also spaces and semicolons). */
const splitList = (s: string, spaces = false) =>
  s
    .split(spaces ? /[,，、;；\s]+/ : /[,，、;；\r\n]+/)
    .map((x) => x.trim())
    .filter(Boolean);
const checked = (body: Body, key: string) => ["on", "true", "1"].includes(str(body, key));

/** Chinese words for the schema messages that have none (zod's own length/format messages). */
const FALLBACK: Record<string, string> = {
  name: "单位名称不超过 100 字",
  shortName: "简称不超过 50 字",
  aliases: "别名每个不超过 100 字，最多 20 个",
  emails: "电子邮箱格式不正确，最多 20 个",
  webhookUrl: "推送地址应为 http(s) 网址",
  webhookSecret: "推送签名密钥 16–200 位",
  username: "用户名应为 2–40 位字母、数字、下划线、点或连字符",
  displayName: "姓名不超过 50 字",
  password: "密码 8–200 位",
  role: "角色不正确",
  unitId: "所选单位不存在或已停用",
  points: "扣分应为 -10 到 0 之间的数",
  replyDays: "签收或报送期限应为 1–30 个工作日",
  clause: "条款依据不超过 500 字",
  note: "备注不超过 200 字",
};

/** A refused form, its fields named as the form names them ("notify.emails.0" → "emails" by `toField`). */
const refusal = (e: unknown, toField: (path: string) => string = (p) => p.split(".")[0]!) => {
  if (e instanceof AppError && e.status === 403) throw e;
  return refuseForm(e, toField, FALLBACK);
};

/** A promise that gives up after `ms` (a hung Redis must not hang the page). */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${ms / 1000} 秒内无响应`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** "期限前 5 个工作日", "期限后 0 个自然日", "滞后于序时进度 20 个百分点". */
export function triggerText(t: Trigger): string {
  if ("behindSchedule" in t) return `滞后于序时进度 ${t.marginPoints} 个百分点`;
  return `${ANCHOR_LABELS[t.anchor] ?? t.anchor}${t.direction === "before" ? "前" : "后"} ${t.days} 个${DAY_UNIT_LABELS[t.unit] ?? t.unit}`;
}

export function adminPages(deps: AdminPageDeps): express.Router {
  const router = express.Router();

  router.use((req, res, next) => {
    const actor = actorOf(res);
    if (!actor) return res.redirect(`/login?next=${encodeURIComponent(req.originalUrl)}`);
    if (actor.role !== "office_admin") throw new AppError(403, "forbidden", "只有整改办管理员可以进入管理页面");
    next();
  });

  /** Renders views/pages/admin/<view> in the main layout, with the admin's tabs and a flash message. */
  const page = (req: Request, res: Response, view: string, data: Record<string, unknown>, status = 200, failedAt: string | null = null) => {
    const actor = actorOf(res)!;
    const path = `${req.baseUrl}${req.path}`.replace(/\/$/, "");
    const done = typeof req.query.done === "string" && Object.hasOwn(DONE, req.query.done) ? DONE[req.query.done] : undefined;
    res.status(status).render(`pages/admin/${view}`, {
      ...data,
      tabs: TABS.map(([href, label]) => ({ href, label, on: href === path })),
      flash: status === 200 ? (done ?? null) : null,
      failed: status >= 400,
      failedAt,
      me: meOf(actor),
      csrf: csrfToken(req),
      path,
    });
  };

  // ---------------------------------------------------------------- overview

  router.get("/", async (req, res) => {
    const [counts, rules, overrides, years] = await Promise.all([directoryCounts(), loadRules(), countOverrides(), listEnteredYears()]);
    page(req, res, "index", {
      title: "管理",
      ...counts,
      rules: rules.length,
      enabledRules: rules.filter((r) => r.enabled).length,
      overrides,
      years: years.map((y) => y.year).join("、"),
      covered: coveredText(),
      queues: deps.queues.length,
    });
  });

  // ---------------------------------------------------------------- units

  interface UnitForm {
    add?: { values: Body; errors: Errors };
    edit?: { id: string; values: Body; errors: Errors };
  }

  async function showUnits(req: Request, res: Response, form: UnitForm = {}, status = 200) {
    const units = await listUnits({ order: "active" });
    const rows = units.map((u) => {
      const id = u._id.toString();
      const editing = form.edit?.id === id ? form.edit : null;
      const saved = {
        shortName: u.shortName ?? "",
        aliases: (u.aliases ?? []).join("、"),
        emails: (u.notify?.emails ?? []).join(", "),
        webhookUrl: u.notify?.webhookUrl ?? "",
        active: u.active ? "on" : "",
      };
      return {
        id,
        name: u.name,
        shortName: u.shortName ?? "",
        aliases: (u.aliases ?? []).join("、"),
        active: u.active,
        emails: (u.notify?.emails ?? []).join(", "),
        webhook: !!u.notify?.webhookUrl,
        secretSet: !!u.notify?.webhookSecret,
        values: editing ? editing.values : saved,
        errors: editing?.errors ?? {},
        open: !!editing,
      };
    });
    page(req, res, "units", { title: "单位管理", rows, add: form.add ?? { values: {}, errors: {} } }, status, form.edit ? `unit-${form.edit.id}` : "add-unit");
  }

  const unitField = (path: string) => {
    const [head, second] = path.split(".");
    return head === "notify" ? (second ?? "emails") : head!;
  };

  router.get("/units", async (req, res) => {
    await showUnits(req, res);
  });

  router.post("/units", async (req, res) => {
    assertCsrf(req);
    const body = formOf(req);
    try {
      await createUnit({
        name: str(body, "name"),
        shortName: str(body, "shortName").trim() || undefined,
        aliases: splitList(str(body, "aliases")),
        notify: {
          emails: splitList(str(body, "emails"), true),
          webhookUrl: str(body, "webhookUrl").trim() || null,
          webhookSecret: str(body, "webhookSecret") || null,
        },
      });
      res.redirect(303, "/admin/units?done=unit_created");
    } catch (e) {
      const { status, errors } = refusal(e, unitField);
      await showUnits(req, res, { add: { values: { ...body, webhookSecret: "" }, errors } }, status);
    }
  });

  const unitEdit = newUnitSchema.pick({ shortName: true, aliases: true, notify: true }).strict();

  router.post("/units/:id", async (req, res) => {
    assertCsrf(req);
    const id = String(req.params.id);
    if (!(await unitExists(id))) throw notFound("单位");
    const body = formOf(req);
    const secret = str(body, "webhookSecret");
    try {
      const parsed = unitEdit.safeParse({
        shortName: str(body, "shortName"),
        aliases: splitList(str(body, "aliases")),
        notify: { emails: splitList(str(body, "emails"), true), webhookUrl: str(body, "webhookUrl").trim() || null, webhookSecret: secret || null },
      });
      if (!parsed.success) throw fromZod(parsed.error);
      const { shortName, aliases, notify } = parsed.data;
      const set: Record<string, unknown> = { aliases, "notify.emails": notify.emails, "notify.webhookUrl": notify.webhookUrl, active: checked(body, "active") };
      // A blank secret leaves the stored one alone; only the box clears it.
      if (secret) set["notify.webhookSecret"] = notify.webhookSecret;
      else if (checked(body, "clearSecret")) set["notify.webhookSecret"] = null;
      if (shortName) set.shortName = shortName;
      await updateUnit(id, set, shortName ? [] : ["shortName"]);
      res.redirect(303, "/admin/units?done=unit_saved");
    } catch (e) {
      const { status, errors } = refusal(e, unitField);
      await showUnits(req, res, { edit: { id, values: { ...body, webhookSecret: "" }, errors } }, status);
    }
  });

  // ---------------------------------------------------------------- users

  interface UserForm {
    add?: { values: Body; errors: Errors };
    row?: { id: string; action: "edit" | "password" | "active"; values: Body; errors: Errors };
  }

  async function showUsers(req: Request, res: Response, form: UserForm = {}, status = 200) {
    const [users, units] = await Promise.all([listUsers(), listUnits()]);
    const names = new Map(units.map((u) => [u._id.toString(), u.name]));
    const me = actorOf(res)!.id;
    const rank = (u: UserDoc) => (u.active ? 0 : 10) + ROLE_CHOICES.indexOf(u.role as (typeof ROLE_CHOICES)[number]);
    const rows = users.sort((a, b) => rank(a) - rank(b)).map((u) => {
      const id = u._id.toString();
      const row = form.row?.id === id ? form.row : null;
      return {
        id,
        username: u.username,
        displayName: u.displayName,
        roleLabel: ROLE_LABELS[u.role] ?? u.role,
        unit: u.unitId ? (names.get(u.unitId) ?? "（单位不存在）") : "",
        active: u.active,
        self: id === me,
        edit: row?.action === "edit" ? { values: row.values, errors: row.errors, open: true } : { values: { displayName: u.displayName, role: u.role, unitId: u.unitId ?? "" }, errors: {}, open: false },
        password: row?.action === "password" ? { errors: row.errors, open: true } : { errors: {}, open: false },
        activeError: row?.action === "active" ? (row.errors.active ?? row.errors._form) : null,
      };
    });
    page(
      req,
      res,
      "users",
      {
        title: "用户管理",
        rows,
        roles: ROLE_CHOICES.map((r) => ({ value: r, label: ROLE_LABELS[r] })),
        units: units.filter((u) => u.active).map((u) => ({ id: u._id.toString(), name: u.name })),
        add: form.add ?? { values: { role: "unit_user" }, errors: {} },
      },
      status,
      form.row ? `user-${form.row.id}` : "add-user",
    );
  }

  router.get("/users", async (req, res) => {
    await showUsers(req, res);
  });

  router.post("/users", async (req, res) => {
    assertCsrf(req);
    const body = formOf(req);
    try {
      await createUser({ username: str(body, "username"), displayName: str(body, "displayName"), password: str(body, "password"), role: str(body, "role") as never, unitId: str(body, "unitId") || null });
      res.redirect(303, "/admin/users?done=user_created");
    } catch (e) {
      const { status, errors } = refusal(e);
      await showUsers(req, res, { add: { values: { ...body, password: "" }, errors } }, status);
    }
  });

  async function targetUser(req: Request) {
    const user = await findUser(String(req.params.id));
    if (!user) throw notFound("用户");
    return user;
  }

  const userEdit = newUserSchema.pick({ displayName: true, role: true, unitId: true }).strict();

  /** Name, role and unit, by updateUser's rules (as PATCH /api/users). */
  router.post("/users/:id", async (req, res) => {
    assertCsrf(req);
    const user = await targetUser(req);
    const id = user._id.toString();
    const body = formOf(req);
    try {
      const parsed = userEdit.safeParse({ displayName: str(body, "displayName"), role: str(body, "role"), unitId: str(body, "unitId") || null });
      if (!parsed.success) throw fromZod(parsed.error);
      await updateUser(actorOf(res)!, id, parsed.data);
      res.redirect(303, "/admin/users?done=user_saved");
    } catch (e) {
      const { status, errors } = refusal(e);
      await showUsers(req, res, { row: { id, action: "edit", values: body, errors } }, status);
    }
  });

  router.post("/users/:id/password", async (req, res) => {
    assertCsrf(req);
    const user = await targetUser(req);
    const id = user._id.toString();
    try {
      const parsed = newUserSchema.pick({ password: true }).safeParse({ password: str(formOf(req), "password") });
      if (!parsed.success) throw fromZod(parsed.error);
      await updateUser(actorOf(res)!, id, parsed.data);
      await endSessions(id, req.sessionID);
      res.redirect(303, "/admin/users?done=password_reset");
    } catch (e) {
      const { status, errors } = refusal(e);
      await showUsers(req, res, { row: { id, action: "password", values: {}, errors } }, status);
    }
  });

  router.post("/users/:id/active", async (req, res) => {
    assertCsrf(req);
    const user = await targetUser(req);
    const id = user._id.toString();
    const active = str(formOf(req), "active") === "true";
    try {
      await updateUser(actorOf(res)!, id, { active });
      if (!active) await endSessions(id, req.sessionID);
      res.redirect(303, `/admin/users?done=${active ? "user_activated" : "user_deactivated"}`);
    } catch (e) {
      const { status, errors } = refusal(e);
      await showUsers(req, res, { row: { id, action: "active", values: {}, errors } }, status);
    }
  });

  // ---------------------------------------------------------------- rules

  async function showRules(req: Request, res: Response, form?: { id: string; values: Body; errors: Errors }, status = 200) {
    const rules = await loadRules();
    const order = (r: NoticeRule) => `${r.kind === "inspection" ? 0 : 1}-${String(Object.keys(LEVEL_LABELS).indexOf(r.level)).padStart(2, "0")}`;
    const rows = rules
      .sort((a, b) => order(a).localeCompare(order(b)))
      .map((r) => {
        const editing = form?.id === r.id ? form : null;
        const v = (k: string, saved: unknown) => (editing ? str(editing.values, k) : String(saved ?? ""));
        return {
          id: r.id,
          levelLabel: LEVEL_LABELS[r.level as Level] ?? r.level,
          kindLabel: KIND_LABELS[r.kind] ?? r.kind,
          states: r.states.map((s) => stateLabel(r.kind as CaseKind, s)).join("、"),
          triggers: r.triggers.map(triggerText),
          recipients: r.recipients.map((x) => RECIPIENT_LABELS[x] ?? x).join("、"),
          holders: r.holders.map((h) => HOLDER_LABELS[h]).join("、"),
          holderChoices: HOLDERS.map((h) => ({ value: h, label: HOLDER_LABELS[h], checked: editing ? [editing.values.holders].flat().includes(h) : r.holders.includes(h) })),
          points: r.points,
          clause: r.clause ?? "",
          enabled: r.enabled,
          open: !!editing,
          errors: editing?.errors ?? {},
          fields: r.triggers.map((t, i) =>
            "behindSchedule" in t
              ? { i, behind: true, margin: v(`t${i}_margin`, t.marginPoints), error: editing?.errors[`t${i}`] }
              : { i, behind: false, label: `${ANCHOR_LABELS[t.anchor] ?? t.anchor}${t.direction === "before" ? "前" : "后"}`, days: v(`t${i}_days`, t.days), unit: v(`t${i}_unit`, t.unit), error: editing?.errors[`t${i}`] },
          ),
          values: { points: v("points", r.points), clause: v("clause", r.clause), enabled: editing ? checked(editing.values, "enabled") : r.enabled },
        };
      });
    page(req, res, "rules", { title: "预警督办规则", rows }, status, form ? `rule-${form.id}` : null);
  }

  router.get("/rules", async (req, res) => {
    await showRules(req, res);
  });

  router.post("/rules/:id", async (req, res) => {
    assertCsrf(req);
    const id = String(req.params.id);
    // loadRules seeds the defaults into an empty ledger, as the page that showed the form did.
    const rule = (await loadRules()).find((r) => r.id === id);
    if (!rule) throw notFound("预警规则");
    const body = formOf(req);
    try {
      // The numbers are read here (a blank is not 0); the rule's own schema checks them again.
      const fields: { field: string; message: string }[] = [];
      const triggers = rule.triggers.map((t, i): Trigger => {
        if ("behindSchedule" in t) {
          const margin = str(body, `t${i}_margin`).trim();
          const n = Number(margin);
          if (!/^\d+(\.\d+)?$/.test(margin) || n > 100) fields.push({ field: `t${i}`, message: "百分点应为 0–100 的数" });
          return { behindSchedule: true, marginPoints: n };
        }
        const days = str(body, `t${i}_days`).trim();
        const unit = str(body, `t${i}_unit`);
        if (!/^\d{1,3}$/.test(days) || Number(days) > 365) fields.push({ field: `t${i}`, message: "天数应为 0–365 的整数" });
        else if (unit !== "workday" && unit !== "calendar") fields.push({ field: `t${i}`, message: "应为工作日或自然日" });
        return { anchor: t.anchor, direction: t.direction, days: Number(days), unit: unit as "workday" };
      });
      const pointsText = str(body, "points").trim();
      if (!/^-?\d+(\.\d+)?$/.test(pointsText)) fields.push({ field: "points", message: "扣分应为数字（0 或负数）" });
      if (fields.length) throw invalid(fields);
      const holders = [body.holders].flat().filter((h): h is string => typeof h === "string");
      await updateRule(id, { triggers, holders, points: Number(pointsText), clause: str(body, "clause").trim(), enabled: checked(body, "enabled") }, actorOf(res)!);
      res.redirect(303, "/admin/rules?done=rule_saved");
    } catch (e) {
      const { status, errors } = refusal(e, (p) => {
        const m = /^triggers\.(\d+)/.exec(p);
        return m ? `t${m[1]}` : p.split(".")[0]!;
      });
      await showRules(req, res, { id, values: body, errors }, status);
    }
  });

  // ---------------------------------------------------------------- texts

  async function showTexts(req: Request, res: Response, form?: { level: string; values: Body; errors: Errors; preview?: unknown }, status = 200) {
    const [texts, rules] = await Promise.all([loadTexts(), loadRules()]);
    const rows = LEVELS.map((level) => {
      const editing = form?.level === level ? form : null;
      const t = texts[level];
      const kinds = [...new Set(rules.filter((r) => r.level === level).map((r) => KIND_LABELS[r.kind]))];
      return {
        level,
        label: LEVEL_LABELS[level],
        kinds: kinds.length ? `用于：${kinds.join("、")}` : "用于：手工发出",
        values: editing ? { title: str(editing.values, "title"), body: str(editing.values, "body"), replyDays: str(editing.values, "replyDays") } : { title: t.title, body: t.body, replyDays: t.replyDays },
        errors: editing?.errors ?? {},
        preview: editing?.preview ?? null,
      };
    });
    page(req, res, "texts", { title: "通知文本", rows, placeholders: PLACEHOLDERS }, status, form && status >= 400 ? `text-${form.level}` : null);
  }

  /** The posted text, as updateText and preview take it (a blank or non-numeric day count is refused by their schema). */
  const textInput = (body: Body) => {
    const days = str(body, "replyDays").trim();
    return { title: str(body, "title"), body: str(body, "body"), replyDays: /^\d{1,3}$/.test(days) ? Number(days) : days === "" ? undefined : Number.NaN };
  };

  router.get("/texts", async (req, res) => {
    await showTexts(req, res);
  });

  router.post("/texts/:level/preview", async (req, res) => {
    assertCsrf(req);
    const level = String(req.params.level);
    const body = formOf(req);
    if (!(LEVELS as readonly string[]).includes(level)) throw notFound("通知类别");
    try {
      const settings = await loadSettings();
      const shown = preview(level, textInput(body), { office: settings.signer, calendar: await loadCalendar(), issuedAt: deps.clock.now() });
      await showTexts(req, res, { level, values: body, errors: {}, preview: { ...shown, to: `${shown.samples[0]?.to ?? ""}：` } });
    } catch (e) {
      const { status, errors } = refusal(e);
      await showTexts(req, res, { level, values: body, errors }, status);
    }
  });

  router.post("/texts/:level", async (req, res) => {
    assertCsrf(req);
    const level = String(req.params.level);
    const body = formOf(req);
    try {
      await updateText(level, textInput(body), actorOf(res)!);
      res.redirect(303, `/admin/texts?done=text_saved#text-${level}`);
    } catch (e) {
      const { status, errors } = refusal(e);
      await showTexts(req, res, { level, values: body, errors }, status);
    }
  });

  // ---------------------------------------------------------------- settings

  async function showSettings(req: Request, res: Response, form?: { values: Body; errors: Errors }, status = 200) {
    const saved = await loadSettings();
    page(req, res, "settings", { title: "系统设置", values: form?.values ?? saved, errors: form?.errors ?? {}, terms: VERIFICATION_TERMS }, status);
  }

  router.get("/settings", async (req, res) => {
    await showSettings(req, res);
  });

  router.post("/settings", async (req, res) => {
    assertCsrf(req);
    const body = formOf(req);
    try {
      const keys = ["issuerMark", "signer", "contactName", "contactPhone", "cc", "verificationTerm"] as const;
      await updateSettings(Object.fromEntries(keys.map((k) => [k, str(body, k)])), actorOf(res)!);
      res.redirect(303, "/admin/settings?done=settings_saved");
    } catch (e) {
      const { status, errors } = refusal(e);
      await showSettings(req, res, { values: body, errors }, status);
    }
  });

  // ---------------------------------------------------------------- holidays

  interface HolidayForm {
    override?: { values: Body; errors: Errors };
    year?: { values: Body; errors: Errors };
  }

  async function showHolidays(req: Request, res: Response, form: HolidayForm = {}, status = 200) {
    const [overrides, years] = await Promise.all([listOverrides(), listEnteredYears()]);
    const perYear = new Map<number, number>();
    for (const o of overrides) perYear.set(Number(o.date.slice(0, 4)), (perYear.get(Number(o.date.slice(0, 4))) ?? 0) + 1);
    page(
      req,
      res,
      "holidays",
      {
        title: "节假日与调休",
        overrides: overrides.map((o) => ({ id: o._id.toString(), date: o.date, weekday: WEEKDAYS[new Date(`${o.date}T00:00:00Z`).getUTCDay()], workday: o.workday, note: o.note })),
        years: years.map((y) => ({ id: y._id.toString(), year: y.year, note: y.note, createdAt: (y as { createdAt?: Date }).createdAt, overrides: perYear.get(y.year) ?? 0 })),
        covered: coveredText(),
        missing: missingYears(deps.clock.now(), new Set(years.map((y) => y.year))),
        override: form.override ?? { values: { workday: "false" }, errors: {} },
        year: form.year ?? { values: {}, errors: {} },
      },
      status,
      form.year ? "add-year" : "add-override",
    );
  }

  router.get("/holidays", async (req, res) => {
    await showHolidays(req, res);
  });

  router.post("/holidays", async (req, res) => {
    assertCsrf(req);
    const body = formOf(req);
    try {
      await addOverride({ date: str(body, "date"), workday: str(body, "workday"), note: str(body, "note") });
      res.redirect(303, "/admin/holidays?done=override_added");
    } catch (e) {
      const { status, errors } = refusal(e);
      await showHolidays(req, res, { override: { values: body, errors } }, status);
    }
  });

  router.post("/holidays/:id/delete", async (req, res) => {
    assertCsrf(req);
    await deleteOverride(String(req.params.id));
    res.redirect(303, "/admin/holidays?done=override_deleted");
  });

  router.post("/holidays/years", async (req, res) => {
    assertCsrf(req);
    const body = formOf(req);
    try {
      await addEnteredYear({ year: str(body, "year"), note: str(body, "note") });
      res.redirect(303, "/admin/holidays?done=year_added");
    } catch (e) {
      const { status, errors } = refusal(e);
      await showHolidays(req, res, { year: { values: body, errors } }, status);
    }
  });

  router.post("/holidays/years/:id/delete", async (req, res) => {
    assertCsrf(req);
    await deleteEnteredYear(String(req.params.id));
    res.redirect(303, "/admin/holidays?done=year_deleted");
  });

  // ---------------------------------------------------------------- queues

  router.get("/queues", async (req, res) => {
    const queues = await Promise.all(deps.queues.map(queueView));
    page(req, res, "queues", { title: "队列监控", queues, none: queues.length === 0, at: deps.clock.now() });
  });

  return router;
}

const WEEKDAYS = ["星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"];



/** "2004–2026" (or the list when it has gaps). */
function coveredText(): string {
  const years = [...COVERED_YEARS].sort((a, b) => a - b);
  if (!years.length) return "无";
  const contiguous = years.every((y, i) => i === 0 || y === years[i - 1]! + 1);
  return contiguous ? `${years[0]}–${years.at(-1)}` : years.join("、");
}


/** A cron pattern in words ("* * * * *" → 每分钟); one not of the usual shapes is described as a custom schedule. */
export function cronText(pattern: string): string {
  const f = pattern.trim().split(/\s+/);
  if (f.length !== 5) return `自定义周期（${pattern}）`;
  const [min, hour, dom, mon, dow] = f as [string, string, string, string, string];
  const daily = dom === "*" && mon === "*" && dow === "*";
  if (daily && min === "*" && hour === "*") return "每分钟";
  const every = /^\*\/(\d+)$/.exec(min);
  if (daily && every && hour === "*") return `每 ${every[1]} 分钟`;
  if (daily && /^\d+$/.test(min) && hour === "*") return `每小时第 ${min} 分`;
  if (daily && /^\d+$/.test(min) && /^\d+$/.test(hour)) return `每天 ${hour}:${min.padStart(2, "0")}`;
  return `自定义周期（${pattern}）`;
}

async function queueView(q: Queue) {
  const name = q.name;
  const label = QUEUE_LABELS[name] ?? name;
  try {
    const [counts, failed, schedulers] = await within(
      Promise.all([q.getJobCounts(...JOB_STATES.map(([s]) => s)), q.getFailed(0, 19), q.getJobSchedulers(0, 49, true)]),
      5000,
    );
    return {
      name,
      label,
      counts: JOB_STATES.map(([state, stateName]) => ({ state, label: stateName, n: counts[state] ?? 0 })),
      failed: (failed as Job[]).filter(Boolean).map((j) => ({ id: j.id, name: JOB_LABELS[j.name] ?? j.name, reason: j.failedReason, attempts: j.attemptsMade, at: j.timestamp, finishedOn: j.finishedOn ?? null })),
      schedulers: schedulers.map((s) => ({
        name: JOB_LABELS[s.name] ?? s.name,
        pattern: s.pattern ? cronText(s.pattern) : s.every ? `每 ${Math.round(s.every / 1000)} 秒` : "",
        tz: s.tz ? (TIME_ZONES[s.tz] ?? s.tz) : "",
        next: s.next ?? null,
        iterations: s.iterationCount ?? 0,
      })),
      error: null,
    };
  } catch (e) {
    return { name, label, counts: [], failed: [], schedulers: [], error: `无法读取队列：${(e as Error).message}` };
  }
}
