/**
 * The soak's users: office staff and unit liaisons signed in through nginx, each a loop of what they do
 * in a day (list the ledger, open a case, apply an event with an Idempotency-Key, upload evidence,
 * acknowledge notices) with a short pause between actions. Every HTTP attempt is recorded; an event or
 * upload whose answer never came (the web process died, nginx answered 502) is sent again with the same
 * Idempotency-Key, and the retry counted. Every event answered 2xx is kept (case, key, entry seq) for
 * the ledger check. Clients speak https to the TLS terminator in front of nginx, trusting its throw-away
 * certificate (and no other), and plain http to a web process directly.
 */
import { randomUUID } from "node:crypto";
import { Agent as HttpAgent, type IncomingHttpHeaders, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { setTimeout as sleep } from "node:timers/promises";
import { addCalendarDays, shanghaiDate } from "../../workflows/index.ts";
import { PNG } from "../../test/support/fixtures.ts";
import type { WalkedCase } from "./ledger.ts";
import { random } from "./random.ts";

export type Kind = "login" | "list cases" | "open case" | "apply event" | "upload evidence" | "list notices" | "acknowledge notice" | "idempotency probe";

export interface Attempt {
  kind: Kind;
  at: number;
  ms: number;
  /** HTTP status, or 0 when no answer came. */
  status: number;
  /** Why it was not a 2xx (error code or network error), else "". */
  cause: string;
  upstream: string;
}

/** An event the server acknowledged with 2xx. */
export interface Ack {
  caseId: string;
  key: string;
  seq: number;
  type: string;
  username: string;
  replayed: boolean;
  /** Attempts it took (1: no retry). */
  attempts: number;
}

export class Recorder {
  readonly attempts: Attempt[] = [];
  readonly acks: Ack[] = [];
  /** Client retries of POSTs whose answer was lost, by what was lost. */
  readonly retries = new Map<string, number>();
  /** Upstreams (web processes) each session was answered by. */
  readonly upstreamsBySession = new Map<string, Set<string>>();

  retried(cause: string): void {
    this.retries.set(cause, (this.retries.get(cause) ?? 0) + 1);
  }
}

interface Answer {
  status: number;
  body: unknown;
  cause: string;
  upstream: string;
}

/** An answer that never arrived, or one from nginx saying the web process died meanwhile: the request may be sent again. */
const lost = (a: Answer) => a.status === 0 || a.status === 502 || a.status === 503 || a.status === 504;

let clients = 0;

export class Client {
  private cookie = "";
  private csrf = "";
  /** Whether the session cookie came marked Secure (COOKIE_SECURE behind the terminator). */
  secureCookie = false;
  /** One user's session: the user name and which of its clients. */
  readonly session: string;
  /** Kept-alive connections, as a browser keeps them. */
  private readonly plain = new HttpAgent({ keepAlive: true });
  private readonly tls: HttpsAgent;
  /** `ca`: the certificate an https `base` must present (the soak's own, made at start). */
  constructor(
    readonly base: string,
    readonly username: string,
    private readonly password: string,
    private readonly rec: Recorder,
    ca?: string,
  ) {
    this.session = `${username}#${++clients}`;
    this.tls = new HttpsAgent({ keepAlive: true, ca });
  }

  async login(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const res = await this.send("login", "POST", "/api/auth/login", { json: { username: this.username, password: this.password } });
      if (res.status === 200) {
        this.csrf = (res.body as { csrfToken: string }).csrfToken;
        return;
      }
      if (!lost(res) || attempt >= 5) throw new Error(`login as ${this.username}: ${res.status} ${res.cause}`);
      this.rec.retried(`login after ${res.cause}`);
      await sleep(1000);
    }
  }

  /** One HTTP attempt, recorded. */
  async send(kind: Kind, method: string, path: string, o: { json?: unknown; form?: FormData; headers?: Record<string, string>; base?: string } = {}): Promise<Answer> {
    const headers: Record<string, string> = { ...o.headers };
    if (this.cookie) headers.cookie = this.cookie;
    if (method !== "GET" && this.csrf) headers["x-csrf-token"] = this.csrf;
    let payload: Buffer | undefined;
    if (o.form) {
      // The multipart body and its boundary, as fetch would send them.
      const r = new Response(o.form);
      payload = Buffer.from(await r.arrayBuffer());
      headers["content-type"] = r.headers.get("content-type")!;
    } else if (o.json !== undefined) {
      payload = Buffer.from(JSON.stringify(o.json));
      headers["content-type"] = "application/json";
    }
    const t0 = performance.now();
    const at = Date.now();
    let a: Answer;
    try {
      const res = await this.exchange(new URL(`${o.base ?? this.base}${path}`), method, headers, payload);
      const sid = res.headers["set-cookie"]?.find((c) => c.startsWith("rf.sid="));
      if (sid) {
        this.cookie = sid.split(";")[0]!;
        this.secureCookie = /;\s*Secure(;|$)/i.test(sid);
      }
      let body: unknown = res.text;
      try {
        body = JSON.parse(res.text);
      } catch {}
      const ok = res.status >= 200 && res.status < 300;
      const error = (body as { error?: { code?: string; details?: { fields?: { field: string }[] } } })?.error;
      const fields = error?.details?.fields?.map((f) => f.field).join(", ");
      a = { status: res.status, body, cause: ok ? "" : `${res.status} ${error?.code ?? "(no JSON error)"}${fields ? ` (${fields})` : ""}`, upstream: String(res.headers["x-upstream"] ?? "") };
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      a = { status: 0, body: null, cause: `no answer: ${err.code ?? err.name}`, upstream: "" };
    }
    this.rec.attempts.push({ kind, at, ms: performance.now() - t0, status: a.status, cause: a.cause, upstream: a.upstream });
    if (a.upstream && o.base === undefined) {
      const seen = this.rec.upstreamsBySession.get(this.session) ?? this.rec.upstreamsBySession.set(this.session, new Set()).get(this.session)!;
      for (const u of a.upstream.split(/,\s*/)) seen.add(u);
    }
    return a;
  }

  private exchange(url: URL, method: string, headers: Record<string, string>, payload?: Buffer): Promise<{ status: number; headers: IncomingHttpHeaders; text: string }> {
    const https = url.protocol === "https:";
    if (payload) headers["content-length"] = String(payload.length);
    return new Promise((resolve, reject) => {
      const req = (https ? httpsRequest : httpRequest)(url, { method, headers, agent: https ? this.tls : this.plain, timeout: 120_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      });
      req.on("timeout", () => req.destroy(Object.assign(new Error("no answer in 120 s"), { code: "TIMEOUT" })));
      req.on("error", reject);
      req.end(payload);
    });
  }

  /** A POST sent again (same body, same Idempotency-Key) while its answer is lost, up to 5 times. */
  async post(kind: Kind, path: string, o: { json?: unknown; form?: () => FormData; headers?: Record<string, string>; base?: string }): Promise<Answer & { attempts: number }> {
    for (let attempt = 1; ; attempt++) {
      const a = await this.send(kind, "POST", path, { ...o, form: o.form?.() });
      if (!lost(a) || attempt >= 5) return { ...a, attempts: attempt };
      this.rec.retried(`${kind} after ${a.cause}`);
      await sleep(500 * attempt);
    }
  }

  /** An event with a fresh Idempotency-Key; a 2xx is kept for the ledger check. */
  async event(caseId: string, type: string, payload: Record<string, unknown>, expectedVersion: number, o: { base?: string; key?: string; kind?: Kind } = {}): Promise<Answer> {
    const key = o.key ?? `soak-${this.username}-${randomUUID()}`;
    const a = await this.post(o.kind ?? "apply event", `/api/cases/${caseId}/events`, { json: { type, payload, expectedVersion }, headers: { "idempotency-key": key }, base: o.base });
    if (a.status >= 200 && a.status < 300) {
      const body = a.body as { entry: { seq: number }; replayed: boolean };
      this.rec.acks.push({ caseId, key, seq: body.entry.seq, type, username: this.username, replayed: body.replayed, attempts: a.attempts });
    }
    return a;
  }

  async upload(caseId: string): Promise<string | null> {
    const form = () => {
      const f = new FormData();
      f.append("file", new Blob([PNG], { type: "image/png" }), "现场照片.png");
      return f;
    };
    const a = await this.post("upload evidence", `/api/cases/${caseId}/attachments`, { form });
    return a.status === 201 ? (a.body as { id: string }).id : null;
  }
}

