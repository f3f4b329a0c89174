/**
 * Group robots as delivery channels: 企业微信/政务微信, 钉钉 and 飞书. Each builds its provider's body
 * (cut to the provider's size limit at a UTF-8 character boundary, always ending with the link to
 * the whole notice), signs it as that provider documents, and reads the provider's answer: errors
 * come in an HTTP 200 body (errcode / code), so the body decides, not the status. An answer becomes
 * a ProviderError that says whether to retry (rate limit, passing fault) or fail now (bad key,
 * bad signature). Messages shown or logged never carry a key, a secret or the caller's IP.
 */
import { createHmac } from "node:crypto";
import { LEVEL_LABELS, type Level } from "../../workflows/index.ts";
import type { NoticeDocument, NoticeRecord } from "./issuer.ts";
import { noticeSubject } from "./render.ts";
import { DINGTALK_BLOCK_MS, ROBOT_LIMITS, robotId, type Window } from "./robot-limits.ts";
import type { StoredTargets } from "./targets.ts";

export type RobotName = "wecom" | "dingtalk" | "feishu";
export const ROBOTS: readonly RobotName[] = ["wecom", "dingtalk", "feishu"];
export const CHANNEL_LABELS: Record<string, string> = { wecom: "企业微信机器人", dingtalk: "钉钉机器人", feishu: "飞书机器人", sms: "短信" };

export interface ProviderUrls {
  wecom: string;
  dingtalk: string;
  feishu: string;
}

/** How a provider's refusal is handled: retried later (rate, retry) or failed at once (permanent). */
export type Outcome = "rate" | "retry" | "permanent";

export class ProviderError extends Error {
  constructor(
    message: string,
    readonly outcome: Outcome,
    /** The provider blocks the sender for this long (钉钉 after its limit was exceeded). */
    readonly blockMs = 0,
  ) {
    super(message);
    this.name = "ProviderError";
  }
}

const IPV4 = /\b\d{1,3}(?:\.\d{1,3}){3}\b/g;
const IPV6 = /\b(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}\b/gi;
/** A provider's message as it may be shown and logged: no IP (企业微信 echoes "from ip: …"), none of the given secrets. */
export function redact(message: string, secrets: (string | null | undefined)[] = []): string {
  let m = message.replace(IPV4, "*.*.*.*").replace(IPV6, "*:*");
  for (const s of secrets) if (s && s.length >= 4) m = m.split(s).join("***");
  return m.slice(0, 500);
}

const bytes = (s: string) => Buffer.byteLength(s, "utf8");

/**
 * head + body + tail within max UTF-8 bytes: the body is cut (at a character boundary, marked "……")
 * when the whole would not fit, so the link in the tail always arrives.
 */
export function fitBytes(head: string, body: string, tail: string, max: number): string {
  if (bytes(head + body + tail) <= max) return head + body + tail;
  const mark = "……";
  const budget = max - bytes(head) - bytes(tail) - bytes(mark);
  if (budget <= 0) return Buffer.from(head + tail, "utf8").subarray(0, max).toString("utf8").replace(/\uFFFD+$/, "");
  const b = Buffer.from(body, "utf8");
  let end = budget;
  // Step back over continuation bytes (10xxxxxx) to the start of the character that would be cut.
  while (end > 0 && (b[end]! & 0xc0) === 0x80) end--;
  return head + b.subarray(0, end).toString("utf8") + mark + tail;
}

/** The link to a notice's page. */
export const noticeLink = (publicUrl: string, n: Pick<NoticeRecord, "_id">) => `${publicUrl.replace(/\/+$/, "")}/notices/${encodeURIComponent(n._id)}/print`;

export interface RobotRequest {
  /** The robot's name in the shared rate limit (a hash, not its key). */
  robot: string;
  windows: Window[];
  /** Built at send time: signatures carry the time of sending. */
  build(now: Date): { url: string; body: string };
  /** Throws ProviderError unless the provider accepted. */
  check(status: number, text: string): void;
  /** Where it went, as the delivery shows it (no key). */
  target: string;
}

export interface RobotText {
  subject: string;
  paragraphs: string[];
  link: string;
  /** The people a 飞书 message names (飞书 robots @ only by open_id; without one the name is written plainly). */
  feishuAt?: { id: string | null; name: string }[];
}
type Text = RobotText;

