import { expect } from "chai";
import mongoose from "mongoose";
import { ensureIndexes, runMigrations } from "../../src/db/connection.ts";
import { testDbUri } from "../support/hooks.ts";

describe("Indexes", () => {
  it("processes that start together all build the indexes, none failing on another's build", async function () {
    this.timeout(120_000);
    const uri = new URL(testDbUri());
    uri.pathname = `${uri.pathname}_indexes`;
    // Four processes' connections, each building every index at once, three times over on a fresh database.
    const conns = await Promise.all([1, 2, 3, 4].map(() => mongoose.createConnection(uri.toString(), { autoIndex: false }).asPromise()));
    try {
      for (let round = 0; round < 3; round++) {
        await conns[0]!.dropDatabase();
        const results = await Promise.allSettled(conns.map((c) => ensureIndexes(c)));
        expect(results.filter((r) => r.status === "rejected").map((r) => String((r as PromiseRejectedResult).reason))).to.deep.equal([]);
      }
      const indexes = await conns[0]!.db!.collection("cases").indexes();
      expect(indexes.map((i) => i.name)).to.include.members(["ledgerNumber_1", "updatedAt_1__id_1"]);
    } finally {
      await conns[0]!.dropDatabase().catch(() => undefined);
      await Promise.all(conns.map((c) => c.close()));
    }
  });
});

describe("Migrations", () => {
  it("run once per database: a second start finds the marker and runs nothing", async () => {
    const db = mongoose.connection.db!;
    await db.collection("migrations").deleteMany({ _id: "test.once" as never });
    let runs = 0;
    const change = async () => ++runs;
    await runMigrations([["test.once", change]]);
    await runMigrations([["test.once", change]]);
    expect(runs).to.equal(1);
    expect(await db.collection("migrations").findOne({ _id: "test.once" as never })).to.include({ changed: 1 });
  });
});
