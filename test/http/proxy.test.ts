/**
 * Behind a TLS terminator and nginx, set up as docker-compose.yml and deploy/nginx.conf.template do
 * (docs/operations.md): with COOKIE_SECURE=1 the session cookie is Secure and signing in works, through
 * the API and the sign-in page; the app sees each client's own address (TRUST_PROXY counts the proxies),
 * so the login limiter counts per client and account, never one proxy address for everybody.
 */
import { randomInt } from "node:crypto";
import { readFile } from "node:fs/promises";
import { expect } from "chai";
import request from "supertest";
import { parse } from "yaml";
import { loadConfig } from "../../src/config.ts";
import { makeWorld, type World } from "../support/fixtures.ts";
import { PASSWORD, makeUsers, testApp } from "../support/http.ts";

/** The TLS terminator's address, as nginx sees it. */
const TERMINATOR = "10.0.0.2";

/**
 * The X-Forwarded-Proto nginx sends on, per the template: `$scheme` is nginx's own (plain http behind
 * the terminator); `$http_x_forwarded_proto` the terminator's; a `map` of that header picks by its value.
 */
function nginxProto(template: string, fromTerminator: string): string {
  const value = (v: string): string => {
    if (v === "$scheme") return "http";
    if (v === "$http_x_forwarded_proto") return fromTerminator;
    const map = new RegExp(`map \\$http_x_forwarded_proto \\${v} \\{([^}]*)\\}`).exec(template);
    if (!map) throw new Error(`nginx.conf.template: cannot tell what ${v} holds`);
    const entries = new Map([...map[1]!.matchAll(/^\s*("[^"]*"|\S+)\s+(\S+);/gm)].map((m) => [m[1]!.replace(/^"(.*)"$/, "$1"), m[2]!]));
    return value(entries.get(fromTerminator) ?? entries.get("default")!);
  };
  const set = /proxy_set_header X-Forwarded-Proto (\S+);/.exec(template);
  return set ? value(set[1]!) : "";
}

describe("behind a TLS terminator and nginx", function () {
  this.timeout(90_000);
  let w: World;
  let trustProxy: string;
  let template: string;
  /** Headers as the app receives a request of `client` that came in over https. */
  let via: (client: string) => Record<string, string>;
  /** A test-net address of its own per test run, so no earlier run's counted attempts apply. */
  const someone = () => `10.${randomInt(1, 255)}.${randomInt(0, 255)}.${randomInt(1, 255)}`;

  before(async () => {
    w = await makeWorld(new Date().toISOString());
    await makeUsers(w);
    const compose = parse(await readFile("docker-compose.yml", "utf8"), { merge: true }) as { services: Record<string, { environment?: Record<string, string> }> };
    trustProxy = compose.services.web1!.environment!.TRUST_PROXY!;
    template = await readFile("deploy/nginx.conf.template", "utf8");
    // The terminator sets both headers; nginx adds the terminator's address ($proxy_add_x_forwarded_for).
    via = (client) => ({ "x-forwarded-for": `${client}, ${TERMINATOR}`, "x-forwarded-proto": nginxProto(template, "https") });
  });

  it("with COOKIE_SECURE=1, signing in through the API sets a Secure cookie, and it signs the next request in", async () => {
    const t = testApp(w, { COOKIE_SECURE: "1", TRUST_PROXY: trustProxy });
    try {
      const client = someone();
      const login = await request(t.app).post("/api/auth/login").set(via(client)).send({ username: "staff", password: PASSWORD });
      expect(login.status, JSON.stringify(login.body)).to.equal(200);
      const cookie = (login.headers["set-cookie"] as unknown as string[] | undefined)?.find((c) => c.startsWith("rf.sid="));
      expect(cookie, "no session cookie").to.be.a("string");
      expect(cookie!.split(/;\s*/)).to.include("Secure").and.include("HttpOnly");
      const me = await request(t.app).get("/api/me").set(via(client)).set("cookie", cookie!.split(";")[0]!);
      expect(me.status).to.equal(200);
      expect(me.body.user.username).to.equal("staff");
    } finally {
      await t.close();
    }
  });

  it("with COOKIE_SECURE=1, the sign-in page works: form, sign-in, then the desk", async () => {
    const t = testApp(w, { COOKIE_SECURE: "1", TRUST_PROXY: trustProxy });
    try {
      const agent = request(t.app);
      const headers = via(someone());
      const form = await agent.get("/login").set(headers).expect(200);
      const cookie = (form.headers["set-cookie"] as unknown as string[])[0]!;
      expect(cookie).to.match(/; Secure/);
      const csrf = /name="_csrf" value="([^"]+)"/.exec(form.text)![1]!;
      const signIn = await agent.post("/login").set(headers).set("cookie", cookie.split(";")[0]!).type("form").send({ _csrf: csrf, username: "lead", password: PASSWORD, next: "/" });
      expect(signIn.status, signIn.text.slice(0, 500)).to.equal(303);
      const session = (signIn.headers["set-cookie"] as unknown as string[])[0]!;
      expect(session).to.match(/; Secure/);
      const desk = await agent.get("/").set(headers).set("cookie", session.split(";")[0]!);
      expect(desk.status, `redirected to ${desk.headers.location}`).to.equal(200);
    } finally {
      await t.close();
    }
  });

  it("with COOKIE_SECURE=1, a sign-in that arrives over plain http is refused with a clear message, not answered without a cookie", async () => {
    const t = testApp(w, { COOKIE_SECURE: "1", TRUST_PROXY: trustProxy });
    try {
      const plain = { "x-forwarded-for": `${someone()}, ${TERMINATOR}`, "x-forwarded-proto": "http" };
      const api = await request(t.app).post("/api/auth/login").set(plain).send({ username: "staff", password: PASSWORD });
      expect(api.status).to.equal(403);
      expect(api.body.error.code).to.equal("https_required");
      expect(api.body.error.message).to.match(/HTTPS/).and.match(/[\u4e00-\u9fff]/);
      expect(api.headers["set-cookie"]).to.equal(undefined);
      const page = await request(t.app).get("/login").set(plain);
      expect(page.status).to.equal(403);
      expect(page.text).to.contain("HTTPS");
    } finally {
      await t.close();
    }
  });

  it("the login limiter counts per client address and account: one client's wrong passwords lock neither other clients nor the account elsewhere", async () => {
    const t = testApp(w, { LOGIN_ATTEMPTS: "3", TRUST_PROXY: trustProxy });
    try {
      const attacker = someone();
      const login = (client: string, username: string, password: string) => request(t.app).post("/api/auth/login").set(via(client)).send({ username, password });
      const tries: number[] = [];
      for (let i = 0; i < 4; i++) tries.push((await login(attacker, "lead", `wrong-${i}`)).status);
      expect(tries).to.deep.equal([401, 401, 401, 429]);
      // The account from that client stays locked, even with the right password.
      expect((await login(attacker, "lead", PASSWORD)).status).to.equal(429);
      // The same account from the liaison's own address signs in.
      expect((await login(someone(), "lead", PASSWORD)).status).to.equal(200);
      // Spraying other names from that client (3 × 6 failures per address) locks that client out of every account…
      for (let i = 0; i < 18; i++) await login(attacker, `nobody-${i}`, "wrong");
      expect((await login(attacker, "staff", PASSWORD)).status).to.equal(429);
      // …and nobody else.
      expect((await login(someone(), "staff", PASSWORD)).status).to.equal(200);
      expect((await login(someone(), "co", PASSWORD)).status).to.equal(200);
    } finally {
      await t.close();
    }
  });

  it("TRUST_PROXY is a count of proxies: true is refused with a message saying so", () => {
    const env = { MONGODB_URI: "mongodb://127.0.0.1:27017/x" };
    expect(loadConfig({ ...env, TRUST_PROXY: "2" }).TRUST_PROXY).to.equal(2);
    for (const bad of ["true", "yes", "-1", "1.5"]) expect(() => loadConfig({ ...env, TRUST_PROXY: bad }), bad).to.throw(/TRUST_PROXY: .*number of proxies/);
  });
});
