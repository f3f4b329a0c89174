/**
 * One harness for the tests that talk to the app: `useApp` registers its own mocha hooks (a fresh
 * world, the directory's users, the real app over the test database and Redis, and signed-in clients
 * with their CSRF token), and `walk` brings a case to a state through the case service.
 */
import type { Queue } from "bullmq";
import { addCalendarDays, shanghaiDate, type Actor, type CaseKind } from "../../workflows/index.ts";
import type { CaseDoc } from "../../src/db/models.ts";
import { checked, evidence, makeWorld, newComplaint, newInspection, visited, type World } from "./fixtures.ts";
import { makeUsers, signIn, testApp, type Client } from "./http.ts";

export type { Client } from "./http.ts";

export interface AppOptions<U extends string> {
  /** The world's clock at the start (default: makeWorld's 2026-03-02 09:00 in China); a function is asked before each world. */
  start?: string | (() => string);
  /** An enclosing describe's world (built in its own hook) instead of a fresh one. */
  world?: () => World;
  /** Users (of makeUsers) signed in once the app is up, in `as`. */
  users?: readonly U[];
  /** Settings over the test defaults (loadConfig's environment); a function when they are known only after `setup` (a fake's port). */
  env?: Record<string, string> | (() => Record<string, string>);
  /** Once for the whole describe (before/after) instead of for each test (beforeEach/afterEach). */
  once?: boolean;
  /** Runs after the world and its users exist, before the app is built (extra units, settings). */
  setup?: (w: World) => Promise<void>;
  /** Runs once the app is up, before the users sign in (e.g. to clear login limits in Redis). */
  ready?: (fx: AppFixture<U>) => Promise<void>;
  /** Runs before the app is closed (the test's own after hooks run only after the close). */
  teardown?: (fx: AppFixture<U>) => Promise<void>;
  /** What the 管理 queue page shows. */
  queues?: () => Queue[];
}

export interface AppFixture<U extends string> {
  readonly w: World;
  /** The express app (for supertest or listen). */
  readonly app: ReturnType<typeof testApp>["app"];
  readonly redis: ReturnType<typeof testApp>["redis"];
  /** The clients of `users`, signed in. */
  readonly as: Record<U, Client>;
  /** Signs another user in (or one again, for a second session). */
  signIn(username: string): Promise<Client>;
}

/** Call inside a describe(); read the fixture's fields inside hooks and tests, not at definition. */
export function useApp<U extends string = never>(o: AppOptions<U> = {}): AppFixture<U> {
  let w: World | undefined;
  let t: ReturnType<typeof testApp> | undefined;
  let as = {} as Record<U, Client>;
  const [up, down] = o.once ? [before, after] : [beforeEach, afterEach];
  up(async () => {
    w = o.world ? o.world() : await makeWorld(typeof o.start === "function" ? o.start() : o.start);
    await makeUsers(w);
    await o.setup?.(w);
    t = testApp(w, typeof o.env === "function" ? o.env() : o.env, o.queues?.());
    await o.ready?.(fx);
    const app = t.app;
    as = Object.fromEntries(await Promise.all((o.users ?? []).map(async (u) => [u, await signIn(app, u)]))) as Record<U, Client>;
  });
  down(async () => {
    try {
      if (t) await o.teardown?.(fx);
    } finally {
      await t?.close();
      t = undefined;
    }
  });
  const ready = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`useApp: ${what} is read outside a hook or test`);
    return v;
  };
  const fx: AppFixture<U> = {
    get w() {
      return ready(w, "w");
    },
    get app() {
      return ready(t, "app").app;
    },
    get redis() {
      return ready(t, "redis").redis;
    },
    get as() {
      return as;
    },
    signIn: (username) => signIn(ready(t, "app").app, username),
  };
  return fx;
}

/** For one test in a world of its own making: its users, the app and the clients of `users` for the length of `fn`. */
export async function withApp<U extends string, T>(w: World, users: readonly U[], fn: (as: Record<U, Client>, app: AppFixture<U>["app"]) => Promise<T>, env: Record<string, string> = {}): Promise<T> {
  await makeUsers(w);
  const t = testApp(w, env);
  try {
    const as = Object.fromEntries(await Promise.all(users.map(async (u) => [u, await signIn(t.app, u)]))) as Record<U, Client>;
    return await fn(as, t.app);
  } finally {
    await t.close();
  }
}

