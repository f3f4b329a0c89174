/**
 * The 管理 pages of the office administrator: units, users, the escalation ladder, the holiday
 * calendar and a read-only look at the queues. Server-rendered, no JavaScript needed; forms post
 * back with the session's CSRF token and follow post/redirect/get. Validation is the services'
 * (createUnit, createUser, updateUser, updateRule: the API's rules too); a refused form is shown
 * again with the Chinese message beside the field and the input kept. Each editor is a file of
 * admin/; this one holds the gate, the tabs and the list of editors.
 */
import express from "express";
import { countOverrides, listEnteredYears } from "../../calendar/overrides.ts";
import { directoryCounts } from "../../directory.ts";
import { AppError } from "../../errors.ts";
import { loadRules } from "../../notices/rules.ts";
import { csrfToken } from "../auth.ts";
import { calendarEditor, coveredText } from "./admin/calendar.ts";
import type { AdminEditor, AdminPage, AdminPageDeps } from "./admin/forms.ts";
import { queueMonitor } from "./admin/queues.ts";
import { ruleEditor } from "./admin/rules.ts";
import { settingsEditor, textEditor } from "./admin/texts.ts";
import { unitEditor } from "./admin/units.ts";
import { userEditor } from "./admin/users.ts";
import { actorOf, meOf } from "./render.ts";

export type { AdminPageDeps } from "./admin/forms.ts";

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

const overview: AdminEditor = (router, { page, deps }) => {
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
};

/** The editors, one a line; each adds its own routes. */
const EDITORS: AdminEditor[] = [
  overview,
  unitEditor,
  userEditor,
  ruleEditor,
  textEditor,
  settingsEditor,
  calendarEditor,
  queueMonitor,
];

/** Every 管理 page: sign in first, then the office admin only. */
export const adminGate: express.RequestHandler = (req, res, next) => {
  const actor = actorOf(res);
  if (!actor) return res.redirect(`/login?next=${encodeURIComponent(req.originalUrl)}`);
  if (actor.role !== "office_admin") throw new AppError(403, "forbidden", "只有整改办管理员可以进入管理页面");
  next();
};

export function adminPages(deps: AdminPageDeps): express.Router {
  const router = express.Router();
  router.use(adminGate);

  const page: AdminPage = (req, res, view, data, status = 200, failedAt = null) => {
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

  for (const editor of EDITORS) editor(router, { page, deps });
  return router;
}
