import { expect } from "chai";
import MongoStore from "connect-mongo";
import type { SessionData } from "express-session";
import { request as httpRequest, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import mongoose from "mongoose";
import { sessionStore } from "../../src/http/auth.ts";
import { makeWorld } from "../support/fixtures.ts";
import { PASSWORD, makeUsers, testApp } from "../support/http.ts";
import { testDbUri } from "../support/hooks.ts";

type Store = ReturnType<typeof sessionStore>;
const call = <T>(fn: (cb: (err: unknown, value?: T) => void) => void) =>
  new Promise<T | undefined>((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));
const sessionOf = (userId: string) => ({ cookie: { originalMaxAge: 3600_000, expires: new Date(Date.now() + 3600_000) }, userId }) as unknown as SessionData;

describe("Sessions", () => {
  it("the store sends no unacknowledged write, also from the timers it sets (after one, FerretDB's replies shift and a lookup can return another user's session)", async () => {
    // One connection: commands go out in the order they are issued, so the timers' writes are seen
    // before the store's next answer.
    const client = await mongoose.mongo.MongoClient.connect(testDbUri(), { monitorCommands: true, maxPoolSize: 1 });
    const commands: mongoose.mongo.CommandStartedEvent[] = [];
    client.on("commandStarted", (e) => commands.push(e));
    // The store's own long timers (connect-mongo's cleanup runs every 10 minutes) are caught while it
    // starts, and run at once.
    const realSetInterval = globalThis.setInterval;
    const longTimers: Array<{ fn: () => void; handle: NodeJS.Timeout }> = [];
    globalThis.setInterval = ((fn: () => void, ms?: number) => {
      const handle = (realSetInterval as (f: () => void, ms?: number) => NodeJS.Timeout)(fn, ms);
      if ((ms ?? 0) >= 60_000) longTimers.push({ fn, handle });
      return handle;
    }) as typeof setInterval;
    try {
      const store: Store = sessionStore(client);
      await call((cb) => store.set("s-alice", sessionOf("alice"), cb));
      globalThis.setInterval = realSetInterval;
      for (const t of longTimers) t.fn();
      await call((cb) => store.touch("s-alice", sessionOf("alice"), cb));
      const got = await call<SessionData | null>((cb) => store.get("s-alice", cb));
      expect(got?.userId).to.equal("alice");
      await call((cb) => store.destroy("s-alice", cb));
      expect(commands.map((c) => c.commandName)).to.include.members(["update", "find", "delete"]);
      const unacknowledged = commands.filter((c) => (c.command.writeConcern as { w?: unknown } | undefined)?.w === 0);
      expect(unacknowledged.map((c) => c.commandName)).to.deep.equal([]);
    } finally {
      globalThis.setInterval = realSetInterval;
      for (const t of longTimers) clearInterval(t.handle);
      await client.close();
    }
  });

  it("expired sessions are deleted by the server (a TTL index on expires) and never served before that", async () => {
    const indexes = await mongoose.connection.db!.collection("sessions").indexes();
    expect(indexes.find((i) => i.key.expires === 1)).to.include({ expireAfterSeconds: 0 });
    const store = sessionStore();
    await call((cb) => store.set("s-expired", { ...sessionOf("bob"), cookie: { originalMaxAge: 1000, expires: new Date(Date.now() - 1000) } } as never, cb));
    await call((cb) => store.set("s-live", sessionOf("carol"), cb));
    expect(await call<SessionData | null>((cb) => store.get("s-expired", cb))).to.equal(null);
    expect((await call<SessionData | null>((cb) => store.get("s-live", cb)))?.userId).to.equal("carol");
  });

  it("a browser that follows the login redirect as soon as it has the headers finds its session there", async () => {
    const w = await makeWorld(new Date().toISOString());
    await makeUsers(w);
    const t = testApp(w);
    const server = t.app.listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    const port = (server.address() as AddressInfo).port;
    // A store that takes its time to write (a busy database), as the real store does under load.
    const realSet = MongoStore.prototype.set;
    MongoStore.prototype.set = function (this: MongoStore, ...args: Parameters<MongoStore["set"]>) {
      setTimeout(() => realSet.apply(this, args), 300);
    };
    const send = (method: string, path: string, headers: Record<string, string>, body?: string) =>
      new Promise<IncomingMessage>((resolve, reject) => {
        // Resolves on the response's headers, as a browser acts on a redirect.
        const req = httpRequest({ host: "127.0.0.1", port, method, path, headers, agent: false }, resolve);
        req.on("error", reject);
        req.end(body);
      });
    const text = async (res: IncomingMessage) => {
      let s = "";
      for await (const chunk of res) s += chunk;
      return s;
    };
    try {
      const form = await send("GET", "/login", {});
      const cookie = form.headers["set-cookie"]![0]!.split(";")[0]!;
      const csrf = /name="_csrf" value="([^"]+)"/.exec(await text(form))![1]!;
      const login = await send("POST", "/login", { cookie, "content-type": "application/x-www-form-urlencoded" }, new URLSearchParams({ _csrf: csrf, username: "staff", password: PASSWORD, next: "/" }).toString());
      expect(login.statusCode).to.equal(303);
      const home = await send("GET", "/", { cookie: login.headers["set-cookie"]![0]!.split(";")[0]! });
      expect(home.statusCode, `redirected to ${home.headers.location}`).to.equal(200);
      login.resume();
      home.resume();
    } finally {
      MongoStore.prototype.set = realSet;
      await new Promise((r) => server.close(r));
      await t.close();
    }
  });
});
