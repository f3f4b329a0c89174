/**
 * Local fakes of the providers the channels talk to, one HTTP server each, on loopback. Each one
 * checks what its provider documents, independently of src/ (its own signature code, written from
 * the documentation): the signature, the body's shape and size, its rate limit; and answers as the
 * provider does, an HTTP 200 with the error code in the body. They record every request and what
 * they answered, and can be told to answer a given code (`force`) or to hold an answer (`hold`).
 *
 * - 企业微信: POST /cgi-bin/webhook/send?key=K; text ≤ 2,048 bytes, markdown ≤ 4,096; 20 a minute → 45009;
 *   an unknown key → 93000 (its errmsg echoes the caller's IP, as the real one does).
 * - 钉钉: POST /robot/send?access_token=T&timestamp=MS&sign=S; sign = base64(HMAC-SHA256(secret,
 *   ts+"\n"+secret)) within an hour → else 310000; 20 a minute → 130101, then the robot is blocked 10 minutes.
 * - 飞书: POST /open-apis/bot/v2/hook/ID with timestamp (s) and sign in the body; sign =
 *   base64(HMAC-SHA256(key = ts+"\n"+secret, msg = "")) → else 19021; 5 a second → 11232, 100 a minute → 9499;
 *   a mention must be `<at user_id="ou_<32 hex>">name</at>` (open_id) → else 19002.
 * - Aliyun dysms: SendSms with ACS3-HMAC-SHA256 → SignatureDoesNotMatch; template parameters ≤ 35
 *   characters → isv.PARAM_LENGTH_LIMIT; an unknown template → isv.SMS_TEMPLATE_ILLEGAL.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeRequest {
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage["headers"];
  body: string;
  json: Record<string, unknown> | null;
  at: number;
  /** What the fake answered: 0 / "OK" when accepted. */
  code: number | string;
}

export interface Fake {
  base: string;
  /** Every request, answered or not. */
  requests: FakeRequest[];
  /** The requests the fake accepted (the messages that reached the group or phone). */
  accepted(): FakeRequest[];
  /** Answers the n-th request (1-based) with this code instead of checking it, when it returns one. */
  force: (n: number) => number | string | null;
  /** Holds the answer to a request until this resolves (the request is recorded first). */
  hold: ((r: FakeRequest) => Promise<void>) | null;
  close(): Promise<void>;
}

/** A sliding log per robot: whether one more send now stays within every window. */
class Windows {
  private log = new Map<string, number[]>();
  constructor(private readonly windows: { limit: number; ms: number; code: number }[]) {}
  /** The code of the window exceeded, or null (and the send is counted). */
  hit(robot: string, now: number): number | null {
    const longest = Math.max(...this.windows.map((w) => w.ms));
    const times = (this.log.get(robot) ?? []).filter((t) => t > now - longest);
    for (const w of this.windows) if (times.filter((t) => t > now - w.ms).length >= w.limit) return w.code;
    times.push(now);
    this.log.set(robot, times);
    return null;
  }
  /** Most sends that fell in any span of ms (for tests). */
  static busiest(times: number[], ms: number): number {
    let most = 0;
    const sorted = [...times].sort((a, b) => a - b);
    for (let i = 0, j = 0; i < sorted.length; i++) {
      while (sorted[i]! - sorted[j]! >= ms) j++;
      most = Math.max(most, i - j + 1);
    }
    return most;
  }
}
export const busiest = Windows.busiest;

type Answer = { status?: number; body: Record<string, unknown>; code: number | string };

async function serve(handle: (r: FakeRequest, req: IncomingMessage) => Answer, answerOf: (code: number | string) => Answer): Promise<Fake> {
  const requests: FakeRequest[] = [];
  const fake: Fake = {
    base: "",
    requests,
    accepted: () => requests.filter((r) => r.code === 0 || r.code === "OK"),
    force: () => null,
    hold: null,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const url = new URL(req.url ?? "/", "http://fake");
      const body = Buffer.concat(chunks).toString("utf8");
      let json: Record<string, unknown> | null = null;
      try {
        json = body ? JSON.parse(body) : null;
      } catch {
        json = null;
      }
      const r: FakeRequest = { path: url.pathname, query: url.searchParams, headers: req.headers, body, json, at: Date.now(), code: -999 };
      requests.push(r);
      const forced = fake.force(requests.length);
      const a = forced !== null ? answerOf(forced) : handle(r, req);
      r.code = a.code;
      if (fake.hold) await fake.hold(r);
      if (res.destroyed) return;
      res.writeHead(a.status ?? 200, { "content-type": "application/json; charset=utf-8" }).end(JSON.stringify(a.body));
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  fake.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = fake.close;
  fake.close = () => {
    server.closeAllConnections();
    return close();
  };
  return fake;
}

const bytes = (s: unknown) => Buffer.byteLength(String(s ?? ""), "utf8");
const strings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === "string");
const equal = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

