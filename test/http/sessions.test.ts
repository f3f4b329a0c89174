import { expect } from "chai";
import mongoose from "mongoose";
import type { SessionData } from "express-session";
import { deleteExpiredSessions, sessionStore } from "../../src/http/auth.ts";
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

  it("deleteExpiredSessions removes expired sessions and keeps live ones", async () => {
    const sessions = mongoose.connection.db!.collection<{ _id: string; expires: Date }>("sessions");
    const now = new Date();
    await sessions.insertMany([
      { _id: "expired", expires: new Date(now.getTime() - 1000) },
      { _id: "live", expires: new Date(now.getTime() + 3600_000) },
    ]);
    expect(await deleteExpiredSessions(now)).to.be.at.least(1);
    const left = await sessions.find({ _id: { $in: ["expired", "live"] } }).toArray();
    expect(left.map((s) => s._id)).to.deep.equal(["live"]);
  });
});
