/**
 * Root hooks: every test file talks to the real MongoDB-compatible server and Redis that
 * scripts/with-services.sh started (or MONGODB_URI / REDIS_URL). Tests use their own database.
 */
import mongoose from "mongoose";
import { connectDb, disconnectDb, ensureIndexes } from "../../src/db/connection.ts";
import "../../src/db/models.ts";

export function testDbUri(): string {
  const uri = process.env.MONGODB_URI;
  if (!uri) throw new Error("MONGODB_URI is not set: run the tests with `npm test` (it starts the services)");
  const u = new URL(uri);
  u.pathname = `/${process.env.RECTIFLOW_TEST_DB ?? "rectiflow_test"}`;
  return u.toString();
}

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(60_000);
    await connectDb(testDbUri());
    await mongoose.connection.dropDatabase();
    await ensureIndexes();
  },
  async afterAll() {
    await disconnectDb();
  },
};