/** The notice as robots say it: subject, the document's paragraphs, the link. */
export function textOf(n: NoticeRecord, doc: Pick<NoticeDocument, "paragraphs"> | null, link: string): Text {
  return { subject: noticeSubject(n), paragraphs: doc?.paragraphs?.length ? doc.paragraphs : [`${LEVEL_LABELS[n.level as Level] ?? n.level}：${n.ledgerNumber} ${n.caseTitle}`], link };
}

/** Reads a JSON answer's code and message; anything else is a passing fault (retried). */
function answer(status: number, text: string, codeField: "errcode" | "code", msgField: "errmsg" | "msg"): { code: number; msg: string } {
  let body: Record<string, unknown> | null = null;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = null;
  }
  const code = body?.[codeField] ?? body?.StatusCode;
  if (typeof code !== "number") throw new ProviderError(`服务返回 HTTP ${status}，无法识别的应答`, "retry");
  return { code, msg: String(body?.[msgField] ?? body?.StatusMessage ?? "") };
}

const WECOM_LIMITS = { text: 2048, markdown: 4096 };
const WECOM_RATE = new Set([45009]);
/** -1: 系统繁忙. */
const WECOM_RETRY = new Set([-1]);

function wecomRequest(base: string, t: NonNullable<StoredTargets["wecom"]>, m: Text): RobotRequest {
  const key = t.key!;
  const mobiles = t.mobiles ?? [];
  const tail = `\n查看全文：${m.link}`;
  const body = m.paragraphs.join("\n");
  // Mentions exist only on text messages (markdown has no mention list).
  const payload = mobiles.length
    ? { msgtype: "text", text: { content: fitBytes(`${m.subject}\n`, body, tail, WECOM_LIMITS.text), mentioned_mobile_list: mobiles } }
    : { msgtype: "markdown", markdown: { content: fitBytes(`**${m.subject}**\n`, body.replace(/\n/g, "\n\n"), `\n[查看全文](${m.link})`, WECOM_LIMITS.markdown) } };
  return {
    robot: robotId("wecom", key),
    windows: ROBOT_LIMITS.wecom,
    target: `企业微信机器人${mobiles.length ? `（@${mobiles.length} 人）` : ""}`,
    build: () => ({ url: `${base.replace(/\/+$/, "")}/cgi-bin/webhook/send?key=${encodeURIComponent(key)}`, body: JSON.stringify(payload) }),
    check(status, text) {
      const { code, msg } = answer(status, text, "errcode", "errmsg");
      if (code === 0) return;
      const shown = `企业微信返回 ${code}：${redact(msg, [key])}`;
      throw new ProviderError(shown, WECOM_RATE.has(code) ? "rate" : WECOM_RETRY.has(code) ? "retry" : "permanent");
    },
  };
}

/** 钉钉 加签: base64(HMAC-SHA256(key = secret, message = timestamp + "\n" + secret)), URL-encoded by the caller. */
export function dingtalkSign(secret: string, timestampMs: number): string {
  return createHmac("sha256", secret).update(`${timestampMs}\n${secret}`).digest("base64");
}

const DINGTALK_LIMIT = 20_000;
/** 90030: the organisation's monthly webhook quota (a later month lets it through again). */
const DINGTALK_RATE = new Set([130101, 90030]);

function dingtalkRequest(base: string, t: NonNullable<StoredTargets["dingtalk"]>, m: Text): RobotRequest {
  const { token, secret } = t as { token: string; secret: string };
  const mobiles = t.mobiles ?? [];
  const body = m.paragraphs.join("\n\n");
  // 钉钉 highlights a mobile in atMobiles only where "@mobile" also stands in the text; an
  // actionCard cannot @ anyone, so a message that mentions is markdown with the link in it.
  const payload = mobiles.length
    ? {
        msgtype: "markdown",
        markdown: { title: m.subject.slice(0, 100), text: fitBytes(`#### ${m.subject}\n\n${mobiles.map((x) => `@${x}`).join(" ")}\n\n`, body, `\n\n[查看通知全文](${m.link})`, DINGTALK_LIMIT) },
        at: { atMobiles: mobiles, isAtAll: false },
      }
    : {
        msgtype: "actionCard",
        actionCard: { title: m.subject.slice(0, 100), text: fitBytes(`#### ${m.subject}\n\n`, body, `\n\n查看全文：${m.link}`, DINGTALK_LIMIT), singleTitle: "查看通知全文", singleURL: m.link },
      };
  return {
    robot: robotId("dingtalk", token),
    windows: ROBOT_LIMITS.dingtalk,
    target: `钉钉机器人${mobiles.length ? `（@${mobiles.length} 人）` : ""}`,
    build(now) {
      const ts = now.getTime();
      const q = `access_token=${encodeURIComponent(token)}&timestamp=${ts}&sign=${encodeURIComponent(dingtalkSign(secret, ts))}`;
      return { url: `${base.replace(/\/+$/, "")}/robot/send?${q}`, body: JSON.stringify(payload) };
    },
    check(status, text) {
      const { code, msg } = answer(status, text, "errcode", "errmsg");
      if (code === 0) return;
      const shown = `钉钉返回 ${code}：${redact(msg, [token, secret])}`;
      if (code === 130101) throw new ProviderError(shown, "rate", DINGTALK_BLOCK_MS);
      throw new ProviderError(shown, DINGTALK_RATE.has(code) ? "rate" : code === -1 ? "retry" : "permanent");
    },
  };
}