// ---------------------------------------------------------------- cases

export const INSPECTION_STATES = ["registered", "assigned", "rectifying.working", "rectifying.extensionPending", "verifying", "publicizing", "closed"] as const;
export const COMPLAINT_STATES = ["received", "accepted", "investigating.working", "investigating.extensionPending", "reviewing", "replying", "replied", "closed"] as const;

export interface WalkOptions {
  /** The inspection's 序号 (newInspection(n)); default 1. */
  n?: number;
  /** Fields over newInspection / newComplaint. */
  input?: Record<string, unknown>;
  /** Which of the world's units leads (its liaison acts for it); default "lead". */
  unit?: "lead" | "co" | "other";
  coUnitIds?: string[];
  /** The ASSIGN deadline; default 2026-06-30 for an inspection, today + 30 days for a complaint. */
  deadline?: string;
  /** An inspection passed into 公示 with this many days (publicizing), or straight to closed (0). */
  publicityDays?: number;
}

type Step = { type: string; by: "office" | "unit"; payload: (w: World, id: string) => Promise<Record<string, unknown>> | Record<string, unknown> };

function stepsOf(kind: CaseKind, to: string, o: WalkOptions): Step[] {
  const none = () => ({});
  const today = (w: World) => shanghaiDate(w.clock.now());
  const unitId = (w: World) => w.units[o.unit ?? "lead"];
  const extension = (w: World) => ({ deadline: addCalendarDays(o.deadline ?? today(w), 60), reason: "施工季节受限" });
  if (kind === "inspection") {
    const assign = (w: World) => ({ leadUnitId: unitId(w), coUnitIds: o.coUnitIds ?? [], deadline: o.deadline ?? "2026-06-30" });
    const publicityDays = o.publicityDays ?? (to === "publicizing" ? 5 : 0);
    return [
      { type: "ASSIGN", by: "office", payload: assign },
      { type: "SIGN", by: "unit", payload: none },
      ...(to === "rectifying.extensionPending" ? [{ type: "REQUEST_EXTENSION", by: "unit", payload: extension } as Step] : []),
      { type: "SUBMIT", by: "unit", payload: async (w, id) => ({ summary: "已完成整改", attachmentIds: [await evidence(id, w[o.unit ?? "lead"])] }) },
      { type: "PASS", by: "office", payload: async (w, id) => checked(w, id, { publicityDays }) },
    ];
  }
  return [
    { type: "ACCEPT", by: "office", payload: none },
    { type: "ASSIGN", by: "office", payload: (w) => ({ leadUnitId: unitId(w), coUnitIds: o.coUnitIds ?? [], deadline: o.deadline ?? addCalendarDays(today(w), 30) }) },
    ...(to === "investigating.extensionPending" ? [{ type: "REQUEST_EXTENSION", by: "unit", payload: extension } as Step] : []),
    { type: "SUBMIT_RESULT", by: "unit", payload: () => ({ summary: "经查属实", violationFound: true, measures: "责令整改", attachmentIds: [] }) },
    { type: "APPROVE", by: "office", payload: none },
    { type: "REPLY", by: "office", payload: () => ({ text: "答复内容", channel: "书面" }) },
    { type: "CLOSE", by: "office", payload: (w) => visited(w) },
  ];
}

/**
 * A new case of `kind`, brought to state `to` through the case service by the office and the lead
 * unit's liaison (each step as the machine allows it), at the world's clock.
 */
export async function walk(w: World, kind: CaseKind, to: string, o: WalkOptions = {}): Promise<CaseDoc> {
  const states: readonly string[] = kind === "inspection" ? INSPECTION_STATES : COMPLAINT_STATES;
  if (!states.includes(to)) throw new Error(`walk: no ${kind} state ${to}`);
  const input = { ...(kind === "inspection" ? newInspection(o.n ?? 1) : newComplaint()), ...o.input };
  let c = await w.service.createCase(input as never, w.office);
  const id = c._id.toString();
  for (const step of stepsOf(kind, to, o)) {
    if (c.state === to) break;
    const actor: Actor = step.by === "office" ? w.office : w[o.unit ?? "lead"];
    c = (await w.service.applyEvent(id, { type: step.type, payload: await step.payload(w, id) }, actor)).case;
  }
  if (c.state !== to) throw new Error(`walk: the ${kind} stopped at ${c.state}, not ${to}`);
  return c;
}