interface CaseView {
  case: { id: string; kind: string; state: string; version: number; deadline: string | null; leadUnitId: string | null; context: { extensionUsed?: boolean; extensions?: unknown[] } };
  allowedEvents: string[];
  attachments: { id: string }[];
}

const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const chance = (p: number) => random() < p;
const today = () => shanghaiDate(new Date());

/** What each side may send here, with how often it prefers it. */
const UNIT_EVENTS: Record<string, number> = { SIGN: 10, REPORT_PROGRESS: 6, SUBMIT: 1, SUBMIT_RESULT: 1, REQUEST_EXTENSION: 1 };
const OFFICE_EVENTS: Record<string, number> = { ASSIGN: 5, ACCEPT: 5, APPROVE_EXTENSION: 3, REJECT_EXTENSION: 1, PASS: 2, REJECT: 2, APPROVE: 2, REPLY: 3, CLOSE: 3, REOPEN: 1 };

function choose(allowed: string[], weights: Record<string, number>): string | null {
  const options = allowed.filter((e) => weights[e]);
  const total = options.reduce((s, e) => s + weights[e]!, 0);
  let r = random() * total;
  for (const e of options) {
    r -= weights[e]!;
    if (r < 0) return e;
  }
  return null;
}

/** A payload the machine takes for this event on this case (deadlines soon enough that their rungs fall due). */
function payloadFor(type: string, v: CaseView, evidence: string[]): Record<string, unknown> {
  const later = (days: number) => addCalendarDays(today(), days);
  switch (type) {
    case "REPORT_PROGRESS":
      return { percent: Math.floor(random() * 101), text: "已完成部分整改，正在组织复核", attachmentIds: evidence.slice(0, 1) };
    case "REQUEST_EXTENSION": {
      // Later than the deadline, and not in the past when the case is overdue already.
      const from = v.case.deadline && v.case.deadline > today() ? v.case.deadline : today();
      return { deadline: addCalendarDays(from, 5 + Math.floor(random() * 10)), reason: "施工周期受天气影响，申请延期" };
    }
    case "SUBMIT":
      return { summary: "已整改到位，申请销号", attachmentIds: evidence.slice(0, 2) };
    case "SUBMIT_RESULT":
      return { summary: "经现场核查，已责令整改", violationFound: chance(0.5), attachmentIds: evidence.slice(0, 1) };
    case "ASSIGN":
      return { leadUnitId: v.case.leadUnitId ?? "", coUnitIds: [], deadline: later(3 + Math.floor(random() * 20)) };
    case "REJECT_EXTENSION":
    case "REJECT":
      return { reason: "材料不全，请补充后重新提交" };
    case "PASS":
      return { publicityDays: 0, note: "同意销号", checkedBy: "整改办核查组", checkedOn: today(), opinion: "现场核查，整改到位", attachmentIds: evidence.slice(0, 1) };
    case "REPLY":
      return { text: "经调查核实，已依法处理，特此答复。", channel: "书面" };
    case "CLOSE":
      return { visitedOn: today(), visitMethod: "电话", satisfaction: "满意" };
    case "REOPEN":
      return { reason: "回头看发现问题反弹", deadline: later(10 + Math.floor(random() * 10)) };
    default:
      return {};
  }
}