// ---------------------------------------------------------------- 企业微信

export async function fakeWecom(keys: string[]): Promise<Fake> {
  const limit = new Windows([{ limit: 20, ms: 60_000, code: 45009 }]);
  const msg: Record<number, string> = {
    0: "ok",
    45009: "api freq out of limit, from ip: 127.0.0.1, more info at https://open.work.weixin.qq.com/devtool/query?e=45009",
    93000: "invalid webhook url, hint: [1733457600_abc], from ip: 127.0.0.1, more info at https://open.work.weixin.qq.com/devtool/query?e=93000",
    40058: "markdown.content exceed max length 4096. invalid Request Parameter, hint: [1733457600_abc], from ip: 127.0.0.1",
    44004: "Warning: wrong json format. text content exceed max length 2048, hint: [1733457600_abc], from ip: 127.0.0.1",
    40008: "invalid message type, from ip: 127.0.0.1",
  };
  const answerOf = (code: number | string): Answer => ({ code, body: { errcode: code, errmsg: msg[code as number] ?? "error" } });
  return serve((r) => {
    const key = r.query.get("key") ?? "";
    if (r.path !== "/cgi-bin/webhook/send" || !keys.includes(key)) return answerOf(93000);
    const j = r.json;
    if (j?.msgtype === "text") {
      const t = j.text as Record<string, unknown> | undefined;
      if (typeof t?.content !== "string") return answerOf(40008);
      if (bytes(t.content) > 2048) return answerOf(44004);
      if (t.mentioned_mobile_list !== undefined && !strings(t.mentioned_mobile_list)) return answerOf(40008);
    } else if (j?.msgtype === "markdown") {
      const m = j.markdown as Record<string, unknown> | undefined;
      if (typeof m?.content !== "string") return answerOf(40008);
      if (bytes(m.content) > 4096) return answerOf(40058);
    } else return answerOf(40008);
    return answerOf(limit.hit(key, r.at) ?? 0);
  }, answerOf);
}

// ---------------------------------------------------------------- 钉钉

/** 钉钉's documented 加签, written again here from its documentation (not imported from src/). */
export const dingtalkExpected = (secret: string, timestamp: string) => createHmac("sha256", Buffer.from(secret, "utf8")).update(Buffer.from(`${timestamp}\n${secret}`, "utf8")).digest("base64");

export interface DingtalkFake extends Fake {
  /** Mobiles in at.atMobiles without "@mobile" in the text (钉钉 would not highlight them). */
  unhighlighted: string[];
}

export async function fakeDingtalk(robots: Record<string, string>): Promise<DingtalkFake> {
  const limit = new Windows([{ limit: 20, ms: 60_000, code: 130101 }]);
  const blockedUntil = new Map<string, number>();
  const unhighlighted: string[] = [];
  const msg: Record<number, string> = {
    0: "ok",
    130101: "send too fast, exceed 20 times per minute",
    310000: "sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]",
    300001: "token is not exist",
    460101: "message too long, exceed 20000 bytes",
    40035: "缺少参数 json",
  };
  const answerOf = (code: number | string): Answer => ({ code, body: { errcode: code, errmsg: msg[code as number] ?? "error" } });
  const fake = await serve((r) => {
    const token = r.query.get("access_token") ?? "";
    const secret = robots[token];
    if (r.path !== "/robot/send" || secret === undefined) return answerOf(300001);
    const ts = r.query.get("timestamp") ?? "";
    // URLSearchParams has decoded the sign once, as 钉钉 does.
    const sign = r.query.get("sign") ?? "";
    if (!/^\d{13}$/.test(ts) || Math.abs(Date.now() - Number(ts)) > 3600_000 || !equal(sign, dingtalkExpected(secret, ts))) return answerOf(310000);
    if ((blockedUntil.get(token) ?? 0) > r.at) return answerOf(130101);
    const j = r.json;
    const text = j?.msgtype === "markdown" ? (j.markdown as Record<string, unknown>)?.text : j?.msgtype === "actionCard" ? (j.actionCard as Record<string, unknown>)?.text : j?.msgtype === "text" ? (j.text as Record<string, unknown>)?.content : undefined;
    if (typeof text !== "string") return answerOf(40035);
    if (j?.msgtype === "actionCard") {
      const card = j.actionCard as Record<string, unknown>;
      if (typeof card.title !== "string" || typeof card.singleTitle !== "string" || typeof card.singleURL !== "string") return answerOf(40035);
    }
    if (j?.msgtype === "markdown" && typeof (j.markdown as Record<string, unknown>).title !== "string") return answerOf(40035);
    if (bytes(r.body) > 20_000 + 2_000 || bytes(text) > 20_000) return answerOf(460101);
    const at = (j?.at as { atMobiles?: unknown } | undefined)?.atMobiles;
    if (at !== undefined && !strings(at)) return answerOf(40035);
    for (const m of (at as string[] | undefined) ?? []) if (!text.includes(`@${m}`)) unhighlighted.push(m);
    const over = limit.hit(token, r.at);
    if (over) blockedUntil.set(token, r.at + 10 * 60_000);
    return answerOf(over ?? 0);
  }, answerOf);
  return Object.assign(fake, { unhighlighted });
}

