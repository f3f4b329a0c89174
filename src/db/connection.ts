/** One mongoose connection for the process. */
import { setTimeout as sleep } from "node:timers/promises";
import mongoose from "mongoose";

mongoose.set("strictQuery", true);
// Query filters built from user input must never carry operators ($ne, $where...).
mongoose.set("sanitizeFilter", true);

export async function connectDb(uri: string): Promise<typeof mongoose> {
  // Indexes are built by ensureIndexes alone, not also by mongoose in the background as models compile.
  await mongoose.connect(uri, { serverSelectionTimeoutMS: 10_000, autoIndex: false });
  return mongoose;
}

export async function disconnectDb(): Promise<void> {
  await mongoose.disconnect();
}

/**
 * Builds every model's indexes; run at start so queries never go unindexed. Processes starting
 * together build the same indexes at once, which FerretDB over PostgreSQL can answer with a
 * deadlock error (MongoDB waits instead): such a build is tried again.
 */
export async function ensureIndexes(connection: mongoose.Connection = mongoose.connection): Promise<void> {
  for (const { modelName, schema } of Object.values(mongoose.models)) {
    const model = connection.models[modelName] ?? connection.model(modelName, schema);
    for (let attempt = 1; ; attempt++) {
      try {
        await model.createIndexes();
        break;
      } catch (e) {
        if (attempt >= 5 || !/deadlock/i.test(String((e as Error).message))) throw e;
        await sleep(200 * attempt + Math.random() * 200);
      }
    }
  }
}

/** Whether the database answers (readiness). */
export async function pingDb(): Promise<boolean> {
  return (mongoose.connection.db?.admin().ping() ?? Promise.reject(new Error("not connected"))).then(
    () => true,
    () => false,
  );
}

/**
 * Data changes that run once per database, at start, by whichever process gets there first: each
 * leaves a marker in `migrations`. Each change must be safe to run twice (two processes starting
 * together may both run it before either marker is written).
 */
export async function runMigrations(changes: [name: string, change: () => Promise<number>][]): Promise<void> {
  const done = mongoose.connection.db!.collection<{ _id: string; doneAt: Date; changed: number }>("migrations");
  for (const [name, change] of changes) {
    if (await done.findOne({ _id: name })) continue;
    const changed = await change();
    await done.updateOne({ _id: name }, { $setOnInsert: { doneAt: new Date(), changed } }, { upsert: true }).catch((e) => {
      if ((e as { code?: number }).code !== 11000) throw e;
    });
  }
}
