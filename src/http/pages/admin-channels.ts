/**
 * 管理 › 接收渠道: the people and channels of each unit, the office and each leader, edited by the
 * office admin; 发送测试消息 sends one real message and shows the provider's answer. Keys and secrets
 * are write-only: a password box left blank keeps the stored one, and no page ever holds one. The
 * SMS section counts the template's billed segments (70/67, the 【signature】 included).
 * Validation and merging are the services' (addressees.ts: the API's rules too).
 */
import express, { type Request, type Response } from "express";
import type { Redis } from "ioredis";
import type { Clock } from "../../clock.ts";
import type { Config } from "../../config.ts";
import { listUnits, unitNames, updateUnit } from "../../directory.ts";
import { notFound } from "../../errors.ts";
import { createLeader, listAddressees, presentTarget, removeLeader, updateChannels } from "../../notices/addressees.ts";
import { CHANNEL_LABELS } from "../../notices/channels.ts";
import { ADDRESSEE_ID, CONTACT_ROLES, CONTACT_ROLE_LABELS, loadTarget } from "../../notices/recipients.ts";
import { SMS_VARIABLES, loadSmsSettings, presentSmsSettings, updateSmsSettings } from "../../notices/sms-settings.ts";
import { TEST_CHANNELS, sendTestMessage, testSms, type TestChannel, type TestResult } from "../../notices/test-message.ts";
import { deliveryOptions } from "../../worker.ts";
import { assertCsrf, csrfToken } from "../auth.ts";
import { TABS, adminGate } from "./admin.ts";
import { actorOf, formOf, meOf, refusal, str, strs, type Body, type Errors } from "./render.ts";

export interface ChannelPageDeps {
  clock: Clock;
  config: Config;
  redis: Redis | null;
}

const CONTACT_FIELDS = ["name", "title", "role", "mobile", "email", "feishuId"] as const;
/** Blank contact rows offered below the saved ones. */
const SPARE_ROWS = 2;
const ROBOT_FIELDS = { wecom: ["key"], dingtalk: ["token", "secret"], feishu: ["hook", "secret"] } as const;
const list = (s: string) =>
  s
    .split(/[,，、;；\s]+/)
    .map((x) => x.trim())
    .filter(Boolean);

/** The form's fields as the services' input: blank secrets left out (kept), a ticked 删除 as null. */
export function patchOf(body: Body, stored: ReturnType<typeof presentTarget> | null, withName: boolean) {
  const contacts: Record<string, string>[] = [];
  for (let i = 0; i < 40; i++) {
    const row = Object.fromEntries(CONTACT_FIELDS.map((f) => [f, str(body, `c_${f}_${i}`).trim()]));
    if (!Object.values(row).some(Boolean)) continue;
    if (row.role === "") delete row.role;
    for (const f of ["title", "mobile", "email", "feishuId"]) if (row[f] === "") delete row[f];
    contacts.push(row);
  }
  const notify: Record<string, unknown> = { emails: list(str(body, "emails")) };
  const has = stored?.notify as Record<string, unknown> | undefined;
  for (const [robot, fields] of Object.entries(ROBOT_FIELDS)) {
    if (str(body, `${robot}_remove`)) {
      if (has?.[robot]) notify[robot] = null;
      continue;
    }
    const given = Object.fromEntries(fields.map((f) => [f, str(body, `${robot}_${f}`).trim()]).filter(([, v]) => v));
    const mobiles = robot === "feishu" ? undefined : list(str(body, `${robot}_mobiles`));
    if (has?.[robot] || Object.keys(given).length) notify[robot] = { ...given, ...(mobiles ? { mobiles } : {}) };
  }
  const sms = list(str(body, "sms_mobiles"));
  if (sms.length) notify.sms = { mobiles: sms };
  else if (has?.sms) notify.sms = null;
  return {
    ...(withName ? { name: str(body, "name").trim(), title: str(body, "title").trim() } : {}),
    ...(stored?.kind === "leader" ? { unitIds: strs(body, "unitIds") } : {}),
    contacts,
    notify,
  };
}