// ---------------------------------------------------------------- 飞书

/** 飞书's documented 签名校验: the string timestamp+"\n"+secret is the HMAC key, the message is empty. */
export const feishuExpected = (secret: string, timestamp: string) => createHmac("sha256", Buffer.from(`${timestamp}\n${secret}`, "utf8")).update(Buffer.alloc(0)).digest("base64");

export interface FeishuFake extends Fake {
  /** The open_ids @-mentioned in accepted messages. */
  mentioned: string[];
}

/** 飞书's mention in a text message: `<at user_id="ou_…">name</at>` (open_id), or user_id="all". */
const FEISHU_AT = /^<at user_id="(ou_[0-9a-f]{32}|all)">[^<]*<\/at>$/;

export async function fakeFeishu(hooks: Record<string, string>): Promise<FeishuFake> {
  const mentioned: string[] = [];
  const limit = new Windows([
    { limit: 5, ms: 1_000, code: 11232 },
    { limit: 100, ms: 60_000, code: 9499 },
  ]);
  const msg: Record<number, string> = {
    0: "success",
    19021: "sign match fail or timestamp is not within one hour from current time",
    19001: "param invalid: incoming webhook access token invalid",
    11232: "frequency limited psm[lark.oapi.app_platform_runtime]appID[1]",
    9499: "Too Many Request",
    19002: "params error, msg_type need",
  };
  const answerOf = (code: number | string): Answer => ({ code, body: { code, msg: msg[code as number] ?? "error", data: {} } });
  const fake = await serve((r) => {
    const m = /^\/open-apis\/bot\/v2\/hook\/([^/]+)$/.exec(r.path);
    const hook = m ? decodeURIComponent(m[1]!) : "";
    const secret = hooks[hook];
    if (secret === undefined) return answerOf(19001);
    const j = r.json;
    const ts = j?.timestamp;
    if (typeof ts !== "string" || !/^\d{10}$/.test(ts) || Math.abs(Date.now() / 1000 - Number(ts)) > 3600 || typeof j?.sign !== "string" || !equal(j.sign, feishuExpected(secret, ts))) return answerOf(19021);
    if (bytes(r.body) > 20 * 1024) return answerOf(19002);
    const text = (j.content as Record<string, unknown> | undefined)?.text;
    if (j.msg_type !== "text" || typeof text !== "string") return answerOf(19002);
    // Every <at …> must be a whole tag of the documented shape (a mobile or a malformed id is not a mention).
    const tags = text.match(/<at\b[^>]*>[^<]*(<\/at>)?/g) ?? [];
    if (tags.some((t) => !FEISHU_AT.test(t))) return answerOf(19002);
    const over = limit.hit(hook, r.at);
    if (!over) for (const t of tags) mentioned.push(FEISHU_AT.exec(t)![1]!);
    return answerOf(over ?? 0);
  }, answerOf);
  return Object.assign(fake, { mentioned });
}

// ---------------------------------------------------------------- Aliyun dysms

const rfc3986 = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const hex256 = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");

