/**
 * C2SP signed notes with Ed25519 keys, and the tlog-checkpoint body they carry. Keys are written as
 * the Go sumdb/note tooling writes them:
 *   signer:   PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 ‖ 32-byte seed)>
 *   verifier: <name>+<hex key id>+<base64(0x01 ‖ 32-byte public key)>
 * where key id = the first 4 bytes of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key). Pure: no I/O.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from "node:crypto";

const ED25519 = 0x01;
const DASH = "\u2014 ";
// PKCS#8 and SPKI prefixes of a raw Ed25519 key (RFC 8410).
const PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

export class NoteError extends Error {}

export interface Signer {
  name: string;
  keyId: Buffer;
  sign(text: string): Buffer;
  verifier: Verifier;
}

export interface Verifier {
  name: string;
  keyId: Buffer;
  /** The verifier key as text, for publishing. */
  vkey: string;
  verify(text: string, signature: Buffer): boolean;
}

const hasControl = (s: string) => [...s].some((ch) => ch.charCodeAt(0) < 0x20);

/** A key name: non-empty, no Unicode space, no '+'. */
export function checkKeyName(name: string): string {
  if (!name || /[\s+]/u.test(name) || hasControl(name)) throw new NoteError(`密钥名称“${name}”无效：不能为空，不能含空白或“+”`);
  return name;
}

export const keyIdOf = (name: string, publicKey: Buffer) =>
  createHash("sha256").update(name).update(Buffer.of(0x0a, ED25519)).update(publicKey).digest().subarray(0, 4);

const rawPublic = (key: KeyObject) => createPublicKey(key).export({ format: "der", type: "spki" }).subarray(SPKI_PREFIX.length);

/** A new signer key for this name, as text (keep it secret). */
export function generateSignerKey(name: string): string {
  checkKeyName(name);
  const { privateKey } = generateKeyPairSync("ed25519");
  const seed = privateKey.export({ format: "der", type: "pkcs8" }).subarray(PKCS8_PREFIX.length);
  const id = keyIdOf(name, rawPublic(privateKey));
  return `PRIVATE+KEY+${name}+${id.toString("hex")}+${Buffer.concat([Buffer.of(ED25519), seed]).toString("base64")}`;
}

/** name+id+key, where the base64 key may itself hold '+'. */
function keyParts(t: string): [string, string, string] | null {
  const m = /^([^+]+)\+([0-9a-fA-F]{8})\+([A-Za-z0-9+/=]+)$/.exec(t);
  return m ? [m[1]!, m[2]!, m[3]!] : null;
}

/** Reads a signer key (generateSignerKey's text). */
export function parseSignerKey(text: string): Signer {
  const t = text.trim();
  const parts = t.startsWith("PRIVATE+KEY+") ? keyParts(t.slice("PRIVATE+KEY+".length)) : null;
  if (!parts) throw new NoteError("签名密钥格式不对：应为 PRIVATE+KEY+名称+密钥号+密钥");
  const [name, idHex, b64] = parts;
  checkKeyName(name);
  const raw = Buffer.from(b64, "base64");
  if (raw.length !== 33 || raw[0] !== ED25519) throw new NoteError("签名密钥不是 Ed25519 密钥");
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, raw.subarray(1)]), format: "der", type: "pkcs8" });
  const verifier = makeVerifier(name, rawPublic(key));
  if (verifier.keyId.toString("hex") !== idHex.toLowerCase()) throw new NoteError("签名密钥的密钥号与密钥不符");
  return { name, keyId: verifier.keyId, verifier, sign: (t) => sign(null, Buffer.from(t, "utf8"), key) };
}

/** Reads a verifier key (`name+keyid+base64`). */
export function parseVerifierKey(text: string): Verifier {
  const parts = keyParts(text.trim());
  if (!parts) throw new NoteError(`验证公钥格式不对：${text.trim().slice(0, 80)}`);
  const [name, idHex, b64] = parts;
  checkKeyName(name);
  const raw = Buffer.from(b64, "base64");
  if (raw.length !== 33 || raw[0] !== ED25519) throw new NoteError("验证公钥不是 Ed25519 公钥");
  const verifier = makeVerifier(name, raw.subarray(1));
  if (verifier.keyId.toString("hex") !== idHex.toLowerCase()) throw new NoteError("验证公钥的密钥号与公钥不符");
  return verifier;
}

