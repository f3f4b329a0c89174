/** Directory and rules: units (everyone reads names; the admin edits), users and the ladder (admin only). */
import { z } from "zod";
import { createUnit, createUser, listUnits, listUsers, newUnitSchema, newUserSchema, updateUnit, updateUser } from "../../directory.ts";
import { loadCalendar } from "../../calendar/workdays.ts";
import type { Clock } from "../../clock.ts";
import { loadRules, rulePatchSchema, updateRule } from "../../notices/rules.ts";
import { loadSettings, settingsSchema, updateSettings } from "../../notices/settings.ts";
import { ROBOT_PATCH } from "../../notices/targets.ts";
import { loadTexts, preview, textSchema, updateText } from "../../notices/texts.ts";
import { ADMIN, type Api } from "../api.ts";
import { levelParam, objectIdParam, ref, ruleIdParam } from "../contract.ts";
import { presentUnit, presentUnitForAdmin, presentUser } from "../present.ts";

// Notification settings change field by field: sending only emails must not clear the webhook (no
// defaults here: zod applies a default inside partial()), nor a robot's secret left out.
const notifyShape = newUnitSchema.shape.notify.unwrap().shape;
const unitPatch = newUnitSchema
  .omit({ notify: true })
  .partial()
  .extend({
    notify: z
      .strictObject({
        emails: notifyShape.emails.removeDefault().optional(),
        webhookUrl: notifyShape.webhookUrl.removeDefault().optional(),
        webhookSecret: notifyShape.webhookSecret.removeDefault().optional(),
        ...ROBOT_PATCH,
      })
      .optional(),
  })
  .strict();
const userPatch = z.strictObject({
  displayName: newUserSchema.shape.displayName.optional(),
  role: newUserSchema.shape.role.optional(),
  unitId: z.string().max(64).nullable().optional(),
  active: z.boolean({ error: "active 应为 true 或 false" }).optional(),
  password: newUserSchema.shape.password.optional(),
});

export function adminRoutes(api: Api, deps: { clock: Clock }) {
  api.add({
    method: "get",
    path: "/units",
    tag: "admin",
    summary: "单位列表（管理员另见联系人与通知渠道）",
    returns: "{items}",
    response: { schema: { type: "object", properties: { items: { type: "array", items: ref("Unit") } }, required: ["items"] } },
    async handle({ actor }) {
      const units = await listUnits();
      return { items: units.map(actor.role === "office_admin" ? presentUnitForAdmin : presentUnit) };
    },
  });
  api.add({
    method: "post",
    path: "/units",
    tag: "admin",
    summary: "新增单位",
    roles: ADMIN,
    body: newUnitSchema.strict(),
    status: 201,
    returns: "the unit",
    response: { schema: ref("Unit") },
    errors: { 409: "单位名称已存在" },
    async handle({ body }) {
      return presentUnitForAdmin(await createUnit(body));
    },
  });
  api.add({
    method: "patch",
    path: "/units/:id",
    tag: "admin",
    summary: "修改单位",
    roles: ADMIN,
    params: { id: objectIdParam("单位") },
    body: unitPatch,
    returns: "the unit",
    response: { schema: ref("Unit") },
    errors: { 409: "单位名称已存在" },
    async handle({ params, body }) {
      return presentUnitForAdmin(await updateUnit(params.id!, body));
    },
  });

  api.add({
    method: "get",
    path: "/users",
    tag: "admin",
    summary: "用户列表",
    roles: ADMIN,
    returns: "{items}",
    response: { schema: { type: "object", properties: { items: { type: "array", items: ref("User") } }, required: ["items"] } },
    async handle() {
      return { items: (await listUsers()).map(presentUser) };
    },
  });
  api.add({
    method: "post",
    path: "/users",
    tag: "admin",
    summary: "新增用户（密码以 argon2id 保存）",
    roles: ADMIN,
    body: newUserSchema.strict(),
    status: 201,
    returns: "the user",
    response: { schema: ref("User") },
    errors: { 409: "用户名已被使用" },
    async handle({ body }) {
      return presentUser(await createUser(body));
    },
  });
  api.add({
    method: "patch",
    path: "/users/:id",
    tag: "admin",
    summary: "修改用户：姓名、角色、单位、停用、重置密码",
    roles: ADMIN,
    params: { id: objectIdParam("用户") },
    body: userPatch,
    returns: "the user",
    response: { schema: ref("User") },
    async handle({ req, actor, params, body }) {
      return presentUser(await updateUser(actor, params.id!, body, req.sessionID));
    },
  });

  api.add({
    method: "get",
    path: "/rules",
    tag: "admin",
    summary: "预警督办规则",
    roles: ADMIN,
    returns: "{items}",
    response: { schema: ref("Items") },
    async handle() {
      return { items: await loadRules() };
    },
  });
  api.add({
    method: "put",
    path: "/rules/:id",
    tag: "admin",
    summary: "修改预警督办规则（对之后计算的期限生效）",
    roles: ADMIN,
    params: { id: ruleIdParam },
    body: rulePatchSchema,
    returns: "the rule",
    response: { schema: { type: "object" } },
    async handle({ actor, params, body }) {
      return updateRule(params.id!, body, actor);
    },
  });

  api.add({
    method: "get",
    path: "/settings",
    tag: "admin",
    summary: "系统设置：发文机关标志、署名、联系人、联系电话、抄送、销号核查的称谓",
    roles: ADMIN,
    returns: "the settings",
    response: { schema: ref("Settings") },
    async handle() {
      return loadSettings();
    },
  });
  api.add({
    method: "put",
    path: "/settings",
    tag: "admin",
    summary: "修改系统设置（此后发出的通知使用）",
    roles: ADMIN,
    body: settingsSchema,
    returns: "the settings",
    response: { schema: ref("Settings") },
    async handle({ actor, body }) {
      return updateSettings(body, actor);
    },
  });
  api.add({
    method: "get",
    path: "/texts",
    tag: "admin",
    summary: "通知文本（每级一份；占位符见管理页面）",
    roles: ADMIN,
    returns: "{items: [{level, title, body, replyDays}]}",
    response: { schema: ref("NoticeTexts") },
    async handle() {
      return { items: Object.values(await loadTexts()) };
    },
  });
  api.add({
    method: "put",
    path: "/texts/:level",
    params: { level: levelParam },
    tag: "admin",
    summary: "修改某级通知文本（此后发出的通知使用）",
    roles: ADMIN,
    body: textSchema,
    returns: "the text",
    response: { schema: ref("NoticeText") },
    async handle({ actor, params, body }) {
      return updateText(params.level!, body, actor);
    },
  });
  api.add({
    method: "post",
    path: "/texts/:level/preview",
    params: { level: levelParam },
    tag: "admin",
    summary: "预览通知文本：填入督察问题和信访件示例（不保存）",
    roles: ADMIN,
    body: textSchema,
    returns: "{level, label, samples: [{kind, title, paragraphs, to}]}",
    response: { schema: ref("TextPreview") },
    async handle({ params, body }) {
      const settings = await loadSettings();
      return preview(params.level!, body, { office: settings.signer, calendar: await loadCalendar(), issuedAt: deps.clock.now() });
    },
  });
}
