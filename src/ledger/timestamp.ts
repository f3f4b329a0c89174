/**
 * RFC 3161 time-stamp requests: a TimeStampReq for SHA-256 of some bytes (with a nonce, asking for the
 * TSA's certificate), posted to a TSA, and the token out of its TimeStampResp. The token is kept as
 * the TSA gave it; `openssl ts -verify` checks it against the TSA's certificate (docs/ledger.md).
 */
import { createHash, randomBytes } from "node:crypto";

const SHA256_OID = Buffer.from("0609608648016503040201", "hex");

function der(tag: number, body: Buffer): Buffer {
  const n = body.length;
  const len = n < 0x80 ? Buffer.of(n) : n < 0x100 ? Buffer.of(0x81, n) : n < 0x10000 ? Buffer.of(0x82, n >> 8, n & 0xff) : Buffer.of(0x83, n >> 16, (n >> 8) & 0xff, n & 0xff);
  return Buffer.concat([Buffer.of(tag), len, body]);
}
const seq = (...parts: Buffer[]) => der(0x30, Buffer.concat(parts));
/** A positive INTEGER from big-endian bytes. */
const integer = (bytes: Buffer) => der(0x02, bytes[0]! & 0x80 ? Buffer.concat([Buffer.of(0), bytes]) : bytes);

/** A TimeStampReq (DER) for SHA-256 of `data`. */
export function timestampRequest(data: Buffer, nonce = randomBytes(8)): { request: Buffer; digest: Buffer; nonce: Buffer } {
  const digest = createHash("sha256").update(data).digest();
  const request = seq(integer(Buffer.of(1)), seq(seq(SHA256_OID, Buffer.of(0x05, 0x00)), der(0x04, digest)), integer(nonce), Buffer.of(0x01, 0x01, 0xff));
  return { request, digest, nonce };
}

interface Tlv {
  tag: number;
  /** The whole element. */
  all: Buffer;
  body: Buffer;
}

function readTlv(buf: Buffer, at: number): Tlv {
  const tag = buf[at];
  let len = buf[at + 1];
  if (tag === undefined || len === undefined) throw new Error("时间戳应答不完整");
  let head = 2;
  if (len & 0x80) {
    const bytes = len & 0x7f;
    if (bytes < 1 || bytes > 3) throw new Error("时间戳应答的长度无效");
    len = 0;
    for (let i = 0; i < bytes; i++) len = len * 256 + (buf[at + 2 + i] ?? 0);
    head += bytes;
  }
  if (at + head + len > buf.length) throw new Error("时间戳应答不完整");
  return { tag, all: buf.subarray(at, at + head + len), body: buf.subarray(at + head, at + head + len) };
}

/** The token (a CMS ContentInfo, DER) of a granted TimeStampResp; throws on a refusal. */
export function tokenOfReply(reply: Buffer): Buffer {
  const resp = readTlv(reply, 0);
  if (resp.tag !== 0x30) throw new Error("时间戳应答不是 TimeStampResp");
  const status = readTlv(resp.body, 0);
  const code = readTlv(status.body, 0);
  if (status.tag !== 0x30 || code.tag !== 0x02) throw new Error("时间戳应答缺少状态");
  const value = code.body.readUIntBE(0, Math.min(code.body.length, 4));
  if (value !== 0 && value !== 1) throw new Error(`时间戳服务拒绝了请求（状态 ${value}）`);
  if (status.all.length >= resp.body.length) throw new Error("时间戳应答没有令牌");
  return readTlv(resp.body, status.all.length).all;
}

/** Asks a TSA for a token over `data`; the token must carry the data's digest and the request's nonce. */
export async function requestTimestamp(url: string, data: Buffer, timeoutMs = 10_000): Promise<{ token: Buffer; reply: Buffer }> {
  const { request, digest, nonce } = timestampRequest(data);
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/timestamp-query" }, body: new Uint8Array(request), signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`时间戳服务答复 HTTP ${res.status}`);
  const reply = Buffer.from(await res.arrayBuffer());
  const token = tokenOfReply(reply);
  if (!token.includes(digest) || !token.includes(nonce)) throw new Error("时间戳令牌与请求不符（摘要或随机数不同）");
  return { token, reply };
}