function makeVerifier(name: string, publicKey: Buffer): Verifier {
  const keyId = keyIdOf(name, publicKey);
  const key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: "der", type: "spki" });
  return {
    name,
    keyId,
    vkey: `${name}+${keyId.toString("hex")}+${Buffer.concat([Buffer.of(ED25519), publicKey]).toString("base64")}`,
    verify: (t, sig) => sig.length === 64 && verify(null, Buffer.from(t, "utf8"), key, sig),
  };
}

/** Signs a note text (which ends in a newline) with these keys. */
export function signNote(text: string, signers: Signer[]): string {
  if (!text.endsWith("\n") || text.includes("\n\n") || hasControl(text.replaceAll("\n", ""))) throw new NoteError("note text must end in a newline, with no blank line or control character");
  const lines = signers.map((s) => `${DASH}${s.name} ${Buffer.concat([s.keyId, s.sign(text)]).toString("base64")}\n`);
  return `${text}\n${lines.join("")}`;
}

export interface OpenedNote {
  text: string;
  /** Names of the known keys whose signatures verified (unknown keys' lines are ignored, as the spec says). */
  signedBy: string[];
}

/**
 * Verifies a signed note against known keys: at least one known key must have signed it, and any line
 * of a known key that does not verify rejects the note.
 */
export function openNote(note: string, verifiers: Verifier[]): OpenedNote {
  if (note.length > 1_000_000) throw new NoteError("签名记录过长");
  const cut = note.lastIndexOf("\n\n");
  if (cut < 0 || !note.endsWith("\n")) throw new NoteError("不是签名记录：没有空行分隔的签名");
  const text = note.slice(0, cut + 1);
  const sigLines = note.slice(cut + 2, -1).split("\n");
  if (sigLines.length > 100) throw new NoteError("签名过多");
  const signedBy: string[] = [];
  for (const line of sigLines) {
    const m = /^\u2014 (\S+) (\S+)$/u.exec(line);
    if (!m) throw new NoteError(`签名行格式不对：${line.slice(0, 80)}`);
    const raw = Buffer.from(m[2]!, "base64");
    if (raw.length < 5) throw new NoteError("签名过短");
    const known = verifiers.find((v) => v.name === m[1] && v.keyId.equals(raw.subarray(0, 4)));
    if (!known) continue;
    if (!known.verify(text, raw.subarray(4))) throw new NoteError(`密钥 ${known.name}+${known.keyId.toString("hex")} 的签名不成立（记录被改动）`);
    signedBy.push(`${known.name}+${known.keyId.toString("hex")}`);
  }
  if (!signedBy.length) throw new NoteError("没有已知密钥的签名（签名密钥未配置为验证公钥？）");
  return { text, signedBy };
}

export interface Checkpoint {
  origin: string;
  size: number;
  /** The RFC 6962 root hash. */
  root: Buffer;
  /** Extension lines after the first three. */
  extensions: string[];
}

/** The tlog-checkpoint body: origin, tree size, base64 root hash, then extension lines. */
export function checkpointText(c: Checkpoint): string {
  return [c.origin, String(c.size), c.root.toString("base64"), ...c.extensions].map((l) => `${l}\n`).join("");
}

export function parseCheckpoint(text: string): Checkpoint {
  const lines = text.split("\n");
  if (lines.pop() !== "" || lines.length < 3) throw new NoteError("检查点格式不对：至少三行，以换行结尾");
  const [origin, size, root, ...extensions] = lines as [string, string, string, ...string[]];
  if (!origin) throw new NoteError("检查点缺少日志名称");
  if (!/^(0|[1-9]\d{0,15})$/.test(size)) throw new NoteError("检查点的树大小不是十进制数");
  const hash = Buffer.from(root, "base64");
  if (hash.length !== 32 || hash.toString("base64") !== root) throw new NoteError("检查点的根哈希不是 32 字节的 base64");
  return { origin, size: Number(size), root: hash, extensions };
}