export interface UserPlan {
  client: Client;
  role: "office" | "unit";
  /** The walked cases this user acts on (a unit: its own). */
  cases: WalkedCase[];
  /** Lead unit ids by walked case, for the office's ASSIGN. */
  leads: Map<string, string>;
}

/** Runs one user until `until`: an action, a pause of 100–400 ms, again. */
export async function runUser(u: UserPlan, until: number): Promise<void> {
  const { client } = u;
  while (Date.now() < until) {
    const r = random();
    if (u.role === "unit") {
      if (r < 0.25) await list(client);
      else if (r < 0.45) await open(client, pick(u.cases).id);
      else if (r < 0.8) await act(u, pick(u.cases).id, UNIT_EVENTS);
      else if (r < 0.9) await uploadAndReport(client, pick(u.cases).id);
      else await acknowledge(client);
    } else {
      if (r < 0.3) await list(client);
      else if (r < 0.5) await open(client, pick(u.cases).id);
      else await act(u, await officeCase(u), OFFICE_EVENTS);
    }
    await sleep(100 + random() * 300);
  }
}

const FILTERS = ["", "state=rectifying", "overdue=true", "behindSchedule=true", "kind=complaint", "q=锅炉", "category=水"];
const SORTS = ["-updatedAt", "deadline", "-createdAt"];

