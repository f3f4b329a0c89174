/** Who notices reach: the office's and leaders' channels and people (admin only), and 发送测试消息. */
import type { Redis } from "ioredis";
import { z } from "zod";
import type { Clock } from "../../clock.ts";
import type { Config } from "../../config.ts";
import { notFound } from "../../errors.ts";
import { addresseePatch, createLeader, listAddressees, newLeader, removeLeader, updateAddressee } from "../../notices/addressees.ts";
import { loadSmsSettings, presentSmsSettings, smsSettingsInput, updateSmsSettings } from "../../notices/sms-settings.ts";
import { TEST_CHANNELS, sendTestMessage, testSms } from "../../notices/test-message.ts";
import { deliveryOptions } from "../../worker.ts";
import { ADMIN, type Api } from "../api.ts";
import { objectIdParam } from "../contract.ts";

const addresseeParam = { pattern: /^(office|leader-[0-9a-f]{12})$/, what: "接收方", description: "office（整改办）或 leader-<12 位十六进制>（领导）" };
const testBody = z.strictObject({ channel: z.enum(TEST_CHANNELS, { error: "渠道应为 wecom、dingtalk、feishu 或 sms" }) });
const obj = { type: "object" };
const smsTestBody = z.strictObject({ mobile: z.string({ error: "请填写接收测试短信的手机号" }).trim().regex(/^1\d{10}$/, { error: "手机号应为 11 位数字，以 1 开头" }) });

export function recipientRoutes(api: Api, deps: { clock: Clock; config: Config; redis: Redis | null }) {
  api.add({
    method: "get",
    path: "/addressees",
    tag: "admin",
    summary: "整改办与各位领导的接收渠道和联系人（密钥只显示是否已设置）",
    roles: ADMIN,
    returns: "{items}",
    response: { schema: { type: "object", properties: { items: { type: "array", items: obj } }, required: ["items"] } },
    async handle() {
      return { items: await listAddressees() };
    },
  });
  api.add({
    method: "post",
    path: "/addressees",
    tag: "admin",
    summary: "新增领导（约谈/通报等以领导为接收方的通知发往其渠道）",
    roles: ADMIN,
    body: newLeader,
    status: 201,
    returns: "the leader",
    response: { schema: obj },
    async handle({ body }) {
      return createLeader(body);
    },
  });
  api.add({
    method: "patch",
    path: "/addressees/:id",
    tag: "admin",
    summary: "修改整改办或某位领导的渠道与联系人（省略的密钥保留原值，渠道传 null 即删除）",
    roles: ADMIN,
    params: { id: addresseeParam },
    body: addresseePatch,
    returns: "the addressee",
    response: { schema: obj },
    async handle({ params, body }) {
      return updateAddressee(params.id!, body);
    },
  });
  api.add({
    method: "post",
    path: "/addressees/:id/remove",
    tag: "admin",
    summary: "删除一位领导（已发出的通知不受影响）",
    roles: ADMIN,
    params: { id: addresseeParam },
    returns: "{removed: true}",
    response: { schema: obj },
    async handle({ params }) {
      await removeLeader(params.id!);
      return { removed: true };
    },
  });
  const test = (key: string, channel: (typeof TEST_CHANNELS)[number]) => sendTestMessage(key, channel, deliveryOptions(deps.config), deps.redis, deps.clock.now());
  api.add({
    method: "post",
    path: "/addressees/:id/test-message",
    tag: "admin",
    summary: "发送测试消息：经该渠道真实发送一条，返回服务商的应答（ok 为 false 时 answer 写明原因）",
    roles: ADMIN,
    params: { id: addresseeParam },
    body: testBody,
    returns: "{ok, channel, target, answer}",
    response: { schema: obj },
    async handle({ params, body }) {
      const r = await test(params.id!, body.channel);
      if (!r) throw notFound("接收方");
      return r;
    },
  });
  api.add({
    method: "post",
    path: "/units/:id/test-message",
    tag: "admin",
    summary: "发送测试消息到单位的群机器人或短信，返回服务商的应答",
    roles: ADMIN,
    params: { id: objectIdParam("单位") },
    body: testBody,
    returns: "{ok, channel, target, answer}",
    response: { schema: obj },
    async handle({ params, body }) {
      const r = await test(params.id!, body.channel);
      if (!r) throw notFound("单位");
      return r;
    },
  });
  api.add({
    method: "get",
    path: "/sms-settings",
    tag: "admin",
    summary: "短信服务：签名、模板 CODE、模板原文与 AccessKey ID（Secret 只显示是否已设置），及示例短信的计费条数",
    roles: ADMIN,
    returns: "the SMS settings",
    response: { schema: obj },
    async handle() {
      return presentSmsSettings(await loadSmsSettings(deliveryOptions(deps.config).sms));
    },
  });
  api.add({
    method: "put",
    path: "/sms-settings",
    tag: "admin",
    summary: "保存短信服务设置（accessKeySecret 省略或留空即保留原值；此后发出的短信使用新设置）",
    roles: ADMIN,
    body: smsSettingsInput,
    returns: "the SMS settings",
    response: { schema: obj },
    async handle({ body, actor }) {
      return updateSmsSettings(body, actor, deliveryOptions(deps.config).sms);
    },
  });
  api.add({
    method: "post",
    path: "/sms-settings/test-message",
    tag: "admin",
    summary: "发送测试短信到一个手机号，返回短信服务的应答",
    roles: ADMIN,
    body: smsTestBody,
    returns: "{ok, channel, target, answer}",
    response: { schema: obj },
    async handle({ body }) {
      return testSms("整改办", [body.mobile], deliveryOptions(deps.config));
    },
  });
}