/** "notify.wecom.key" → "wecom_key", "contacts.1.mobile" → "c_mobile_1". */
const fieldOf = (path: string) => {
  const c = /^contacts\.(\d+)\.(\w+)/.exec(path);
  if (c) return `c_${c[2]}_${c[1]}`;
  const [head, robot, field] = path.split(".");
  if (head === "notify") return robot === "emails" ? "emails" : `${robot}_${field ?? "mobiles"}`;
  return head!;
};

export function channelPages(deps: ChannelPageDeps): express.Router {
  const router = express.Router();
  router.use(adminGate);

  const page = (req: Request, res: Response, view: string, data: Record<string, unknown>, status = 200) => {
    res.status(status).render(`pages/admin/${view}`, {
      ...data,
      tabs: TABS.map(([href, label]) => ({ href, label, on: href === "/admin/channels" })),
      me: meOf(actorOf(res)),
      csrf: csrfToken(req),
      path: `${req.baseUrl}${req.path}`,
    });
  };

  /** The channels a target's notices take; SMS also where its named people (a unit's head) have mobiles, as resolution texts them. */
  const summary = (t: ReturnType<typeof presentTarget>) => {
    const n = t.notify;
    const texted = t.contacts.some((c) => c.mobile && (t.kind !== "unit" || c.role === "head"));
    const on = [n.emails.length ? "邮件" : "", n.wecom ? "企业微信" : "", n.dingtalk ? "钉钉" : "", n.feishu ? "飞书" : "", n.sms?.mobiles.length || texted ? "短信" : ""].filter(Boolean);
    return on.join("、");
  };
  const people = (t: ReturnType<typeof presentTarget>) => t.contacts.map((c) => `${c.name}${c.role ? `（${CONTACT_ROLE_LABELS[c.role as keyof typeof CONTACT_ROLE_LABELS] ?? c.role}）` : ""}`).join("、");

  async function showList(req: Request, res: Response, add: { values: Body; errors: Errors } = { values: {}, errors: {} }, status = 200) {
    const [addressees, units] = await Promise.all([listAddressees(), listUnits({ order: "active" })]);
    const names = await unitNames();
    const row = (t: ReturnType<typeof presentTarget>, extra: Record<string, unknown> = {}) => ({ id: t.id, name: t.title ? `${t.title} ${t.name}` : t.name, people: people(t), channels: summary(t), ...extra });
    page(
      req,
      res,
      "channels",
      {
        title: "接收渠道与联系人",
        office: row(addressees[0]!),
        leaders: addressees.slice(1).map((l) => row(l, { units: l.unitIds.length ? l.unitIds.map((id) => names.get(id) ?? "（已删除的单位）").join("、") : "全部单位" })),
        units: units.map((u) => {
          const t = presentTarget({ id: null, kind: "unit", name: u.name, contacts: (u.contacts ?? []) as never, notify: (u.notify ?? null) as never }, u._id.toString());
          const head = t.contacts.find((c) => c.role === "head");
          return { ...row(t), active: u.active, headMissing: !head?.mobile && !head?.feishuId };
        }),
        add,
        sms: presentSmsSettings(await loadSmsSettings(deliveryOptions(deps.config).sms)),
        done: req.query.done === "saved" ? "已保存" : req.query.done === "removed" ? "已删除该领导" : null,
      },
      status,
    );
  }

  router.get("/", async (req, res) => {
    await showList(req, res);
  });

  router.post("/leaders", async (req, res) => {
    assertCsrf(req);
    const body = formOf(req);
    try {
      const made = await createLeader({ name: str(body, "name").trim(), title: str(body, "title").trim() || undefined });
      res.redirect(303, `/admin/channels/${made.id}?done=created`);
    } catch (e) {
      const { status, errors } = refusal(e, fieldOf);
      await showList(req, res, { values: body, errors }, status);
    }
  });

  interface EditState {
    values?: Body;
    errors?: Errors;
    test?: TestResult & { label: string };
  }

  async function showEdit(req: Request, res: Response, key: string, state: EditState = {}, status = 200) {
    const stored = await loadTarget(key);
    if (!stored) throw notFound(ADDRESSEE_ID.test(key) ? "接收方" : "单位");
    const t = presentTarget(stored, key);
    const values = state.values;
    const v = (f: string, saved: string) => (values ? str(values, f) : saved);
    const rows = [...t.contacts, ...Array.from({ length: SPARE_ROWS }, () => null)];
    const given = values ? Math.max(-1, ...Object.keys(values).map((k) => Number(/^c_\w+_(\d+)$/.exec(k)?.[1] ?? -1))) + 1 : 0;
    const contactRows = Array.from({ length: Math.max(rows.length, given) }, (_, i) => rows[i] ?? null).map((c, i) => ({
      i,
      name: v(`c_name_${i}`, c?.name ?? ""),
      title: v(`c_title_${i}`, c?.title ?? ""),
      mobile: v(`c_mobile_${i}`, c?.mobile ?? ""),
      email: v(`c_email_${i}`, c?.email ?? ""),
      feishuId: v(`c_feishuId_${i}`, c?.feishuId ?? ""),
      roles: CONTACT_ROLES.map((r) => ({ v: r, l: CONTACT_ROLE_LABELS[r], selected: v(`c_role_${i}`, c?.role ?? "") === r })),
      errors: Object.fromEntries(CONTACT_FIELDS.map((f) => [f, state.errors?.[`c_${f}_${i}`] ?? null])),
    }));
    const n = t.notify;
    const chosen = values ? strs(values, "unitIds") : t.unitIds;
    const units = stored.kind === "leader" ? (await listUnits({ order: "active" })).map((u) => ({ id: u._id.toString(), name: u.name, selected: chosen.includes(u._id.toString()) })) : [];
    const kindLabel = stored.kind === "unit" ? "单位" : stored.kind === "office" ? "整改办" : "领导";
    page(
      req,
      res,
      "channel-edit",
      {
        title: `接收渠道：${t.title ? `${t.title} ` : ""}${t.name}`,
        key,
        kind: stored.kind,
        kindLabel,
        isUnit: stored.kind === "unit",
        isLeader: stored.kind === "leader",
        hint:
          stored.kind === "unit"
            ? "“主要负责人”在督办通知中被 @ 并收到短信；单位的机器人接收本单位的预警和督办。"
            : stored.kind === "office"
              ? "整改办的机器人、邮箱和短信接收以整改办为接收方的通知（如黄牌、红牌预警抄送，整改办自身的办理期限）。"
              : "约谈/通报和督办通知发往领导的机器人、邮箱，并以短信发给下列联系人的手机。",
        name: v("name", t.name),
        titleValue: v("title", t.title),
        units,
        contacts: contactRows,
        emails: v("emails", n.emails.join(", ")),
        wecom: { set: !!n.wecom?.keySet, mobiles: v("wecom_mobiles", (n.wecom?.mobiles ?? []).join(", ")) },
        dingtalk: { set: !!n.dingtalk?.tokenSet, secretSet: !!n.dingtalk?.secretSet, mobiles: v("dingtalk_mobiles", (n.dingtalk?.mobiles ?? []).join(", ")) },
        feishu: { set: !!n.feishu?.hookSet, secretSet: !!n.feishu?.secretSet },
        sms: { mobiles: v("sms_mobiles", (n.sms?.mobiles ?? []).join(", ")), cost: presentSmsSettings(await loadSmsSettings(deliveryOptions(deps.config).sms)) },
        errors: state.errors ?? {},
        failed: !!state.errors && Object.keys(state.errors).length > 0,
        test: state.test ?? null,
        tests: TEST_CHANNELS.map((c) => ({ v: c, l: CHANNEL_LABELS[c] })),
        done: req.query.done === "saved" ? "已保存" : req.query.done === "created" ? "已新增领导，请填写其联系人和渠道" : null,
      },
      status,
    );
  }

  /** 短信服务: the account's signature, template and AccessKey (the secret write-only), a test SMS to one number. */
  async function showSms(req: Request, res: Response, state: { values?: Body; errors?: Errors; test?: TestResult; mobile?: string } = {}, status = 200) {
    const sms = presentSmsSettings(await loadSmsSettings(deliveryOptions(deps.config).sms));
    const values = state.values ?? { signName: sms.signName, templateCode: sms.templateCode, templateText: sms.templateText, accessKeyId: sms.accessKeyId };
    page(
      req,
      res,
      "sms",
      {
        title: "短信服务",
        sms,
        values: Object.fromEntries(["signName", "templateCode", "templateText", "accessKeyId"].map((f) => [f, str(values, f)])),
        variables: SMS_VARIABLES.map((x) => `\${${x}}`).join("、"),
        errors: state.errors ?? {},
        failed: !!state.errors && Object.keys(state.errors).some((k) => k !== "mobile"),
        test: state.test ?? null,
        mobile: state.mobile ?? "",
        done: req.query.done === "saved" ? "已保存短信服务设置（此后发出的短信使用）" : null,
      },
      status,
    );
  }

  router.get("/sms", async (req, res) => {
    await showSms(req, res);
  });

  router.post("/sms", async (req, res) => {
    assertCsrf(req);
    const body = formOf(req);
    const input = Object.fromEntries(["signName", "templateCode", "templateText", "accessKeyId", "accessKeySecret"].map((f) => [f, str(body, f).trim()]).filter(([f, v]) => v !== "" || f === "signName" || f === "templateCode" || f === "templateText"));
    try {
      await updateSmsSettings(input, actorOf(res)!, deliveryOptions(deps.config).sms);
      res.redirect(303, "/admin/channels/sms?done=saved");
    } catch (e) {
      const { status, errors } = refusal(e);
      // The secret typed into a refused form is not sent back to the browser.
      const { accessKeySecret: _, ...values } = body;
      await showSms(req, res, { values, errors }, status);
    }
  });

  router.post("/sms/test", async (req, res) => {
    assertCsrf(req);
    const mobile = str(formOf(req), "mobile").trim();
    if (!/^1\d{10}$/.test(mobile)) {
      await showSms(req, res, { errors: { mobile: "手机号应为 11 位数字，以 1 开头" }, mobile }, 422);
      return;
    }
    await showSms(req, res, { test: await testSms("整改办", [mobile], deliveryOptions(deps.config)), mobile });
  });

  const keyOf = (req: Request) => {
    const key = String(req.params.key);
    if (!ADDRESSEE_ID.test(key) && !/^[0-9a-f]{24}$/.test(key)) throw notFound("接收方");
    return key;
  };

  router.get("/:key", async (req, res) => {
    await showEdit(req, res, keyOf(req));
  });

  router.post("/:key", async (req, res) => {
    assertCsrf(req);
    const key = keyOf(req);
    const stored = await loadTarget(key);
    if (!stored) throw notFound("接收方");
    const body = formOf(req);
    try {
      await updateChannels(key, patchOf(body, presentTarget(stored, key), stored.kind !== "unit"), (id, set) => updateUnit(id, set));
      res.redirect(303, `/admin/channels/${key}?done=saved`);
    } catch (e) {
      const { status, errors } = refusal(e, fieldOf);
      // Secrets typed into a refused form are not sent back to the browser.
      const values = Object.fromEntries(Object.entries(body).filter(([k]) => !/_(key|token|secret|hook)$/.test(k)));
      await showEdit(req, res, key, { values, errors }, status);
    }
  });

  router.post("/:key/remove", async (req, res) => {
    assertCsrf(req);
    await removeLeader(keyOf(req));
    res.redirect(303, "/admin/channels?done=removed");
  });

  router.post("/:key/test", async (req, res) => {
    assertCsrf(req);
    const key = keyOf(req);
    const channel = str(formOf(req), "channel") as TestChannel;
    if (!TEST_CHANNELS.includes(channel)) {
      await showEdit(req, res, key, { errors: { test: "请选择要测试的渠道" } }, 422);
      return;
    }
    const result = await sendTestMessage(key, channel, deliveryOptions(deps.config), deps.redis, deps.clock.now());
    if (!result) throw notFound("接收方");
    await showEdit(req, res, key, { test: { ...result, label: CHANNEL_LABELS[channel]! } });
  });

  return router;
}
