/**
 * Where a target (today a unit; the office and leaders later) has group robots and SMS: one shape,
 * validated here, stored under `notify`. Keys, tokens and secrets are write-only: the API and pages
 * show only that they are set (`presentTargets`); a change that leaves one out keeps the stored one
 * (`mergeTargets`), so an admin never has to see a secret to edit the mentions beside it.
 */
import { z } from "zod";

const mobile = z.string().trim().regex(/^1\d{10}$/, { error: "手机号应为 11 位数字，以 1 开头" });
const mobiles = z.array(mobile).max(20, { error: "最多 20 个手机号" }).default([]);

const wecom = z.strictObject({
  /** The `key` of `…/cgi-bin/webhook/send?key=KEY` (企业微信/政务微信 group robot). */
  key: z.string().trim().regex(/^[A-Za-z0-9-]{8,100}$/, { error: "企业微信机器人 key 应为 webhook 地址中 key= 之后的部分" }).optional(),
  /** Members to @ by mobile (the text message's mentioned_mobile_list). */
  mobiles: mobiles.optional(),
});
const dingtalk = z.strictObject({
  /** The access_token of `…/robot/send?access_token=T`. */
  token: z.string().trim().regex(/^[A-Za-z0-9]{16,128}$/, { error: "钉钉机器人 access_token 应为 webhook 地址中 access_token= 之后的部分" }).optional(),
  /** The 加签 secret (SEC…); 钉钉 refuses unsigned sends to a robot with 加签, and we send nothing unsigned. */
  secret: z.string().trim().regex(/^SEC[A-Za-z0-9]{16,128}$/, { error: "钉钉加签密钥以 SEC 开头" }).optional(),
  mobiles: mobiles.optional(),
});
const feishu = z.strictObject({
  /** The id at the end of `…/open-apis/bot/v2/hook/ID`. */
  hook: z.string().trim().regex(/^[A-Za-z0-9-]{8,100}$/, { error: "飞书机器人 webhook 应为地址中 /hook/ 之后的部分" }).optional(),
  /** The 签名校验 secret. */
  secret: z.string().trim().regex(/^[A-Za-z0-9]{8,128}$/, { error: "飞书签名校验密钥为字母和数字" }).optional(),
});
const sms = z.strictObject({ mobiles: mobiles.optional() });

/** The fields a target's `notify` has for robots and SMS; null removes one. */
export const ROBOT_TARGETS = {
  wecom: wecom.nullable().default(null),
  dingtalk: dingtalk.nullable().default(null),
  feishu: feishu.nullable().default(null),
  sms: sms.nullable().default(null),
};
/** The same for a change: a robot left out stays as it is. */
export const ROBOT_PATCH = {
  wecom: wecom.nullable().optional(),
  dingtalk: dingtalk.nullable().optional(),
  feishu: feishu.nullable().optional(),
  sms: sms.nullable().optional(),
};
export type RobotChannel = keyof typeof ROBOT_TARGETS;
export const ROBOT_CHANNELS = Object.keys(ROBOT_TARGETS) as RobotChannel[];

export interface StoredTargets {
  wecom?: { key?: string | null; mobiles?: string[] } | null;
  dingtalk?: { token?: string | null; secret?: string | null; mobiles?: string[] } | null;
  feishu?: { hook?: string | null; secret?: string | null } | null;
  sms?: { mobiles?: string[] } | null;
}

/** What a robot needs before anything can be sent to it. */
const REQUIRED: Record<RobotChannel, { fields: string[]; message: string }> = {
  wecom: { fields: ["key"], message: "请填写企业微信机器人 key" },
  dingtalk: { fields: ["token", "secret"], message: "请填写钉钉机器人 access_token 和加签密钥" },
  feishu: { fields: ["hook", "secret"], message: "请填写飞书机器人 webhook 和签名校验密钥" },
  sms: { fields: [], message: "" },
};

/** Whether the channel can be sent to (its key and secret set; SMS: some mobile). */
export function configured(t: StoredTargets | null | undefined, channel: RobotChannel): boolean {
  const v = t?.[channel] as Record<string, unknown> | null | undefined;
  if (!v) return false;
  if (channel === "sms") return ((v.mobiles as string[] | undefined) ?? []).length > 0;
  return REQUIRED[channel].fields.every((f) => typeof v[f] === "string" && v[f] !== "");
}

/**
 * The stored value after a change: a robot given as null is removed; a robot given keeps every
 * stored field the change leaves out (a secret is never sent back to be kept). Returns the field
 * whose required part is still missing, as an error message, or the merged targets.
 */
export function mergeTargets(stored: StoredTargets | null | undefined, patch: Partial<Record<RobotChannel, Record<string, unknown> | null | undefined>>): { set: Record<string, unknown>; missing: { field: string; message: string } | null } {
  const set: Record<string, unknown> = {};
  for (const channel of ROBOT_CHANNELS) {
    const change = patch[channel];
    if (change === undefined) continue;
    if (change === null) {
      set[channel] = null;
      continue;
    }
    const merged = { ...((stored?.[channel] as Record<string, unknown> | null | undefined) ?? {}), ...Object.fromEntries(Object.entries(change).filter(([, v]) => v !== undefined)) };
    const lacking = REQUIRED[channel].fields.find((f) => !merged[f]);
    if (lacking) return { set, missing: { field: `notify.${channel}.${lacking}`, message: REQUIRED[channel].message } };
    set[channel] = { mobiles: [], ...merged };
  }
  return { set, missing: null };
}

/** For the API and pages: mentions and mobiles as stored, secrets only as "set". */
export function presentTargets(t: StoredTargets | null | undefined) {
  return {
    wecom: t?.wecom ? { keySet: !!t.wecom.key, mobiles: t.wecom.mobiles ?? [] } : null,
    dingtalk: t?.dingtalk ? { tokenSet: !!t.dingtalk.token, secretSet: !!t.dingtalk.secret, mobiles: t.dingtalk.mobiles ?? [] } : null,
    feishu: t?.feishu ? { hookSet: !!t.feishu.hook, secretSet: !!t.feishu.secret } : null,
    sms: t?.sms ? { mobiles: t.sms.mobiles ?? [] } : null,
  };
}
