/** The real app over the test database and Redis, and signed-in supertest agents per role. */
import type { Queue } from "bullmq";
import { Redis } from "ioredis";
import request from "supertest";
import type { Role } from "../../workflows/index.ts";
import { loadConfig } from "../../src/config.ts";
import { User } from "../../src/db/models.ts";
import { createUser } from "../../src/directory.ts";
import { createApp } from "../../src/http/app.ts";
import type { World } from "./fixtures.ts";

export const PASSWORD = "correct-horse-battery";

export interface Signed {
  agent: ReturnType<typeof request.agent>;
  csrf: string;
  userId: string;
}

type Test = ReturnType<ReturnType<typeof request.agent>["post"]>;

/** A signed-in session whose writes carry its CSRF token. */
export interface Client extends Signed {
  get(url: string): Test;
  /** JSON bodies, the token in X-CSRF-Token (a `csrf` of another session's, to test refusals). */
  post(url: string, body?: unknown, csrf?: string): Test;
  put(url: string, body?: unknown): Test;
  patch(url: string, body?: unknown): Test;
  delete(url: string): Test;
  /** An HTML form post (urlencoded), the token in the _csrf field as the pages send it. */
  form(url: string, fields: Record<string, string | string[]>): Test;
}

/** queues: what the 管理 queue page shows. */
export function testApp(w: World, env: Record<string, string> = {}, queues: Queue[] = []) {
  const redis = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: 1 });
  const config = loadConfig({ ...process.env, METRICS_TOKEN: undefined, SESSION_SECRET: "s".repeat(40), LOG_LEVEL: "silent", LOGIN_ATTEMPTS: "50", ...env });
  const app = createApp({ config, clock: w.clock, service: w.service, redis, queues });
  return { app, redis, close: () => redis.quit() };
}

/** Creates the world's users (one per role and unit) once per world. */
export async function makeUsers(w: World) {
  await User.deleteMany({});
  const users: [string, Role, string | null][] = [
    ["admin", "office_admin", null],
    ["staff", "office_staff", null],
    ["leader", "leader", null],
    ["lead", "unit_user", w.units.lead],
    ["co", "unit_user", w.units.co],
    ["other", "unit_user", w.units.other],
  ];
  for (const [username, role, unitId] of users) await createUser({ username, displayName: username, password: PASSWORD, role: role as never, unitId });
}

export async function signIn(app: Parameters<typeof request.agent>[0], username: string): Promise<Client> {
  const agent = request.agent(app);
  const res = await agent.post("/api/auth/login").send({ username, password: PASSWORD });
  if (res.status !== 200) throw new Error(`login ${username}: ${res.status} ${JSON.stringify(res.body)}`);
  const csrf: string = res.body.csrfToken;
  const json = (t: Test, body: unknown, token = csrf) => {
    const r = t.set("X-CSRF-Token", token);
    return body === undefined ? r : r.send(body as object);
  };
  return {
    agent,
    csrf,
    userId: res.body.user.id,
    get: (url) => agent.get(url),
    post: (url, body, token) => json(agent.post(url), body, token),
    put: (url, body) => json(agent.put(url), body),
    patch: (url, body) => json(agent.patch(url), body),
    delete: (url) => json(agent.delete(url), undefined),
    form: (url, fields) => agent.post(url).type("form").send({ _csrf: csrf, ...fields }),
  };
}
