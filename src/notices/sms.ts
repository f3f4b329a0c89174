/**
 * SMS through Aliyun dysms SendSms (API 2017-05-25), signed with ACS3-HMAC-SHA256, from an approved
 * template: the template's text (the link to the app included) is fixed at the provider, the
 * notice fills its parameters, each cut to 35 characters.
 *
 * The provider has no idempotency: a request sent twice is two messages. So the delivery records
 * the hand-over (`dispatchedAt`) before the request and a retry that finds it does not send again:
 * at most once. A definite answer clears or settles it; only a process killed, or a connection
 * lost, between the record and the answer leaves it, and that delivery fails as 发送结果不明 for the
 * office to check in the provider's console (by OutId, the delivery's id) rather than risk a second
 * message. A kill after the record but before the request costs a message not sent; a second SMS
 * to a unit head is the worse error.
 */
import { createHash, createHmac, randomBytes } from "node:crypto";
import { LEVEL_LABELS, type Level } from "../../workflows/index.ts";
import type { NoticeRecord } from "./issuer.ts";
import { ProviderError, redact } from "./channels.ts";

export interface SmsSettings {
  endpoint: string;
  accessKeyId?: string;
  accessKeySecret?: string;
  signName?: string;
  templateCode?: string;
  templateText: string;
}

const sha256hex = (s: string | Buffer) => createHash("sha256").update(s).digest("hex");
/** RFC 3986 percent-encoding, as ACS3 canonicalises (space %20, ~ kept, * encoded). */
export const acsEncode = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

export interface AcsRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: string;
}

/**
 * The ACS3-HMAC-SHA256 signature of a request whose headers already hold host, x-acs-action,
 * x-acs-version, x-acs-date, x-acs-signature-nonce and x-acs-content-sha256: every one of them (and
 * content-type) is signed.
 */
export function acs3Signature(req: AcsRequest, accessKeySecret: string): { signature: string; signedHeaders: string } {
  const query = Object.keys(req.query)
    .sort()
    .map((k) => `${acsEncode(k)}=${acsEncode(req.query[k]!)}`)
    .join("&");
  const names = Object.keys(req.headers)
    .map((h) => h.toLowerCase())
    .filter((h) => h === "host" || h === "content-type" || h.startsWith("x-acs-"))
    .sort();
  const lower = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), v.trim()]));
  const canonicalHeaders = names.map((h) => `${h}:${lower[h]}\n`).join("");
  const signedHeaders = names.join(";");
  const canonical = [req.method.toUpperCase(), req.path || "/", query, canonicalHeaders, signedHeaders, lower["x-acs-content-sha256"] ?? sha256hex(req.body)].join("\n");
  const stringToSign = `ACS3-HMAC-SHA256\n${sha256hex(canonical)}`;
  return { signature: createHmac("sha256", accessKeySecret).update(stringToSign).digest("hex"), signedHeaders };
}

/** Characters as the carriers count them (one per code point, Latin or Chinese alike). */
const chars = (s: string) => [...s].length;
/** At most 35 characters per variable (the providers' default). */
export const PARAM_MAX = 35;
const cut = (s: string) => (chars(s) > PARAM_MAX ? `${[...s].slice(0, PARAM_MAX - 1).join("")}…` : s);

/** Billed messages for one SMS: 70 characters in one, 67 per part when longer; the 【signature】 counts. */
export function segments(signName: string, text: string): number {
  const n = chars(`【${signName}】${text}`);
  return n <= 70 ? 1 : Math.ceil(n / 67);
}

/** The template's parameters for a notice. */
export function smsParams(n: NoticeRecord, unitName: string): Record<string, string> {
  return {
    unit: cut(unitName),
    level: cut(LEVEL_LABELS[n.level as Level] ?? n.level),
    ledger: cut(n.number ?? n.ledgerNumber),
    title: cut(n.caseTitle),
    deadline: cut(n.deadline ?? "未定"),
  };
}

