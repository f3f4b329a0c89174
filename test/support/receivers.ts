/**
 * Real receivers on loopback for delivery tests: an SMTP server (smtp-server, no TLS, no auth)
 * and an HTTP server (node:http) that record what reached them, plus small MIME and polling helpers.
 */
import { once } from "node:events";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SMTPServer, type SMTPServerError } from "smtp-server";

/** Resolves when f returns something truthy; throws after ms (what names what was awaited). */
export async function until<T>(what: string, f: () => Promise<T | null | undefined | false> | T | null | undefined | false, ms = 15_000, every = 50): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(every);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A BullMQ prefix of its own for one test ([a-zA-Z0-9_-] only). */
export const freshPrefix = (tag = "t") => `${tag}${Date.now()}${Math.random().toString(36).slice(2, 10)}`;

// ---------------------------------------------------------------- MIME

/** Header block → lower-cased name → unfolded value (the last one wins). */
export function parseHeaders(block: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of block.replace(/\r?\n[ \t]+/g, " ").split(/\r?\n/)) {
    const i = line.indexOf(":");
    if (i > 0) out.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
  }
  return out;
}

function splitEntity(raw: string): { headers: Map<string, string>; body: string } {
  const m = /\r?\n\r?\n/.exec(raw);
  if (!m) return { headers: parseHeaders(raw), body: "" };
  return { headers: parseHeaders(raw.slice(0, m.index)), body: raw.slice(m.index + m[0].length) };
}

function decodeBody(body: string, encoding: string | undefined): string {
  const enc = (encoding ?? "7bit").toLowerCase();
  if (enc === "base64") return Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
  if (enc === "quoted-printable") {
    const soft = body.replace(/=\r?\n/g, "");
    const bytes: number[] = [];
    for (let i = 0; i < soft.length; i++) {
      const ch = soft[i]!;
      const hex = soft.slice(i + 1, i + 3);
      if (ch === "=" && /^[0-9A-Fa-f]{2}$/.test(hex)) {
        bytes.push(Number.parseInt(hex, 16));
        i += 2;
      } else bytes.push(...Buffer.from(ch, "utf8"));
    }
    return Buffer.from(bytes).toString("utf8");
  }
  return body;
}

/** The decoded text/html part of a raw message (single part or multipart), or null. */
export function htmlOf(raw: string): string | null {
  const { headers, body } = splitEntity(raw);
  const type = headers.get("content-type") ?? "text/plain";
  if (/^multipart\//i.test(type)) {
    const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
    if (!boundary) return null;
    for (const part of body.split(`--${boundary}`).slice(1)) {
      if (part.startsWith("--")) break;
      const html = htmlOf(part.replace(/^\r?\n/, ""));
      if (html !== null) return html;
    }
    return null;
  }
  if (!/^text\/html/i.test(type)) return null;
  return decodeBody(body, headers.get("content-transfer-encoding"));
}

// ---------------------------------------------------------------- SMTP

export interface ReceivedMail {
  noticeId: string | undefined;
  messageId: string | undefined;
  subject: string | undefined;
  from: string | undefined;
  to: string[];
  html: string | null;
  raw: string;
  at: number;
}

export interface SmtpOptions {
  /** Delay before the server answers the end of DATA (the message is "in flight" meanwhile). */
  delayMs?: number;
  /** An error to answer the end of DATA with (e.g. a 550), given the attempt number (1-based). */
  reject?: (attempt: number) => SMTPServerError | null;
  /** Holds the answer to the end of DATA until this resolves (given the message's notice id). */
  hold?: (noticeId: string | undefined) => Promise<void>;
}

export interface SmtpReceiver {
  port: number;
  url: string;
  /** Messages the server accepted (answered 250 to). */
  accepted: ReceivedMail[];
  /** Every DATA transaction the server saw, accepted or not. */
  transactions: number;
  close(): Promise<void>;
}

export async function startSmtp(opts: SmtpOptions = {}): Promise<SmtpReceiver> {
  const state = { accepted: [] as ReceivedMail[], transactions: 0 };
  const server = new SMTPServer({
    secure: false,
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    closeTimeout: 500,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const attempt = ++state.transactions;
        const rejection = opts.reject?.(attempt) ?? null;
        const raw = Buffer.concat(chunks).toString("utf8");
        const { headers } = splitEntity(raw);
        const finish = () => {
          if (rejection) return callback(rejection);
          state.accepted.push({
            noticeId: headers.get("x-rectiflow-notice-id"),
            messageId: headers.get("message-id"),
            subject: headers.get("subject"),
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined,
            to: session.envelope.rcptTo.map((r) => r.address),
            html: htmlOf(raw),
            raw,
            at: Date.now(),
          });
          callback(null, "queued");
        };
        const held = opts.hold ? opts.hold(headers.get("x-rectiflow-notice-id")) : Promise.resolve();
        void held.then(() => (opts.delayMs ? setTimeout(finish, opts.delayMs) : finish()));
      });
    },
  });
  // A client killed mid-transaction resets its socket; that is expected here.
  server.on("error", () => {});
  server.listen(0, "127.0.0.1");
  await once(server.server, "listening");
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    get accepted() {
      return state.accepted;
    },
    get transactions() {
      return state.transactions;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** An SMTP error with a reply code, as onData callbacks pass it. */
export function smtpError(code: number, message: string): SMTPServerError {
  return Object.assign(new Error(message), { responseCode: code });
}

// ---------------------------------------------------------------- HTTP

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
  at: number;
}

export interface HttpReceiver {
  port: number;
  url: (path?: string) => string;
  requests: ReceivedRequest[];
  close(): Promise<void>;
}

/**
 * An HTTP receiver; status(n, path) gives the status of the n-th request (1-based), 200 by default;
 * hold, when given, delays the answer until it resolves. Used by the tests and the soak.
 */
export async function startHttp(
  status: (n: number, path: string) => number = () => 200,
  hold?: (headers: IncomingHttpHeaders) => Promise<void>,
): Promise<HttpReceiver> {
  const requests: ReceivedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      if (hold) await hold(req.headers);
      const code = status(requests.length + 1, req.url ?? "");
      requests.push({
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
        status: code,
        at: Date.now(),
      });
      res.writeHead(code, { "content-type": "text/plain" }).end(code < 300 ? "ok" : "receiver error");
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: (path = "/hook") => `http://127.0.0.1:${port}${path}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Lets `parties` callers with the same key go on together: each waits until all arrived
 * (or until `timeoutMs`, so a missing party never hangs a test).
 */
export class Rendezvous {
  private waiting = new Map<string, { count: number; release: () => void; done: Promise<void> }>();
  constructor(
    private readonly parties = 2,
    private readonly timeoutMs = 3000,
  ) {}
  meet(key: string | undefined): Promise<void> {
    const k = key ?? "";
    let w = this.waiting.get(k);
    if (!w) {
      let release!: () => void;
      const done = new Promise<void>((r) => {
        release = r;
      });
      w = { count: 0, release, done };
      this.waiting.set(k, w);
      const timer = setTimeout(release, this.timeoutMs);
      void done.then(() => clearTimeout(timer));
    }
    if (++w.count >= this.parties) w.release();
    return w.done;
  }
}

/** How often each value occurs. */
export function tally<T>(values: T[]): Map<T, number> {
  const m = new Map<T, number>();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return m;
}