/** ACS3-HMAC-SHA256 as Aliyun documents it, from the received request (the fake's own code). */
export function acs3Expected(method: string, path: string, query: URLSearchParams, headers: IncomingMessage["headers"], signedHeaders: string, body: string, secret: string): string {
  const q = [...query.entries()]
    .map(([k, v]) => [rfc3986(k), rfc3986(v)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const names = signedHeaders.split(";");
  const canonicalHeaders = names.map((h) => `${h}:${String(headers[h] ?? "").trim()}\n`).join("");
  const canonicalRequest = `${method}\n${path}\n${q}\n${canonicalHeaders}\n${signedHeaders}\n${hex256(body)}`;
  return createHmac("sha256", secret).update(`ACS3-HMAC-SHA256\n${hex256(canonicalRequest)}`).digest("hex");
}

export interface SmsFake extends Fake {
  /** The messages accepted, one per phone number, with the template's parameters. */
  messages(): { phone: string; params: Record<string, string>; outId: string | null }[];
}

/** An SMS account as the fake provider knows it. */
export interface SmsAccount {
  accessKeyId: string;
  accessKeySecret: string;
  signName: string;
  templates: string[];
}

/**
 * The settings that point the app's channels at these fakes (tests, bench and soak alike): each
 * provider's base URL, and for SMS the account the app signs with (its first template).
 */
export function providerEnv(fakes: { wecom?: Fake; dingtalk?: Fake; feishu?: Fake; sms?: Fake }, account?: SmsAccount): Record<string, string> {
  if (fakes.sms && !account) throw new Error("providerEnv: the SMS fake needs the account the app signs with");
  return {
    ...(fakes.wecom && { WECOM_BASE_URL: fakes.wecom.base }),
    ...(fakes.dingtalk && { DINGTALK_BASE_URL: fakes.dingtalk.base }),
    ...(fakes.feishu && { FEISHU_BASE_URL: fakes.feishu.base }),
    ...(fakes.sms && account && { SMS_ENDPOINT: fakes.sms.base, SMS_ACCESS_KEY_ID: account.accessKeyId, SMS_ACCESS_KEY_SECRET: account.accessKeySecret, SMS_SIGN_NAME: account.signName, SMS_TEMPLATE_CODE: account.templates[0]! }),
  };
}

export async function fakeSms(opts: SmsAccount): Promise<SmsFake> {
  const err = (Code: string, Message: string, status = 200): Answer => ({ status, code: Code, body: { RequestId: "F0000000-0000-0000-0000-000000000000", Code, Message } });
  let biz = 0;
  const answerOf = (code: number | string): Answer => {
    if (code === "OK") return { code, body: { RequestId: "F0000000-0000-0000-0000-000000000000", Code: "OK", Message: "OK", BizId: `${++biz}^0` } };
    if (code === "isv.BUSINESS_LIMIT_CONTROL") return err(String(code), "触发分钟级流控Permits:1");
    return err(String(code), String(code));
  };
  const fake = await serve((r, req) => {
    const auth = String(r.headers.authorization ?? "");
    const m = /^ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]{64})$/.exec(auth);
    if (!m) return err("IncompleteSignature", "The request signature does not conform to Aliyun standards.", 400);
    if (m[1] !== opts.accessKeyId) return err("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404);
    const signed = m[2]!.split(";");
    for (const h of ["host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"]) if (!signed.includes(h)) return err("IncompleteSignature", `${h} is not signed`, 400);
    if (r.headers["x-acs-content-sha256"] !== hex256(r.body)) return err("IncompleteSignature", "x-acs-content-sha256 does not match the body", 400);
    const date = Date.parse(String(r.headers["x-acs-date"]));
    if (!(Math.abs(Date.now() - date) < 15 * 60_000)) return err("InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.", 400);
    if (!equal(m[3]!, acs3Expected(req.method ?? "", r.path, r.query, r.headers, m[2]!, r.body, opts.accessKeySecret))) return err("SignatureDoesNotMatch", "Specified signature is not matched with our calculation.", 400);
    if (r.headers["x-acs-action"] !== "SendSms" || r.headers["x-acs-version"] !== "2017-05-25") return err("InvalidAction.NotFound", "Specified api is not found", 404);
    const p = r.query;
    if (p.get("SignName") !== opts.signName) return err("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名");
    if (!opts.templates.includes(p.get("TemplateCode") ?? "")) return err("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板");
    const phones = (p.get("PhoneNumbers") ?? "").split(",");
    if (!phones.length || phones.length > 1000 || !phones.every((x) => /^1\d{10}$/.test(x))) return err("isv.MOBILE_NUMBER_ILLEGAL", "手机号码格式错误");
    let params: Record<string, unknown>;
    try {
      params = JSON.parse(p.get("TemplateParam") ?? "{}");
    } catch {
      return err("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值");
    }
    for (const v of Object.values(params)) {
      if (typeof v !== "string") return err("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值");
      if ([...v].length > 35) return err("isv.PARAM_LENGTH_LIMIT", "参数超出长度限制");
      if (/https?:\/\//i.test(v)) return err("isv.PARAM_NOT_SUPPORT_URL", "不支持URL作为变量");
    }
    return answerOf("OK");
  }, answerOf);
  return Object.assign(fake, {
    messages: () =>
      fake.accepted().flatMap((r) => (r.query.get("PhoneNumbers") ?? "").split(",").map((phone) => ({ phone, params: JSON.parse(r.query.get("TemplateParam") ?? "{}"), outId: r.query.get("OutId") }))),
  });
}