/** The template's text with its parameters, as the phone shows it after the signature. */
export const fillTemplate = (template: string, params: Record<string, string>) => template.replace(/\$\{(\w+)\}/g, (_, k: string) => params[k] ?? "");

/** SendSms answers meaning "not sent, try later". */
const RATE = new Set(["isv.BUSINESS_LIMIT_CONTROL", "Throttling", "Throttling.User", "Throttling.Api", "isv.DAY_LIMIT_CONTROL"]);
/** Answers meaning the provider's own passing fault (it sent nothing). */
const RETRY = new Set(["ServiceUnavailable", "InternalError", "isp.SYSTEM_ERROR", "isp.RAM_PERMISSION_DENY"]);

/** The masked numbers a message went to, as the delivery shows them. */
export const maskMobile = (m: string) => `${m.slice(0, 3)}****${m.slice(-4)}`;

export interface SmsSend {
  request: AcsRequest & { url: string };
  segments: number;
  target: string;
}

/** The signed SendSms request for a notice to the given mobiles; throws (permanent) while SMS is not set up. */
export function smsRequest(s: SmsSettings, n: NoticeRecord, unitName: string, mobiles: string[], outId: string, now: Date): SmsSend {
  if (!s.accessKeyId || !s.accessKeySecret || !s.signName || !s.templateCode) throw new ProviderError("未配置短信服务（SMS_ACCESS_KEY_ID、SMS_ACCESS_KEY_SECRET、SMS_SIGN_NAME、SMS_TEMPLATE_CODE）", "permanent");
  if (!mobiles.length) throw new ProviderError("未配置接收短信的手机号", "permanent");
  const params = smsParams(n, unitName);
  const url = new URL(s.endpoint);
  const query = { PhoneNumbers: mobiles.join(","), SignName: s.signName, TemplateCode: s.templateCode, TemplateParam: JSON.stringify(params), OutId: outId.slice(0, 256) };
  const headers: Record<string, string> = {
    host: url.host,
    "x-acs-action": "SendSms",
    "x-acs-version": "2017-05-25",
    "x-acs-date": now.toISOString().replace(/\.\d{3}Z$/, "Z"),
    "x-acs-signature-nonce": randomBytes(16).toString("hex"),
    "x-acs-content-sha256": sha256hex(""),
  };
  const req = { method: "POST", path: "/", query, headers, body: "" };
  const { signature, signedHeaders } = acs3Signature(req, s.accessKeySecret);
  headers.authorization = `ACS3-HMAC-SHA256 Credential=${s.accessKeyId},SignedHeaders=${signedHeaders},Signature=${signature}`;
  const qs = Object.entries(query)
    .map(([k, v]) => `${acsEncode(k)}=${acsEncode(v)}`)
    .join("&");
  const segs = segments(s.signName, fillTemplate(s.templateText, params));
  return {
    request: { ...req, url: `${url.origin}/?${qs}` },
    segments: segs,
    target: `短信 ${mobiles.map(maskMobile).join("、")}（每条计 ${segs} 条）`,
  };
}

/**
 * Reads SendSms's answer. Returns the BizId when sent; a ProviderError with `sent: false` when the
 * provider answered that it sent nothing (retry or permanent); throws with `ambiguous` when the
 * answer cannot be read (the provider may have sent).
 */
export function checkSmsAnswer(status: number, text: string, secrets: string[]): string {
  let body: { Code?: string; Message?: string; BizId?: string } | null = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  if (!body || typeof body.Code !== "string") throw new SmsAmbiguous(`短信服务返回 HTTP ${status}，无法识别的应答`);
  if (body.Code === "OK") return body.BizId ?? "";
  const shown = `短信服务返回 ${body.Code}：${redact(body.Message ?? "", secrets)}`;
  throw new ProviderError(shown, RATE.has(body.Code) ? "rate" : RETRY.has(body.Code) ? "retry" : "permanent");
}

/** The provider may or may not have sent: never sent again automatically. */
export class SmsAmbiguous extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SmsAmbiguous";
  }
}