/**
 * 飞书 签名校验: base64(HMAC-SHA256(key = timestamp + "\n" + secret, message = "")), the timestamp in
 * seconds; both go in the JSON body. Not 钉钉's scheme (there the secret is the key and the string
 * the message, in milliseconds, in the query).
 */
export function feishuSign(secret: string, timestampS: number): string {
  return createHmac("sha256", `${timestampS}\n${secret}`).update("").digest("base64");
}

/** The body at most 20 KB; the text gets what the envelope leaves. */
const FEISHU_TEXT_LIMIT = 20 * 1024 - 400;
const FEISHU_RATE = new Set([9499, 11232]);

/** 飞书's mention of a person in a text message: `<at user_id="ou_…">name</at>` (the name may not hold a tag). */
export const OPEN_ID = /^ou_[0-9a-f]{32}$/;
const feishuName = (p: { id: string | null; name: string }) => {
  const name = p.name.replace(/[<>&"]/g, "");
  return p.id && OPEN_ID.test(p.id) ? `<at user_id="${p.id}">${name}</at>` : name;
};

function feishuRequest(base: string, t: NonNullable<StoredTargets["feishu"]>, m: Text): RobotRequest {
  const { hook, secret } = t as { hook: string; secret: string };
  const at = m.feishuAt ?? [];
  const named = at.length ? `${at.map(feishuName).join(" ")}\n` : "";
  const text = fitBytes(`${m.subject}\n${named}`, m.paragraphs.join("\n"), `\n查看全文：${m.link}`, FEISHU_TEXT_LIMIT);
  const mentioned = at.filter((p) => p.id && OPEN_ID.test(p.id)).length;
  return {
    robot: robotId("feishu", hook),
    windows: ROBOT_LIMITS.feishu,
    target: `飞书机器人${mentioned ? `（@${mentioned} 人）` : ""}`,
    build(now) {
      const ts = Math.floor(now.getTime() / 1000);
      return {
        url: `${base.replace(/\/+$/, "")}/open-apis/bot/v2/hook/${encodeURIComponent(hook)}`,
        body: JSON.stringify({ timestamp: String(ts), sign: feishuSign(secret, ts), msg_type: "text", content: { text } }),
      };
    },
    check(status, text) {
      const { code, msg } = answer(status, text, "code", "msg");
      if (code === 0) return;
      throw new ProviderError(`飞书返回 ${code}：${redact(msg, [hook, secret])}`, FEISHU_RATE.has(code) ? "rate" : "permanent");
    },
  };
}

/** The request for a robot channel of a target, or a permanent error when it is not set up. */
export function robotRequest(channel: RobotName, urls: ProviderUrls, targets: StoredTargets | null | undefined, m: Text): RobotRequest {
  const t = targets?.[channel];
  if (channel === "wecom" && t && (t as { key?: string }).key) return wecomRequest(urls.wecom, t as NonNullable<StoredTargets["wecom"]>, m);
  if (channel === "dingtalk" && t && (t as { token?: string }).token && (t as { secret?: string }).secret) return dingtalkRequest(urls.dingtalk, t as NonNullable<StoredTargets["dingtalk"]>, m);
  if (channel === "feishu" && t && (t as { hook?: string }).hook && (t as { secret?: string }).secret) return feishuRequest(urls.feishu, t as NonNullable<StoredTargets["feishu"]>, m);
  throw new ProviderError(`未配置${CHANNEL_LABELS[channel]}`, "permanent");
}
