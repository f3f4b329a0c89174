/**
 * The SMS account as the office admin sets it (管理 › 接收渠道 › 短信服务, or the API): the approved
 * signature, template code and the template's approved text, and the AccessKey. Stored in one
 * document; a field never saved falls back to the configuration (SMS_SIGN_NAME …). The AccessKey
 * secret is write-only: saved, used to sign, never returned, shown or logged; left out, it is kept.
 * Every sender (worker, 发送测试消息) reads the settings here at the time of sending.
 */
import { z } from "zod";
import type { Actor } from "../../workflows/index.ts";
import { SmsSettingsModel } from "../db/models.ts";
import { forbidden, fromZod, invalid } from "../errors.ts";
import type { NoticeRecord } from "./issuer.ts";
import { PARAM_MAX, fillTemplate, segments, smsParams, type SmsSettings } from "./sms.ts";

const ID = "sms";
/** The variables the system fills (smsParams); an approved template may use only these. */
export const SMS_VARIABLES = ["unit", "level", "ledger", "title", "deadline"] as const;

/** The settings in force: the saved ones over the configuration's. */
export async function loadSmsSettings(defaults: SmsSettings): Promise<SmsSettings> {
  const d = await SmsSettingsModel.findById(ID).lean();
  return {
    endpoint: defaults.endpoint,
    accessKeyId: d?.accessKeyId || defaults.accessKeyId,
    accessKeySecret: d?.accessKeySecret || defaults.accessKeySecret,
    signName: d?.signName || defaults.signName,
    templateCode: d?.templateCode || defaults.templateCode,
    templateText: d?.templateText || defaults.templateText,
  };
}

/** Characters as carriers count them. */
const chars = (s: string) => [...s].length;

/** What the admin sees: everything but the secret, and the billed segments of a sample message. */
export function presentSmsSettings(s: SmsSettings) {
  const example = { level: "supervision", number: "督办〔2026〕12号", ledgerNumber: "ZY2-01", caseTitle: "城区部分燃煤锅炉淘汰不彻底", deadline: "2026-06-30" } as unknown as NoticeRecord;
  const sign = s.signName ?? "签名";
  const body = fillTemplate(s.templateText, smsParams(example, "市生态环境局"));
  const longest = fillTemplate(s.templateText, Object.fromEntries(SMS_VARIABLES.map((k) => [k, "字".repeat(PARAM_MAX)])));
  return {
    signName: s.signName ?? "",
    templateCode: s.templateCode ?? "",
    templateText: s.templateText,
    accessKeyId: s.accessKeyId ?? "",
    secretSet: !!s.accessKeySecret,
    configured: !!(s.accessKeyId && s.accessKeySecret && s.signName && s.templateCode),
    sample: { text: `【${sign}】${body}`, chars: chars(`【${sign}】${body}`), segments: segments(sign, body), worst: segments(sign, longest) },
  };
}

/** 【】 and the like are not part of a signature; Aliyun takes 2–12 characters of Chinese, letters and digits. */
const signName = z
  .string({ error: "请填写短信签名" })
  .trim()
  .refine((v) => !/[【】[\]]/.test(v), { error: "短信签名不带【】，只填签名文字（如“某市整改办”）" })
  .refine((v) => chars(v) >= 2 && chars(v) <= 12, { error: "短信签名应为 2–12 个字" })
  .refine((v) => /^[\p{Script=Han}A-Za-z0-9]+$/u.test(v), { error: "短信签名只能包含汉字、字母和数字" });
const templateText = z
  .string({ error: "请填写模板原文" })
  .trim()
  .min(1, { error: "请填写模板原文（与审核通过的模板一字不差）" })
  .max(500, { error: "模板原文不能超过 500 个字" })
  .superRefine((v, ctx) => {
    const used = [...v.matchAll(/\$\{([^}]*)\}/g)].map((m) => m[1]!);
    const unknown = used.filter((x) => !(SMS_VARIABLES as readonly string[]).includes(x));
    if (unknown.length) ctx.addIssue({ code: "custom", message: `模板中的变量 ${unknown.map((x) => `\${${x}}`).join("、")} 不是系统提供的变量（可用：${SMS_VARIABLES.map((x) => `\${${x}}`).join("、")}）` });
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the provider's placeholder syntax, shown to the admin
    if (/\$\{[^}]*$|\$(?!\{)/.test(v)) ctx.addIssue({ code: "custom", message: "模板中的变量应写作 ${变量名}，如 ${unit}" });
  });

export const smsSettingsInput = z.strictObject({
  signName,
  templateCode: z
    .string({ error: "请填写模板 CODE" })
    .trim()
    .regex(/^SMS_\d{3,20}$/, { error: "模板 CODE 形如 SMS_465000001（审核通过后在短信服务控制台中查看）" }),
  templateText,
  accessKeyId: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9]{12,64}$/, { error: "AccessKey ID 应为 12–64 位字母和数字（如 LTAI5t…）" })
    .optional(),
  /** Left out or blank: the stored one is kept. */
  accessKeySecret: z
    .string()
    .trim()
    .regex(/^([A-Za-z0-9]{16,64})?$/, { error: "AccessKey Secret 应为 16–64 位字母和数字" })
    .optional(),
});

/** Saves the SMS settings (office admin only); the next message sent uses them. */
export async function updateSmsSettings(input: unknown, actor: Actor, defaults: SmsSettings) {
  if (actor.role !== "office_admin") throw forbidden("只有整改办管理员可以修改短信服务设置");
  const parsed = smsSettingsInput.safeParse(input);
  if (!parsed.success) throw fromZod(parsed.error);
  const { accessKeySecret, accessKeyId, ...rest } = parsed.data;
  const current = await loadSmsSettings(defaults);
  if (!(accessKeyId || current.accessKeyId)) throw invalid([{ field: "accessKeyId", message: "请填写 AccessKey ID" }]);
  if (!(accessKeySecret || current.accessKeySecret)) throw invalid([{ field: "accessKeySecret", message: "请填写 AccessKey Secret" }]);
  const set: Record<string, unknown> = { ...rest, updatedBy: actor.id };
  if (accessKeyId) set.accessKeyId = accessKeyId;
  if (accessKeySecret) set.accessKeySecret = accessKeySecret;
  await SmsSettingsModel.updateOne({ _id: ID }, { $set: set }, { upsert: true });
  return presentSmsSettings(await loadSmsSettings(defaults));
}