async function list(c: Client): Promise<void> {
  const q = [pick(FILTERS), `sort=${pick(SORTS)}`, `page=${1 + Math.floor(random() * 3)}`, "pageSize=20"].filter(Boolean).join("&");
  await c.send("list cases", "GET", `/api/cases?${encodeURI(q)}`);
}

async function open(c: Client, id: string): Promise<CaseView | null> {
  const a = await c.send("open case", "GET", `/api/cases/${id}`);
  return a.status === 200 ? (a.body as CaseView) : null;
}

/** Opens the case and, if the machine allows one of `weights`' events to this user, applies it. */
async function act(u: UserPlan, id: string, weights: Record<string, number>): Promise<void> {
  const v = await open(u.client, id);
  if (!v) return;
  const type = choose(v.allowedEvents, weights);
  if (!type) return;
  if (type === "ASSIGN") v.case.leadUnitId = u.leads.get(id) ?? null;
  let evidence = v.attachments.map((a) => a.id).reverse();
  if ((type === "SUBMIT" || type === "SUBMIT_RESULT") && !evidence.length) {
    const up = await u.client.upload(id);
    if (!up) return;
    evidence = [up];
  }
  await u.client.event(id, type, payloadFor(type, v, evidence), v.case.version);
}

async function uploadAndReport(c: Client, id: string): Promise<void> {
  const up = await c.upload(id);
  if (!up) return;
  const v = await open(c, id);
  if (v?.allowedEvents.includes("REPORT_PROGRESS")) await c.event(id, "REPORT_PROGRESS", payloadFor("REPORT_PROGRESS", v, [up]), v.case.version);
}

async function acknowledge(c: Client): Promise<void> {
  const a = await c.send("list notices", "GET", "/api/notices?state=unread");
  const items = a.status === 200 ? (a.body as { items: { id: string }[] }).items : [];
  for (const n of items.slice(0, 3)) await c.post("acknowledge notice", `/api/notices/${encodeURIComponent(n.id)}/ack`, {});
}

/** The office looks for work: a walked case in a state where the office acts, found through the ledger's state filter. */
async function officeCase(u: UserPlan): Promise<string> {
  const state = pick(["registered", "received", "accepted", "verifying", "reviewing", "replying", "replied", "rectifying.extensionPending", "investigating.extensionPending", "closed"]);
  const a = await u.client.send("list cases", "GET", `/api/cases?state=${encodeURIComponent(state)}&sort=-updatedAt&pageSize=50`);
  const ours = new Set(u.cases.map((c) => c.id));
  const found = a.status === 200 ? (a.body as { items: { id: string }[] }).items.filter((c) => ours.has(c.id)) : [];
  return found.length ? pick(found).id : pick(u.cases).id;
}
