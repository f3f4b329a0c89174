/**
 * 发送测试消息: one real message through a target's robot or SMS, sent now (not queued) so the admin
 * sees the provider's own answer beside the settings they just saved. It takes a slot of the robot's
 * shared rate limit like any delivery (never over the limit together with the workers), a block the
 * provider answers (钉钉 130101) holds the workers back as a delivery's does, and the answer is shown
 * redacted, without a key, secret or IP.
 */
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { CHANNEL_LABELS, ProviderError, redact, robotRequest, type RobotName } from "./channels.ts";
import type { DeliveryOptions } from "./delivery.ts";
import type { NoticeRecord } from "./issuer.ts";
import { loadTarget } from "./recipients.ts";
import { RobotLimiter } from "./robot-limits.ts";
import { checkSmsAnswer, smsRequest, SmsAmbiguous } from "./sms.ts";
import { loadSmsSettings } from "./sms-settings.ts";
import type { StoredTargets } from "./targets.ts";

export const TEST_CHANNELS = ["wecom", "dingtalk", "feishu", "sms"] as const;
export type TestChannel = (typeof TEST_CHANNELS)[number];

export interface TestResult {
  ok: boolean;
  channel: TestChannel;
  /** Where it went, as a delivery shows it (no key; mobiles masked). */
  target: string | null;
  /** The provider's answer, or why nothing was sent. */
  answer: string;
}

/** The provider's code and message from its answer body, redacted ("errcode 0：ok"). */
function answerText(text: string, secrets: string[]): string {
  try {
    const b = JSON.parse(text) as Record<string, unknown>;
    const code = b.errcode ?? b.code ?? b.Code ?? b.StatusCode;
    const msg = b.errmsg ?? b.msg ?? b.Message ?? b.StatusMessage ?? "";
    return redact(`${String(code)}：${String(msg)}`, secrets);
  } catch {
    return redact(text.slice(0, 200), secrets);
  }
}

/** One SMS from the template in force (sms-settings.ts), filled as a test, to these mobiles; the provider's answer. */
export async function testSms(who: string, mobiles: string[], opts: DeliveryOptions): Promise<TestResult> {
  const channel = "sms" as const;
  const fail = (answer: string, target: string | null = null): TestResult => ({ ok: false, channel, target, answer });
  const settings = await loadSmsSettings(opts.sms);
  const probe = { _id: `test-${randomUUID()}`, level: "测试消息", ledgerNumber: "测试", number: null, caseTitle: "接收渠道测试，收到即配置正确", deadline: null } as unknown as NoticeRecord;
  let send: ReturnType<typeof smsRequest>;
  try {
    // Signed at the real time of sending (the providers check it), whatever the app clock says.
    send = smsRequest(settings, probe, who, mobiles, probe._id, new Date());
  } catch (e) {
    return fail((e as Error).message);
  }
  const secrets = [settings.accessKeySecret ?? ""];
  try {
    const res = await fetch(send.request.url, { method: "POST", headers: send.request.headers, body: send.request.body, signal: AbortSignal.timeout(opts.webhookTimeoutMs) });
    const text = await res.text();
    checkSmsAnswer(res.status, text, secrets);
    return { ok: true, channel, target: send.target, answer: `短信服务返回 ${answerText(text, secrets)}` };
  } catch (e) {
    if (e instanceof ProviderError || e instanceof SmsAmbiguous) return fail(e.message, send.target);
    return fail(`无法连接短信服务（${(e as { cause?: { code?: string } }).cause?.code ?? (e as Error).name}）`, send.target);
  }
}

/** Sends a test message to the target (a unit's id, `office` or `leader-…`) on one channel. */
export async function sendTestMessage(key: string, channel: TestChannel, opts: DeliveryOptions, redis: Redis | null, now: Date): Promise<TestResult | null> {
  const t = await loadTarget(key);
  if (!t) return null;
  const who = `${t.title ? `${t.title} ` : ""}${t.name}`;
  const notify = (t.notify ?? null) as StoredTargets | null;
  const fail = (answer: string, target: string | null = null): TestResult => ({ ok: false, channel, target, answer });
  if (channel === "sms") {
    const mobiles = [...new Set([...(notify?.sms?.mobiles ?? []), ...t.contacts.map((c) => c.mobile ?? "").filter((m) => /^1\d{10}$/.test(m))])];
    return testSms(who, mobiles, opts);
  }
  const paragraphs = [`这是整改系统发给“${who}”的${CHANNEL_LABELS[channel]}测试消息，收到即表示配置正确。`, `发送时间：${now.toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false })}`];
  let req: ReturnType<typeof robotRequest>;
  try {
    req = robotRequest(channel as RobotName, opts.providers, notify, { subject: "【测试消息】整改系统接收渠道", paragraphs, link: opts.publicUrl });
  } catch (e) {
    return fail((e as Error).message);
  }
  if (!redis) return fail("未连接 Redis，无法按机器人限额发送", req.target);
  const limiter = new RobotLimiter(redis, opts.limitPrefix);
  const wait = await limiter.take(req.robot, req.windows, `test-${randomUUID()}`);
  if (wait > 0) return fail(`该机器人发送过于频繁（服务商限额），请 ${Math.ceil(wait / 1000)} 秒后再试`, req.target);
  const secrets = Object.values(notify?.[channel] ?? {}).filter((v): v is string => typeof v === "string");
  const { url, body } = req.build(new Date());
  let text: string;
  let status: number;
  try {
    const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json; charset=utf-8" }, body, redirect: "manual", signal: AbortSignal.timeout(opts.webhookTimeoutMs) });
    status = res.status;
    text = await res.text();
  } catch (e) {
    // The URL carries the key: only the cause's code is shown.
    return fail(`无法连接${req.target}服务（${(e as { cause?: { code?: string } }).cause?.code ?? (e as Error).name}）`, req.target);
  }
  try {
    req.check(status, text);
    return { ok: true, channel, target: req.target, answer: `${CHANNEL_LABELS[channel]}返回 ${answerText(text, secrets)}` };
  } catch (e) {
    // The provider's block (钉钉 130101: 10 minutes) holds the workers' deliveries back too, as a delivery's answer does.
    if (e instanceof ProviderError && e.blockMs) await limiter.block(req.robot, e.blockMs);
    return fail(e instanceof ProviderError ? e.message : redact((e as Error).message, secrets), req.target);
  }
}
